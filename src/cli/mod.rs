//! The `vigil` commands, one file each in the order DESIGN lists them, and what they share:
//! opening an input file in any supported format, progress bars, logging and the reason tally of
//! a run's summary. This is the binary's edge: library errors become `anyhow` here.

pub(crate) mod backtest;
pub(crate) mod bench;
pub(crate) mod bench_delivery;
pub(crate) mod bench_desk;
pub(crate) mod check_config;
pub(crate) mod deliver;
pub(crate) mod generate;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod silence;
pub(crate) mod tag;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use vigil::config::Loaded;
use vigil::input::import::{self, Format, Records};
use vigil::output::writers::{AlertSink, FileSink, Rendering};
use vigil::telemetry::delivery::DeliveryMetrics;
use vigil::telemetry::metrics::Metrics;

/// The registry for the configured threats, rules and labelled regions.
pub(crate) fn metrics_for(loaded: &Loaded) -> Result<Metrics> {
    let threats = loaded.taxonomy.threat_codes();
    let rules: Vec<String> = loaded.rules.iter().map(|r| r.name.clone()).collect();
    Ok(Metrics::new(
        &threats,
        &rules,
        &loaded.settings.metrics.regions,
    )?)
}

/// The delivery metrics in `metrics`' registry, a series for every configured subscriber.
pub(crate) fn delivery_metrics(loaded: &Loaded, metrics: &Metrics) -> Result<DeliveryMetrics> {
    let names: Vec<String> = loaded.subscribers.iter().map(|s| s.name.clone()).collect();
    Ok(DeliveryMetrics::register(metrics.registry(), &names)?)
}

/// Serves `/metrics`, `/healthz`, `/readyz` and `routes` (the CAP feeds) on `http.listen`, and
/// logs where.
pub(crate) async fn serve_http(
    loaded: &Loaded,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    routes: axum::Router,
) -> Result<()> {
    let addr = vigil::telemetry::http::serve(&loaded.settings.http, metrics, ready, routes)
        .await
        .context("starting the HTTP listener")?;
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz and the CAP feeds under /cap/");
    Ok(())
}

pub(crate) fn init_logging(loaded: &Loaded) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&loaded.settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour only for a person at a terminal, never into files or log shippers.
        .with_ansi(io::stderr().is_terminal())
        .with_writer(io::stderr);
    let _ = if loaded.settings.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn open_input(file: &str) -> Result<(Box<dyn Read>, Option<u64>)> {
    if file == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let f = File::open(file).with_context(|| format!("cannot open {file}"))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

/// Opens `file` and reads its first line: an input that is no known format is refused here,
/// before any record is processed.
pub(crate) fn open_records(loaded: &Loaded, file: &str) -> Result<(Format, Records, Option<u64>)> {
    let (input, len) = open_input(file)?;
    let (format, records) = import::records(input, &loaded.settings.import_options())
        .with_context(|| format!("cannot import {file}"))?;
    Ok((format, records, len))
}

/// Rejected records by reason code, printed as `reason=n` pairs in a stable order.
#[derive(Default)]
pub(crate) struct Reasons(pub(crate) BTreeMap<String, u64>);

impl Reasons {
    pub(crate) fn add(&mut self, code: &str) {
        *self.0.entry(code.to_string()).or_default() += 1;
    }

    pub(crate) fn line(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(r, n)| format!("{r}={n}")).collect();
        pairs.join(" ")
    }
}

pub(crate) fn progress(len: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:40} {percent}% {per_sec} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    }
}

/// This process's peak resident set (`VmHWM`, Linux), in KiB. Unlike a parent's `getrusage`,
/// it counts this program alone: the kernel starts it afresh at `exec`, whereas a child's
/// `ru_maxrss` also keeps the resident set of the process it was forked from.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Where `backtest` (and `run`) also write each alert record, one file per record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Renderings {
    pub(crate) cap_dir: Option<PathBuf>,
    pub(crate) alertmanager_dir: Option<PathBuf>,
}

impl Renderings {
    /// The file sinks asked for, each made by `make` (`FileSink::new`, or `FileSink::fresh`
    /// where a directory must be empty).
    pub(crate) fn sinks(
        &self,
        make: fn(PathBuf, Rendering) -> io::Result<FileSink>,
    ) -> Result<Vec<Box<dyn AlertSink>>> {
        let mut out: Vec<Box<dyn AlertSink>> = Vec::new();
        for (dir, rendering) in [
            (&self.alertmanager_dir, Rendering::Alertmanager),
            (&self.cap_dir, Rendering::Cap),
        ] {
            if let Some(dir) = dir {
                let sink = make(dir.clone(), rendering)
                    .with_context(|| format!("cannot write alert files to {}", dir.display()))?;
                out.push(Box::new(sink));
            }
        }
        Ok(out)
    }
}

/// Sets `stop` on SIGINT or SIGTERM, for a graceful shutdown.
pub(crate) fn stop_on_signals(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!("signal received: finishing the open batch and leaving the group");
        stop.store(true, Ordering::Relaxed);
    });
}
