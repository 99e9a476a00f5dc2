//! `vigil deliver`: the delivery stage alone, on `kafka.brokers`, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Result, bail};

use vigil::config::Loaded;

use super::stop_on_signals;

pub(crate) fn run(loaded: &Loaded) -> Result<()> {
    let brokers = loaded.settings.kafka.brokers.clone();
    if brokers.is_empty() {
        bail!("deliver needs a broker: set kafka.brokers in vigil.toml or VIGIL__KAFKA__BROKERS");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stats = runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        stop_on_signals(stop.clone());
        vigil::delivery::stage::run(loaded, &brokers, stop).await
    })?;
    tracing::info!(
        delivered = stats.delivered,
        retried = stats.retried,
        dead_lettered = stats.dead,
        "delivery stopped"
    );
    Ok(())
}
