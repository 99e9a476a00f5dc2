//! `vigil tag`: one JSON line of tags per report, with near-duplicates marked as the core
//! judges them.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};

use anyhow::{Result, bail};

use vigil::config::Loaded;
use vigil::input::import::ImportError;
use vigil::report::decode;
use vigil::tag::Scratch;
use vigil::window::near_duplicate::Fingerprint;
use vigil::window::{Admission, RegionWindows};

use super::{Reasons, open_records, progress};

pub(crate) fn run(loaded: &Loaded, file: &str) -> Result<()> {
    let engine = loaded.engine()?;
    let tagger = engine.tagger();
    let limits = &loaded.settings.limits;
    let (_, records, len) = open_records(loaded, file)?;
    let bar = progress(len);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut scratch = Scratch::default();
    let now = chrono::Utc::now().timestamp();
    let window = &loaded.settings.window;
    let mut near: HashMap<String, RegionWindows> = HashMap::new();
    let mut near_duplicates = 0u64;
    let (mut ok, mut bad) = (0u64, 0u64);
    let mut reasons = Reasons::default();
    for (line, record) in records {
        let bytes = match record {
            Ok(b) => b,
            Err(ImportError::Io(e)) => bail!("reading {file}: {e}"),
            Err(e) => {
                bad += 1;
                reasons.add(e.reason().map_or("bad_record", |r| r.code()));
                // The import error names its line itself.
                bar.suspend(|| eprintln!("{e}"));
                continue;
            }
        };
        bar.inc(bytes.len() as u64 + 1);
        match decode(&bytes, limits, Some(now)) {
            Ok(report) => {
                let set = tagger.tag(&report, &mut scratch);
                let mut tagged = tagger.render(&report, &set);
                // Near-duplicates within the file, judged as the core judges them (the other
                // admission outcomes do not concern tagging).
                let windows = near.entry(report.report.region.to_string()).or_default();
                let signals = set.threats() != 0 || set.risk_factors != 0;
                let admission = windows.admit(&report.report.id, report.event_time, window, || {
                    signals.then(|| Fingerprint::of(&report))
                });
                if let Admission::NearDuplicate { of } = admission {
                    near_duplicates += 1;
                    tagged.duplicate_of = Some(of.to_string());
                }
                serde_json::to_writer(&mut out, &tagged)?;
                out.write_all(b"\n")?;
                ok += 1;
            }
            Err(e) => {
                bad += 1;
                reasons.add(e.reason.code());
                bar.suspend(|| eprintln!("line {line}: {e}"));
            }
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!(
        "tagged {ok} reports ({near_duplicates} near-duplicates, with duplicate_of), skipped {bad} bad lines [{}]",
        reasons.line()
    );
    Ok(())
}
