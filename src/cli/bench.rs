//! `vigil bench`: throughput on one generated file, phase by phase, every phase reading the file
//! from disk through the reader `vigil backtest` uses, with the configured limits; `vigil
//! backtest` itself as a process; and ripgrep as a process searching the same file for every
//! term the tagger looks for. Each ratio divides two figures of the same run. Quote large
//! counts (README uses 200,000): ripgrep's time includes its start-up and the lazy build of its
//! automaton, which a small file does not amortise; the in-process phases build theirs first.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use vigil::config::Loaded;
use vigil::input::generator::{GenOptions, generate};
use vigil::input::import::Record;
use vigil::report::decode;
use vigil::tag::Scratch;
use vigil::tag::taxonomy::Taxonomy;

use super::open_records;

/// Runs `f`, keeping in `best` the shortest time (seconds) any run took.
fn best_time<T>(best: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *best = best.min(t.elapsed().as_secs_f64());
    out
}

/// The texts the tagger matches, by the automaton that looks for them, distinct within each
/// list and across lists in the order given (a text in two lists counts in the first).
///
/// Built from the taxonomy as written, trimmed, lower-cased and without a prefix phrase's `*`:
/// for ASCII terms (every term of the shipped taxonomy) that is the tagger's own normalisation,
/// so these are the tagger's lists.
struct ScanTerms {
    /// Lexicon phrases, proximity parts (`a ... b` gives `a` and `b`), frame anchor terms and
    /// phrases of another sense: one automaton over every byte of every text.
    one_pass: Vec<String>,
    /// Of those, the lexicon phrases alone (`Tagger::phrases`, the baseline before this bench
    /// compared like with like).
    phrases: usize,
    /// Frame terms of the other groups: scanned only in passages around an anchor.
    frame_companions: Vec<String>,
    /// Negation, hedge, figurative, neutral and clause-break cues: scanned only in sentences
    /// that hold a candidate match.
    cues: Vec<String>,
}

impl ScanTerms {
    fn new<'a>(taxonomy: &'a Taxonomy, phrases: impl Iterator<Item = &'a str>) -> ScanTerms {
        let mut seen = BTreeSet::new();
        let mut distinct = |terms: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            let terms = terms.map(|t| t.trim().trim_end_matches('*').to_lowercase());
            terms.filter(|t| seen.insert(t.clone())).collect()
        };
        let mut phrases = phrases;
        let mut one_pass = distinct(&mut phrases);
        let phrase_count = one_pass.len();
        let lexicon = taxonomy.lexicons.iter().flat_map(|l| &l.phrases);
        let parts = lexicon.filter_map(|p| p.split_once(" ... "));
        one_pass.extend(distinct(&mut parts.flat_map(|(a, b)| [a, b])));
        // Terms of the groups frames use: a frame's first group is its anchor.
        let group_terms = |anchor: bool| {
            taxonomy.frames.iter().flat_map(move |f| {
                let groups = f.groups.iter().enumerate();
                let groups = groups.filter(move |(k, _)| (*k == 0) == anchor);
                groups.flat_map(|(_, g)| {
                    let terms = taxonomy.frame_terms.get(&f.language);
                    terms.and_then(|t| t.get(g)).into_iter().flatten()
                })
            })
        };
        one_pass.extend(distinct(&mut group_terms(true).map(String::as_str)));
        let cue_lists = taxonomy.cues.values();
        let other_senses = cue_lists.clone().flat_map(|c| &c.other_senses);
        one_pass.extend(distinct(&mut other_senses.map(String::as_str)));
        let frame_companions = distinct(&mut group_terms(false).map(String::as_str));
        let cues = cue_lists.flat_map(|c| {
            [
                &c.negation_before,
                &c.negation_after,
                &c.hedge,
                &c.figurative,
                &c.neutral,
                &c.clause_breaks,
            ]
            .into_iter()
            .flatten()
        });
        let cues = distinct(&mut cues.map(String::as_str));
        ScanTerms {
            one_pass,
            phrases: phrase_count,
            frame_companions,
            cues,
        }
    }

    fn all(&self) -> impl Iterator<Item = &String> {
        self.one_pass
            .iter()
            .chain(&self.frame_companions)
            .chain(&self.cues)
    }
}

