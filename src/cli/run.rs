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
use vigil::delivery::retry::DeliverySettings;
use vigil::delivery::service;
use vigil::input::generator::{GenOptions, generate};
use vigil::kafka::pipeline::{self, PipelineOptions, RunStats};
use vigil::kafka::replay::{Pace, replay};
use vigil::output::writers::{AlertLines, AlertSink, FileSink};
use vigil::telemetry::Telemetry;

use super::{Renderings, delivery_metrics, metrics_for, peak_rss_kib, serve_http, stop_on_signals};

pub(crate) fn run(
    mut loaded: Loaded,
    speed: f64,
    json: bool,
    max_records: Option<u64>,
    renderings: Renderings,
) -> Result<()> {
    if loaded.settings.desk.enabled && !loaded.settings.kafka.publish_tagged {
        // The desk's region picture is counted from the tagged topic (DESIGN, "Topics": on
        // when the desk runs).
        tracing::info!("desk enabled: publishing tagged reports to kafka.tagged_topic");
        loaded.settings.kafka.publish_tagged = true;
    }
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

/// Starts librdkafka's in-process mock cluster with the pipeline's topics, and a task that feeds
/// it the demo scenario through the same producer path as `vigil replay`. The cluster lives as
/// long as the returned handle.
fn embedded_demo(
    k: &KafkaSettings,
    d: &DeliverySettings,
    desk: &vigil::desk::settings::DeskSettings,
    speed: f64,
) -> Result<(MockCluster<'static, DefaultProducerContext>, String)> {
    let mock = MockCluster::new(1).context("starting the embedded Kafka cluster")?;
    let bootstrap = mock.bootstrap_servers();
    for topic in [
        &k.input_topic,
        &k.alerts_topic,
        &k.dlq_topic,
        &k.state_topic,
        &k.tagged_topic,
        &d.retry_topic,
        &d.dlq_topic,
        &desk.reviews_topic,
    ] {
        mock.create_topic(topic, k.partitions, 1)?;
    }
    mock.create_topic(&d.silences_topic, 1, 1)?;
    mock.create_topic(&desk.erasures_topic, 1, 1)?;
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
            Ok(n) => tracing::info!(reports = n, "demo scenario fully produced"),
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
    // Every committed alert to standard output, and to the files asked for: made first, so that
    // a directory that cannot take them is refused before anything starts.
    let stdout = io::stdout();
    let mut sinks: Vec<Box<dyn AlertSink>> = vec![if json {
        Box::new(AlertLines::json(stdout))
    } else {
        Box::new(AlertLines::readable(stdout))
    }];
    sinks.extend(renderings.sinks(FileSink::fresh)?);
    // TLS files that cannot be used stop the run before it connects to anything.
    vigil::telemetry::listener::check(&loaded.settings.http).context("the HTTP listener")?;
    // A signing key or SMTP credential missing stops the run before anything starts.
    if loaded.settings.delivery.enabled {
        vigil::delivery::stage::preflight(&loaded).context("starting delivery")?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signals(stop.clone());
    let k = loaded.settings.kafka.clone();
    // The embedded cluster lives as long as this function.
    let mut _mock = None;
    let (brokers, transactions) = if k.brokers.is_empty() {
        let (mock, bootstrap) =
            embedded_demo(&k, &loaded.settings.delivery, &loaded.settings.desk, speed)?;
        _mock = Some(mock);
        // The mock cluster's transactions are not faithful (see README): run at-least-once.
        (bootstrap, false)
    } else {
        // A secret file that cannot be read stops the run before it connects.
        vigil::kafka::check_secrets().context("kafka credentials")?;
        vigil::kafka::ensure_topics(&k, &k.brokers).await?;
        // Only the topics of the parts that run: a least-privilege principal has no ACLs for
        // the others (docs/security.md). The desk writes silences, which are delivery's.
        let desk_on = loaded.settings.desk.enabled;
        if loaded.settings.delivery.enabled {
            vigil::kafka::ensure_delivery_topics(&k, &loaded.settings.delivery, &k.brokers).await?;
        } else if desk_on {
            vigil::kafka::ensure_silences_topic(&k, &loaded.settings.delivery, &k.brokers).await?;
        }
        if desk_on {
            vigil::kafka::ensure_desk_topics(&k, &loaded.settings.desk, &k.brokers).await?;
        }
        (k.brokers.clone(), k.transactions)
    };
    let metrics = Arc::new(metrics_for(&loaded)?);
    // Delivery (on by default): its own consumer group on the alerts topic, so a slow receiver
    // never slows the pipeline; the CAP feeds are served beside /metrics.
    let mut routes = axum::Router::new();
    let mut delivery = None;
    if loaded.settings.delivery.enabled {
        let dm = delivery_metrics(&loaded, &metrics)?;
        let started = service::start(loaded.clone(), brokers.clone(), stop.clone(), Some(dm))
            .context("starting delivery")?;
        routes = started.routes;
        // Delivery failing stops the run at once (a supervisor restarts it), rather than the
        // pipeline running on with no subscriber served.
        let (stage, halt) = (started.stage, stop.clone());
        delivery = Some(tokio::spawn(async move {
            let result = stage.await;
            if !matches!(result, Ok(Ok(_))) {
                tracing::error!("delivery stopped with an error; stopping the run");
                halt.store(true, Ordering::Relaxed);
            }
            result
        }));
    }
    // The desk (on by default): its store read from the topics in the background, its API
    // and page served beside /metrics.
    let mut desk = None;
    let mut demo_store = None;
    if loaded.settings.desk.enabled {
        let store = desk_store_path(&loaded, _mock.is_some());
        if _mock.is_some() {
            remove_demo_store(&store);
            demo_store = Some(store.clone());
        }
        let started = vigil::desk::service::start(
            loaded.clone(),
            brokers.clone(),
            &store,
            Some(metrics.registry()),
            stop.clone(),
        )
        .context("starting the desk")?;
        routes = routes.merge(started.routes);
        let (task, halt) = (started.task, stop.clone());
        desk = Some(tokio::spawn(async move {
            let result = task.await;
            if !matches!(result, Ok(Ok(()))) {
                tracing::error!(?result, "the desk stopped with an error; stopping the run");
                halt.store(true, Ordering::Relaxed);
            }
        }));
    }
    let opts = PipelineOptions {
        brokers,
        transactions,
        max_records,
    };
    let telemetry = Telemetry {
        metrics,
        ready: Arc::new(AtomicBool::new(false)),
    };
    serve_http(
        &loaded,
        telemetry.metrics.clone(),
        telemetry.ready.clone(),
        routes,
    )
    .await?;
    let started = Instant::now();
    let worker_loaded = loaded.clone();
    let pipeline_stop = stop.clone();
    let stats = tokio::task::spawn_blocking(move || -> Result<RunStats> {
        // A write that fails stops the run (as it stops a backtest): the alert is committed to
        // the alerts topic, but the files would silently lack it.
        let mut failed: Option<io::Error> = None;
        let halt = stop.clone();
        let stats = pipeline::run(&worker_loaded, &opts, stop, &telemetry, |outcome| {
            let written = outcome
                .alerts()
                .try_for_each(|alert| sinks.iter_mut().try_for_each(|s| s.alert(alert)))
                .and_then(|()| sinks.iter_mut().try_for_each(|s| s.flush()));
            if let Err(e) = written
                && failed.is_none()
            {
                tracing::error!(error = %e, "writing committed alerts failed; stopping");
                halt.store(true, Ordering::Relaxed);
                failed = Some(e);
            }
        })?;
        match failed {
            Some(e) => Err(anyhow::Error::from(e).context("writing committed alerts")),
            None => Ok(stats),
        }
    })
    .await??;
    log_finished(&stats, started);
    // The pipeline stopped (a signal, or --max-records): delivery stops with it.
    pipeline_stop.store(true, Ordering::Relaxed);
    if let Some(desk) = desk {
        let _ = desk.await;
    }
    if let Some(path) = demo_store {
        remove_demo_store(&path);
    }
    if let Some(stage) = delivery {
        let d = stage.await??.context("delivery")?;
        d.log_stopped();
    }
    Ok(())
}

/// Where the desk keeps its store: `desk.store`; on the embedded demo cluster, a fresh file of
/// this process in the temporary directory (the cluster's topics are new at every start, so an
/// earlier store's offsets would not match them), removed when the run ends.
fn desk_store_path(loaded: &Loaded, embedded: bool) -> std::path::PathBuf {
    if embedded {
        std::env::temp_dir().join(format!("vigil-desk-demo-{}.sqlite", std::process::id()))
    } else {
        std::path::PathBuf::from(&loaded.settings.desk.store)
    }
}

/// Removes the embedded demo's store (and SQLite's files beside it).
fn remove_demo_store(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The run's summary, as a log event.
fn log_finished(stats: &RunStats, started: Instant) {
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
}
