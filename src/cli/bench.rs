//! `vigil bench`: the core's throughput on generated reports, phase by phase, against ripgrep
//! over the same file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use vigil::config::Loaded;
use vigil::input::generator::{GenOptions, generate};
use vigil::report::{Limits, decode};
use vigil::tag::Scratch;

/// Runs `f`, keeping in `best` the shortest time (seconds) any run took.
fn best_time<T>(best: &mut f64, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *best = best.min(t.elapsed().as_secs_f64());
    out
}

pub(crate) fn run(loaded: &Loaded, count: usize, seed: u64, file: Option<PathBuf>) -> Result<()> {
    let opts = GenOptions::benchmark(seed, count);
    let lines: Vec<String> = generate(&opts).collect();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let path = file
        .unwrap_or_else(|| std::env::temp_dir().join(format!("vigil-bench-{seed}-{count}.jsonl")));
    {
        let mut w = BufWriter::new(File::create(&path)?);
        for l in &lines {
            writeln!(w, "{l}")?;
        }
        w.flush()?;
    }
    let mb = bytes as f64 / 1e6;
    eprintln!(
        "{count} reports, {mb:.1} MB, mean {} bytes, file {}",
        bytes / count.max(1),
        path.display()
    );

    // Each round runs every phase once, ripgrep included, and each phase keeps its best time:
    // on a shared machine whose speed drifts, phases measured side by side give a ratio that
    // holds, and the best of three is the most repeatable figure.
    let limits = Limits::default();
    let phrases = std::env::temp_dir().join(format!("vigil-bench-phrases-{seed}.txt"));
    let mut engine = loaded.engine()?;
    std::fs::write(
        &phrases,
        engine.tagger().phrases().collect::<Vec<_>>().join("\n") + "\n",
    )?;
    let (mut decode_secs, mut tag_secs, mut core_secs) = (f64::MAX, f64::MAX, f64::MAX);
    let (mut valid, mut tagged, mut alerts) = (0usize, 0usize, 0usize);
    // ripgrep's best time; None once it is found missing (or failing).
    let mut rg_best = Some(f64::MAX);
    for _ in 0..3 {
        // Baseline inside the same run: decode + validate only.
        valid = best_time(&mut decode_secs, || {
            let ok = lines
                .iter()
                .filter(|l| decode(l.as_bytes(), &limits, None).is_ok());
            ok.count()
        });
        tagged = best_time(&mut tag_secs, || {
            let mut scratch = Scratch::default();
            let reports = lines
                .iter()
                .filter_map(|l| decode(l.as_bytes(), &limits, None).ok());
            reports
                .filter(|r| engine.tagger().tag(r, &mut scratch).threats() != 0)
                .count()
        });
        engine = loaded.engine()?;
        alerts = best_time(&mut core_secs, || {
            lines
                .iter()
                .map(|l| engine.process_alerts(l.as_bytes(), None).len())
                .sum()
        });
        // ripgrep with the same lexicon phrases, over the same file.
        if let Some(best) = &mut rg_best {
            let status = best_time(best, || {
                std::process::Command::new("rg")
                    .args(["-c", "-F", "-f"])
                    .arg(&phrases)
                    .arg(&path)
                    .stdout(std::process::Stdio::null())
                    .status()
            });
            if !matches!(status, Ok(st) if st.code().is_some_and(|c| c <= 1)) {
                rg_best = None;
            }
        }
    }
    let per_sec = count as f64 / core_secs;
    println!(
        "decode+validate      {:>10.0} reports/s  {:>7.1} MB/s  ({valid} valid; best of 3)",
        count as f64 / decode_secs,
        mb / decode_secs
    );
    println!(
        "decode+tag           {:>10.0} reports/s  {:>7.1} MB/s  ({tagged} with threats)",
        count as f64 / tag_secs,
        mb / tag_secs
    );
    println!(
        "decode+tag+window+rules {:>7.0} reports/s  {:>7.1} MB/s  ({alerts} alert records, {} panes)",
        per_sec,
        mb / core_secs,
        engine.gauges().panes
    );
    println!("core / decode-only   {:>10.2}", decode_secs / core_secs);

    match rg_best {
        Some(rg_secs) => {
            println!(
                "ripgrep -c -F -f     {:>10.0} reports/s  {:>7.1} MB/s  (best of 3, {} phrases)",
                count as f64 / rg_secs,
                mb / rg_secs,
                engine.tagger().phrase_count()
            );
            println!("vigil / ripgrep      {:>10.2}", rg_secs / core_secs);
        }
        None => println!(
            "ripgrep              not found on PATH (apt-get install ripgrep); ratio not measured"
        ),
    }
    Ok(())
}