/// Writes `terms` to `path`, one a line (`rg -f`); how many it wrote.
fn write_terms<'a>(path: &Path, terms: impl Iterator<Item = &'a String>) -> Result<usize> {
    let mut w = BufWriter::new(File::create(path)?);
    let mut n = 0;
    for t in terms {
        writeln!(w, "{t}")?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// The `--config-dir` this process was given, to hand to the `backtest` child: clap takes it
/// before or after the command, as `--config-dir DIR` or `--config-dir=DIR`. The environment
/// (`VIGIL_CONFIG_DIR` and every `VIGIL__` override) reaches the child by inheritance.
fn config_dir_args() -> Vec<OsString> {
    let args: Vec<OsString> = std::env::args_os().collect();
    for (i, arg) in args.iter().enumerate() {
        if arg == "--config-dir" {
            return args[i..].iter().take(2).cloned().collect();
        }
        if arg.to_string_lossy().starts_with("--config-dir=") {
            return vec![arg.clone()];
        }
    }
    Vec::new()
}

/// What a finished process wrote.
struct ProcessOutput {
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to its end; an error if it cannot start or exits with a code not in `ok_codes`
/// (ripgrep's 1 means "no match"; `vigil` exits with 1 on an error).
fn run_process(cmd: &mut Command, ok_codes: &[i32]) -> Result<ProcessOutput> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.code().is_some_and(|c| ok_codes.contains(&c)) {
        bail!("{:?} failed ({}): {stderr}", cmd.get_program(), out.status);
    }
    Ok(ProcessOutput {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    })
}

/// Writes the benchmark stream to `path`, one report a line; its size in bytes.
fn write_file(path: &Path, count: usize, seed: u64) -> Result<u64> {
    let mut w = BufWriter::new(
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for line in generate(&GenOptions::benchmark(seed, count)) {
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Best times (seconds) of each phase, and what the last round of each counted.
struct Phases {
    read: f64,
    decode: f64,
    tag: f64,
    core: f64,
    backtest: Option<f64>,
    ripgrep: Option<f64>,
    ripgrep_one_pass: Option<f64>,
    valid: usize,
    tagged: usize,
    alerts: usize,
    panes: usize,
    backtest_summary: String,
    rg_matches: String,
}

pub(crate) fn run(loaded: &Loaded, count: usize, seed: u64, file: Option<PathBuf>) -> Result<()> {
    let path = file
        .unwrap_or_else(|| std::env::temp_dir().join(format!("vigil-bench-{seed}-{count}.jsonl")));
    let bytes = write_file(&path, count, seed)?;
    let mb = bytes as f64 / 1e6;
    println!(
        "{count} reports, {mb:.1} MB, mean {} bytes, file {}",
        bytes / count.max(1) as u64,
        path.display()
    );
    let engine = loaded.engine()?;
    let terms = ScanTerms::new(&loaded.taxonomy, engine.tagger().phrases());
    // Per process, so that two benches at once do not write each other's lists.
    let pid = std::process::id();
    let all_terms = std::env::temp_dir().join(format!("vigil-bench-terms-{pid}.txt"));
    let one_pass_terms = std::env::temp_dir().join(format!("vigil-bench-one-pass-terms-{pid}.txt"));
    let given = write_terms(&all_terms, terms.all())?;
    let given_one_pass = write_terms(&one_pass_terms, terms.one_pass.iter())?;
    println!(
        "terms: Vigil scans every text for {} ({} lexicon phrases; proximity parts, frame \
         anchors,\n       other senses), {} frame terms around anchors and {} cues in sentences \
         with a candidate;\n       ripgrep is given all {} (one a line, `rg -F -f`)",
        terms.one_pass.len(),
        terms.phrases,
        terms.frame_companions.len(),
        terms.cues.len(),
        given
    );
    let measured = measure(loaded, &path, &all_terms, &one_pass_terms, count);
    for list in [&all_terms, &one_pass_terms] {
        let _ = std::fs::remove_file(list);
    }
    report(&measured?, count, mb, [given, given_one_pass]);
    Ok(())
}

/// Three rounds of every phase, each phase keeping its best time: on a shared machine whose
/// speed drifts, phases measured side by side give a ratio that holds, and the best of three is
/// the most repeatable figure. Every phase reads the file afresh from the page cache, as
/// ripgrep does; engines are built outside the timing.
fn measure(
    loaded: &Loaded,
    path: &Path,
    all_terms: &Path,
    one_pass_terms: &Path,
    count: usize,
) -> Result<Phases> {
    let mut p = Phases {
        read: f64::MAX,
        decode: f64::MAX,
        tag: f64::MAX,
        core: f64::MAX,
        backtest: Some(f64::MAX),
        ripgrep: Some(f64::MAX),
        ripgrep_one_pass: Some(f64::MAX),
        valid: 0,
        tagged: 0,
        alerts: 0,
        panes: 0,
        backtest_summary: String::new(),
        rg_matches: String::new(),
    };
    for _ in 0..3 {
        time_in_process(loaded, path, count, &mut p)?;
        time_processes(path, all_terms, one_pass_terms, &mut p);
    }
    Ok(p)
}

/// One round of the phases run inside this process, each through `vigil backtest`'s reader.
fn time_in_process(loaded: &Loaded, path: &Path, count: usize, p: &mut Phases) -> Result<()> {
    let limits = &loaded.settings.limits;
    let file = path.to_string_lossy();
    // A record the reader refuses (none in the generated stream) counts as invalid.
    let bytes = |r: Record| r.1.ok();
    let n = best_time(&mut p.read, || -> Result<usize> {
        Ok(open_records(loaded, &file)?.1.filter_map(bytes).count())
    })?;
    if n != count {
        bail!("read {n} records of {count} from {file}");
    }
    p.valid = best_time(&mut p.decode, || -> Result<usize> {
        let records = open_records(loaded, &file)?.1.filter_map(bytes);
        Ok(records.filter(|b| decode(b, limits, None).is_ok()).count())
    })?;
    let mut engine = loaded.engine()?;
    p.tagged = best_time(&mut p.tag, || -> Result<usize> {
        let mut scratch = Scratch::default();
        let records = open_records(loaded, &file)?.1.filter_map(bytes);
        let tagger = engine.tagger();
        Ok(records
            .filter(|b| {
                decode(b, limits, None).is_ok_and(|r| tagger.tag(&r, &mut scratch).threats() != 0)
            })
            .count())
    })?;
    // As backtest: reports dated after this machine's clock are refused.
    let now = chrono::Utc::now().timestamp();
    p.alerts = best_time(&mut p.core, || -> Result<usize> {
        let records = open_records(loaded, &file)?.1.filter_map(bytes);
        Ok(records
            .map(|b| engine.process_alerts(&b, Some(now)).len())
            .sum())
    })?;
    p.panes = engine.gauges().panes;
    Ok(())
}

/// One round of the processes: `vigil backtest` and ripgrep over the same file. A process that
/// cannot start or fails is reported once and not run again.
fn time_processes(path: &Path, all_terms: &Path, one_pass_terms: &Path, p: &mut Phases) {
    // `vigil backtest` as a process: start, configuration, tagger build, the reader, the core
    // and every alert serialised as JSON, to /dev/null.
    if let Some(best) = &mut p.backtest {
        let backtest = std::env::current_exe().map_err(anyhow::Error::from);
        let run = backtest.and_then(|exe| {
            let mut cmd = Command::new(exe);
            cmd.args(config_dir_args())
                .arg("backtest")
                .arg(path)
                .args(["--output", "/dev/null"]);
            best_time(best, || run_process(&mut cmd, &[0]))
        });
        match run {
            Ok(out) => p.backtest_summary = out.stderr,
            Err(e) => {
                eprintln!("backtest: {e:#}");
                p.backtest = None;
            }
        }
    }
    // ripgrep as a process over the same file. `--count-matches` counts every match on a line,
    // where `-c` stops at a line's first and so skips the rest of a line that holds a common
    // term; it prints one number, so no output is timed (`-o … | wc -l` would time a pipe).
    // `-i` because the tagger ignores case; `-F` because the terms are text, not patterns.
    for (best, terms) in [
        (&mut p.ripgrep, all_terms),
        (&mut p.ripgrep_one_pass, one_pass_terms),
    ] {
        let Some(b) = best else { continue };
        let mut cmd = Command::new("rg");
        cmd.args(["--count-matches", "--no-filename", "-F", "-i", "-f"])
            .arg(terms)
            .arg(path);
        match best_time(b, || run_process(&mut cmd, &[0, 1])) {
            Ok(out) if terms == all_terms => p.rg_matches = out.stdout.trim().to_string(),
            Ok(_) => {}
            Err(e) => {
                eprintln!("ripgrep: {e:#} (apt-get install ripgrep)");
                *best = None;
            }
        }
    }
}

/// Prints the table: each phase's rate, then the ratios that matter.
/// `given`: the terms given to ripgrep, all and those of the one pass.
fn report(p: &Phases, count: usize, mb: f64, given: [usize; 2]) {
    let row = |what: &str, secs: f64, note: &str| {
        println!(
            "{what:<34} {:>10.0} reports/s {:>7.1} MB/s  {note}",
            count as f64 / secs,
            mb / secs
        );
    };
    println!("best of 3 rounds; every phase reads the file from disk (page cache)");
    row("read (backtest's reader)", p.read, "");
    row(
        "read+decode+validate",
        p.decode,
        &format!("{} valid", p.valid),
    );
    row(
        "read+decode+tag",
        p.tag,
        &format!("{} with threats", p.tagged),
    );
    row(
        "read+decode+tag+window+rules",
        p.core,
        &format!("{} alert records, {} panes", p.alerts, p.panes),
    );
    if let Some(secs) = p.backtest {
        let mut lines = p.backtest_summary.lines();
        let summary = lines.find(|l| l.contains(" records in "));
        let alerts = summary.and_then(|l| l.split(", ").find(|s| s.contains(" alert records")));
        let alerts = alerts.and_then(|s| s.split(';').next());
        row(
            "vigil backtest (process)",
            secs,
            &format!("{}; start-up included", alerts.unwrap_or("no summary")),
        );
    }
    let rg = |secs: Option<f64>, what: &str, note: String| match secs {
        Some(secs) => row(what, secs, &note),
        None => println!("{what:<34} not measured (see above)"),
    };
    rg(
        p.ripgrep,
        "rg --count-matches -F -i (all)",
        format!("{} terms, {} matches", given[0], p.rg_matches),
    );
    rg(
        p.ripgrep_one_pass,
        "rg --count-matches -F -i (one pass)",
        format!("{} terms", given[1]),
    );
    println!(
        "core / read+decode               {:>10.2}",
        p.decode / p.core
    );
    if let Some(rg) = p.ripgrep {
        println!("core / ripgrep (all terms)       {:>10.2}", rg / p.core);
        if let Some(bt) = p.backtest {
            println!("backtest / ripgrep (all terms)   {:>10.2}", rg / bt);
        }
    }
    if let Some(rg) = p.ripgrep_one_pass {
        println!("core / ripgrep (one-pass terms)  {:>10.2}", rg / p.core);
    }
    println!(
        "(ripgrep cannot fold accents as the tagger does: \"enlevées\" is \"enlevees\" to Vigil,\n \
         so on French text it finds fewer matches with the same search)"
    );
}
