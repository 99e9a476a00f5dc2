//! `vigil backtest`: the whole core over a file of reports, alerts out as JSON lines (and, on
//! request, as CAP and Alertmanager files), with a summary of what happened to every record.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use vigil::config::Loaded;
use vigil::engine::{Engine, Outcome};
use vigil::input::import::ImportError;
use vigil::output::cap::{CapSender, render};

use super::{Reasons, open_records, peak_rss_kib, progress};

/// Counts of a finished run, printed as the summary.
#[derive(Default)]
struct Summary {
    records: u64,
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    /// Records the import refused, by reason; the engine counts its own.
    import_rejected: Reasons,
    alerts: u64,
}

fn print_summary(s: &Summary, engine: &Engine, elapsed: f64) {
    let stats = engine.stats();
    let mut reasons = Reasons(s.import_rejected.0.clone());
    for (r, n) in &stats.rejected {
        *reasons.0.entry(r.code().to_string()).or_default() += n;
    }
    eprintln!(
        "{} records in {:.2}s: {} accepted ({} late), {} duplicates, {} rejected [{}], {} alert records; active alerts watch/warning/critical = {:?}",
        s.records,
        elapsed,
        s.accepted,
        stats.late,
        s.duplicates,
        s.rejected,
        reasons.line(),
        s.alerts,
        engine.active_alerts()
    );
    if stats.near_duplicates > 0 {
        eprintln!(
            "near_duplicate: {} of the duplicates repeat another report of their source under a new id",
            stats.near_duplicates
        );
    }
    if let Some(kib) = peak_rss_kib() {
        eprintln!("peak memory: {kib} KiB resident");
    }
    if stats.held > 0 {
        eprintln!(
            "time_jump: {} reports held as suspect (event time over window.max_watermark_jump_secs ahead of their region), {} released by corroboration, {} still held",
            stats.held,
            stats.released,
            engine.held_count()
        );
    }
}

/// Where `backtest` also writes each alert record, one file per record.
pub(crate) struct Renderings<'a> {
    pub(crate) cap_dir: Option<&'a Path>,
    pub(crate) alertmanager_dir: Option<&'a Path>,
}

pub(crate) fn run(
    loaded: &Loaded,
    file: &Path,
    output: Option<&Path>,
    renderings: Renderings<'_>,
    show_rejects: usize,
) -> Result<()> {
    let Renderings {
        cap_dir,
        alertmanager_dir,
    } = renderings;
    let mut engine = loaded.engine()?;
    let (format, records, len) = open_records(loaded, &file.to_string_lossy())?;
    tracing::debug!(?format, "backtest input");
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    for dir in [cap_dir, alertmanager_dir].into_iter().flatten() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let sender = CapSender::default();
    let bar = progress(len);
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp();
    let mut s = Summary::default();
    // `why` names its line: import errors do so themselves, engine rejects get it here.
    let reject = |why: String, s: &mut Summary| {
        s.rejected += 1;
        if s.rejected <= show_rejects as u64 {
            bar.suspend(|| eprintln!("{why}"));
        }
    };
    for (line, record) in records {
        s.records += 1;
        let bytes = match record {
            Ok(b) => b,
            Err(ImportError::Io(e)) => bail!("reading {}: {e}", file.display()),
            Err(e) => {
                s.import_rejected
                    .add(e.reason().map_or("bad_record", |r| r.code()));
                reject(e.to_string(), &mut s);
                continue;
            }
        };
        bar.inc(bytes.len() as u64 + 1);
        // A report dated after this machine's clock is refused here as in a stream, whose
        // receive time bounds it: a backtest of history is unaffected by the clock.
        let outcome = engine.process(&bytes, Some(now));
        let released = engine.take_released().into_iter().map(|r| r.outcome);
        for outcome in released.chain(std::iter::once(outcome)) {
            match outcome {
                Outcome::Accepted { alerts, .. } => {
                    s.accepted += 1;
                    for alert in alerts {
                        s.alerts += 1;
                        serde_json::to_writer(&mut out, &alert)?;
                        out.write_all(b"\n")?;
                        if let Some(dir) = alertmanager_dir {
                            let name = format!("{}-{:04}.json", alert.alert_id, s.alerts);
                            let body = serde_json::to_vec(&vigil::output::alertmanager::payload(
                                &alert, "vigil",
                            ))?;
                            std::fs::write(dir.join(name), body)?;
                        }
                        if let Some(dir) = cap_dir {
                            let name = format!("{}-{:04}.xml", alert.alert_id, s.alerts);
                            std::fs::write(dir.join(name), render(&alert, &sender))?;
                        }
                    }
                }
                Outcome::Duplicate { .. } => s.duplicates += 1,
                Outcome::Held { .. } => {}
                Outcome::Rejected(e) => reject(format!("line {line}: {e}"), &mut s),
            }
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    print_summary(&s, &engine, started.elapsed().as_secs_f64());
    Ok(())
}
