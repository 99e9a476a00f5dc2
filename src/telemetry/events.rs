//! The pipeline's internal events. Each is a struct whose `emit` writes its log line and updates
//! its metrics, so that what is logged and what is counted cannot drift apart. Log lines carry
//! ids, counts and reason codes, never report text.

use std::fmt::Display;

use rdkafka::message::{Message, OwnedMessage};

use super::Telemetry;
use super::tally::Tally;
use crate::engine::{BatchOutcome, Gauges};

/// An event the pipeline reports.
pub trait InternalEvent {
    /// Logs the event and counts it.
    fn emit(self, telemetry: &Telemetry);
}

/// A batch's transaction committed: its outcome counts, and the state gauges are refreshed.
/// (Counting only after the commit matters: an aborted batch is processed again.)
pub(crate) struct BatchCommitted<'a> {
    pub outcome: &'a BatchOutcome,
    /// The batch's input records, for their Kafka timestamps.
    pub records: &'a [OwnedMessage],
    /// Bytes of the records' keys and payloads.
    pub bytes: usize,
    /// From the first record's processing to the commit's end, in seconds.
    pub batch_seconds: f64,
    /// The commit alone, when transactional.
    pub commit_seconds: Option<f64>,
    pub gauges: Gauges,
}

impl InternalEvent for BatchCommitted<'_> {
    fn emit(self, telemetry: &Telemetry) {
        let c = &self.outcome.counts;
        tracing::debug!(
            records = self.records.len(),
            bytes = self.bytes,
            accepted = c.accepted,
            rejected = c.rejected_total(),
            alerts = c.alerts,
            ms = (self.batch_seconds * 1000.0) as u64,
            "batch committed"
        );
        let timestamps = self
            .records
            .iter()
            .filter_map(|m| m.timestamp().to_millis());
        let m = &telemetry.metrics;
        let tally = Tally::of(m, self.outcome, self.records.len() as u64, timestamps);
        m.batch_committed(
            &tally,
            self.batch_seconds,
            self.commit_seconds,
            &self.gauges,
        );
    }
}

/// A batch failed and is aborted: the instance forgets its state and rejoins.
pub(crate) struct BatchAborted<'a> {
    pub error: &'a dyn Display,
}

impl InternalEvent for BatchAborted<'_> {
    fn emit(self, telemetry: &Telemetry) {
        tracing::warn!(error = %self.error, "batch failed; aborting and restoring from the changelog");
        telemetry.metrics.batch_aborted();
        telemetry.set_ready(false);
    }
}

/// Records waited but none arrived for `pipeline.stall_timeout_secs`: the instance rejoins.
pub(crate) struct ConsumerStalled {
    pub seconds: u64,
}

impl InternalEvent for ConsumerStalled {
    fn emit(self, telemetry: &Telemetry) {
        // Seen once after a broker restart: the consumer stopped fetching while records
        // waited, with no error. Crash-only recovery: rejoin and restore.
        tracing::warn!(
            seconds = self.seconds,
            "records are waiting but none arrived; rejoining the group"
        );
        telemetry.metrics.consumer_stalled();
        telemetry.set_ready(false);
    }
}

/// Newly assigned partitions' state was restored from the changelog.
pub(crate) struct StateRestored<'a> {
    pub partitions: &'a [i32],
    pub regions: usize,
    pub records: u64,
    pub seconds: f64,
    /// Partitions assigned now, these included.
    pub assigned: usize,
}

impl InternalEvent for StateRestored<'_> {
    fn emit(self, telemetry: &Telemetry) {
        tracing::info!(
            parts = ?self.partitions,
            regions = self.regions,
            records = self.records,
            seconds = self.seconds,
            "partitions assigned; state restored"
        );
        telemetry.metrics.restored(self.seconds, self.assigned);
        telemetry.set_ready(self.assigned > 0);
    }
}

/// Partitions left this instance.
pub(crate) struct PartitionsRevoked<'a> {
    pub partitions: &'a [i32],
    /// Partitions still assigned.
    pub assigned: usize,
}

impl InternalEvent for PartitionsRevoked<'_> {
    fn emit(self, telemetry: &Telemetry) {
        tracing::info!(parts = ?self.partitions, "partitions revoked");
        for p in self.partitions {
            telemetry.metrics.partition_revoked(*p);
        }
        telemetry.metrics.assigned(self.assigned);
        telemetry.set_ready(self.assigned > 0);
    }
}
