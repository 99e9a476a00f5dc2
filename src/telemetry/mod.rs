//! What SREs see. The pipeline reports through typed events (`events.rs`), each of which both
//! logs and counts, as Vector's internal events do; `metrics.rs` owns every Prometheus metric
//! and `tally.rs` turns a committed batch's outcome into metric increments; `http.rs` serves
//! `/metrics`, `/healthz` and `/readyz`.

pub mod delivery;
pub mod desk;
pub mod events;
pub mod http;
pub mod listener;
pub mod metrics;
mod tally;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use events::InternalEvent;
use metrics::Metrics;

/// Where the pipeline reports: the metrics, and the readiness `/readyz` serves.
#[derive(Clone)]
pub struct Telemetry {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

impl Telemetry {
    /// Logs and counts one event.
    pub fn emit(&self, event: impl InternalEvent) {
        event.emit(self);
    }

    /// Whether assigned partitions are restored and consuming (`/readyz`, `vigil_ready`).
    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
        self.metrics.set_ready(ready);
    }
}
