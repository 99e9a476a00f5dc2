//! `vigil deliver`: delivery alone (the stage, the silences, the CAP feeds served with
//! `/metrics` on `http.listen`), on `kafka.brokers`, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Result, bail};

use vigil::config::Loaded;
use vigil::delivery::service;

use super::{delivery_metrics, metrics_for, serve_http, stop_on_signals};

pub(crate) fn run(loaded: Loaded) -> Result<()> {
    let brokers = loaded.settings.kafka.brokers.clone();
    if brokers.is_empty() {
        bail!("deliver needs a broker: set kafka.brokers in vigil.toml or VIGIL__KAFKA__BROKERS");
    }
    let loaded = Arc::new(loaded);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stats = runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        stop_on_signals(stop.clone());
        let metrics = Arc::new(metrics_for(&loaded)?);
        let dm = delivery_metrics(&loaded, &metrics)?;
        // The alerts topic too: delivery may start before the pipeline ever ran.
        vigil::kafka::ensure_topics(&loaded.settings.kafka, &brokers).await?;
        vigil::kafka::ensure_delivery_topics(
            &loaded.settings.kafka,
            &loaded.settings.delivery,
            &brokers,
        )
        .await?;
        let started = service::start(loaded.clone(), brokers, stop, Some(dm))?;
        // Alive and serving; delivery starts in the background (its errors end the process).
        let ready = Arc::new(AtomicBool::new(true));
        serve_http(&loaded, metrics, ready, started.routes).await?;
        anyhow::Ok(started.stage.await??)
    })?;
    stats.log_stopped();
    Ok(())
}
