//! `vigil run`: the streaming pipeline with its HTTP endpoints; with no broker configured, on an
//! embedded cluster fed with the demo scenario.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use vigil::config::{KafkaSettings, Loaded};
use vigil::input::generator::{GenOptions, generate};
use vigil::kafka::pipeline::{self, PipelineOptions, RunStats};
use vigil::kafka::replay::{Pace, replay};
use vigil::output::sinks::{AlertLines, AlertSink};
use vigil::telemetry::Telemetry;
use vigil::telemetry::metrics::Metrics;

use super::backtest::Renderings;
use super::peak_rss_kib;

pub(crate) fn run(
    loaded: Loaded,
    speed: f64,
    json: bool,
    max_records: Option<u64>,
    renderings: Renderings,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_pipeline(
        Arc::new(loaded),
        speed,
        json,
        max_records,
        renderings,
    ))
}

/// Sets `stop` on SIGINT or SIGTERM, for a graceful shutdown.
fn stop_on_signals(stop: Arc<AtomicBool>) {
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

/// Starts librdkafka's in-process mock cluster with the pipeline's topics, and a task that feeds
/// it the demo scenario through the same producer path as `vigil replay`. The cluster lives as
/// long as the returned handle.
fn embedded_demo(
    k: &KafkaSettings,
    speed: f64,
) -> Result<(MockCluster<'static, DefaultProducerContext>, String)> {
    let mock = MockCluster::new(1).context("starting the embedded Kafka cluster")?;
    let bootstrap = mock.bootstrap_servers();
    for topic in [
        &k.input_topic,
        &k.alerts_topic,
        &k.dlq_topic,
        &k.state_topic,
    ] {
        mock.create_topic(topic, k.partitions, 1)?;
    }
    let demo = GenOptions::demo();
    tracing::info!(
        brokers = %bootstrap,
        reports = demo.count,
        regions = demo.regions,
        "no kafka.brokers configured: embedded cluster with the bundled demo scenario"
    );
    let (feed_settings, feed_brokers) = (k.clone(), bootstrap.clone());
    tokio::spawn(async move {
        let lines = generate(&demo).map(String::into_bytes).collect::<Vec<_>>();
        let pace = Pace::EventTime {
            start: demo.start,
            speed,
        };
        match replay(
            &feed_settings,
            &feed_brokers,
            lines.into_iter(),
            pace,
            |_| {},
        )
        .await
        {
            Ok(n) => tracing::info!(
                reports = n,
                "demo scenario fully produced; the pipeline keeps running until Ctrl-C"
            ),
            Err(e) => tracing::error!(error = %e, "demo feed failed"),
        }
    });
    Ok((mock, bootstrap))
}

async fn run_pipeline(
    loaded: Arc<Loaded>,
    speed: f64,
    json: bool,
    max_records: Option<u64>,
    renderings: Renderings,
) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signals(stop.clone());
    let k = loaded.settings.kafka.clone();
    // The embedded cluster lives as long as this function.
    let mut _mock = None;
    let (brokers, transactions) = if k.brokers.is_empty() {
        let (mock, bootstrap) = embedded_demo(&k, speed)?;
        _mock = Some(mock);
        // The mock cluster's transactions are not faithful (see README): run at-least-once.
        (bootstrap, false)
    } else {
        vigil::kafka::ensure_topics(&k, &k.brokers).await?;
        (k.brokers.clone(), k.transactions)
    };
    let opts = PipelineOptions {
        brokers,
        transactions,
        max_records,
    };
    let telemetry = Telemetry {
        metrics: Arc::new(Metrics::new(
            &loaded
                .taxonomy
                .threats
                .iter()
                .map(|t| t.code.clone())
                .collect::<Vec<_>>(),
            &loaded
                .rules
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>(),
            &loaded.settings.metrics.regions,
        )?),
        ready: Arc::new(AtomicBool::new(false)),
    };
    let addr = vigil::telemetry::http::serve(
        &loaded.settings.http.listen,
        telemetry.metrics.clone(),
        telemetry.ready.clone(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot listen on http.listen = {}",
            loaded.settings.http.listen
        )
    })?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    let started = Instant::now();
    let worker_loaded = loaded.clone();
    let stats = tokio::task::spawn_blocking(move || -> Result<RunStats> {
        // Every committed alert to standard output, and to the files asked for.
        let stdout = io::stdout();
        let mut sinks: Vec<Box<dyn AlertSink>> = vec![if json {
            Box::new(AlertLines::json(stdout))
        } else {
            Box::new(AlertLines::readable(stdout))
        }];
        sinks.extend(renderings.sinks()?);
        let mut failed = None;
        let stats = pipeline::run(&worker_loaded, &opts, stop, &telemetry, |outcome| {
            for alert in outcome.alerts() {
                for sink in &mut sinks {
                    if let Err(e) = sink.alert(alert) {
                        failed.get_or_insert(e);
                    }
                }
            }
            for sink in &mut sinks {
                if let Err(e) = sink.flush() {
                    failed.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = failed {
            tracing::warn!(error = %e, "writing committed alerts failed");
        }
        Ok(stats)
    })
    .await??;
    // A log event, not a bare line: with log.format = "json" every stderr line is JSON.
    let c = &stats.counts;
    tracing::info!(
        records = stats.records,
        seconds = started.elapsed().as_secs_f64(),
        alert_records = c.alerts,
        dlq = c.rejected_total(),
        commits = stats.commits,
        aborts = stats.aborts,
        restores = stats.restores,
        restore_seconds = stats.restore_seconds,
        held_as_suspect = c.held,
        near_duplicates = c.near_duplicates,
        peak_rss_kib = peak_rss_kib(),
        "run finished"
    );
    Ok(())
}
