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
use vigil::output::writers::{AlertLines, AlertSink, FileSink};

use super::{Reasons, Renderings, open_records, peak_rss_kib, progress};

/// Prints a run's summary: the engine's counts of every outcome, with the records the import
/// refused (`import_rejected`, by reason) added to the rejects.
fn print_summary(records: u64, import_rejected: &Reasons, engine: &Engine, elapsed: f64) {
    let counts = engine.counts();
    let gauges = engine.gauges();
    let mut reasons = Reasons(import_rejected.0.clone());
    for (r, n) in &counts.rejected {
        *reasons.0.entry(r.code().to_string()).or_default() += n;
    }
    let import_total: u64 = import_rejected.0.values().sum();
    eprintln!(
        "{} records in {:.2}s: {} accepted ({} late), {} duplicates, {} rejected [{}], {} alert records; active alerts watch/warning/critical = {:?}",
        records,
        elapsed,
        counts.accepted,
        counts.late,
        counts.duplicates,
        import_total + counts.rejected_total(),
        reasons.line(),
        counts.alerts,
        gauges.open
    );
    if counts.near_duplicates > 0 {
        eprintln!(
            "near_duplicate: {} of the duplicates repeat another report of their source under a new id",
            counts.near_duplicates
        );
    }
    if let Some(kib) = peak_rss_kib() {
        eprintln!("peak memory: {kib} KiB resident");
    }
    if counts.held > 0 {
        eprintln!(
            "time_jump: {} reports held as suspect (event time over window.max_watermark_jump_secs ahead of their region), {} released by corroboration, {} still held",
            counts.held, counts.released, gauges.held
        );
    }
}

pub(crate) fn run(
    loaded: &Loaded,
    file: &Path,
    output: Option<&Path>,
    renderings: Renderings,
    show_rejects: usize,
) -> Result<()> {
    let mut engine = loaded.engine()?;
    let (format, records, len) = open_records(loaded, &file.to_string_lossy())?;
    tracing::debug!(?format, "backtest input");
    let out: Box<dyn Write + Send> = match output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout())),
    };
    let mut sinks: Vec<Box<dyn AlertSink>> = vec![Box::new(AlertLines::json(out))];
    sinks.extend(renderings.sinks(FileSink::new)?);
    let bar = progress(len);
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp();
    let (mut records_seen, mut shown) = (0u64, 0usize);
    let mut import_rejected = Reasons::default();
    // `why` names its line: import errors do so themselves, engine rejects get it here.
    let mut show = |why: String| {
        shown += 1;
        if shown <= show_rejects {
            bar.suspend(|| eprintln!("{why}"));
        }
    };
    for (line, record) in records {
        records_seen += 1;
        let bytes = match record {
            Ok(b) => b,
            Err(ImportError::Io(e)) => bail!("reading {}: {e}", file.display()),
            Err(e) => {
                import_rejected.add(e.reason().map_or("bad_record", |r| r.code()));
                show(e.to_string());
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
                    for alert in &alerts {
                        for sink in &mut sinks {
                            sink.alert(alert)?;
                        }
                    }
                }
                Outcome::Rejected(e) => show(format!("line {line}: {e}")),
                Outcome::Duplicate { .. } | Outcome::Held { .. } => {}
            }
        }
    }
    for sink in &mut sinks {
        sink.flush()?;
    }
    bar.finish_and_clear();
    print_summary(
        records_seen,
        &import_rejected,
        &engine,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}
