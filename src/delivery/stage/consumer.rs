//! The stage's side of its consumer: partitions a rebalance revokes, the retry topic paused
//! while a queue is full, and offsets committed once the outbox is durable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::state::Stage;

/// Partitions a rebalance took from this member, for the stage to forget.
pub(super) struct RevokeRecorder {
    pub(super) revoked: Arc<Mutex<Vec<(String, i32)>>>,
}

impl ClientContext for RevokeRecorder {}

impl ConsumerContext for RevokeRecorder {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance
            && let Ok(mut revoked) = self.revoked.lock()
        {
            revoked.extend(
                tpl.elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition())),
            );
        }
    }
}

impl Stage {
    /// Partitions a rebalance revoked: forgotten by the schedule (their new owner reads their
    /// unfinished records again from the last commit).
    pub(super) fn forget_revoked(&mut self, revoked: &Mutex<Vec<(String, i32)>>) {
        let taken: Vec<(String, i32)> = match revoked.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => return,
        };
        if taken.is_empty() {
            return;
        }
        let ids: Vec<i32> = taken
            .iter()
            .filter_map(|(t, p)| {
                self.sources
                    .iter()
                    .position(|(st, sp)| st == t && sp == p)
                    .map(|i| i as i32)
            })
            .collect();
        tracing::info!(partitions = taken.len(), "partitions revoked");
        self.schedule.forget(&ids);
        // A new assignment starts unpaused.
        self.retries_paused = false;
    }

    /// Stops reading the retry topic while a subscriber's queue is full, and reads it again
    /// once every queue is at most half full: a retry record for a full queue would only be written back to
    /// the topic, and read again at once. The alerts topic is still read, so a full queue of
    /// one subscriber does not hold back another's new alerts.
    pub(super) fn throttle_retries(
        &mut self,
        consumer: &StreamConsumer<RevokeRecorder>,
        retry_topic: &str,
    ) {
        let full = if self.retries_paused {
            !self.schedule.all_half_empty()
        } else {
            self.schedule.any_full()
        };
        if full == self.retries_paused {
            return;
        }
        let Ok(assigned) = consumer.assignment() else {
            return;
        };
        let mut tpl = TopicPartitionList::new();
        for e in assigned
            .elements()
            .iter()
            .filter(|e| e.topic() == retry_topic)
        {
            tpl.add_partition(retry_topic, e.partition());
        }
        let done = if full {
            consumer.pause(&tpl)
        } else {
            consumer.resume(&tpl)
        };
        match done {
            Ok(()) => {
                self.retries_paused = full;
                tracing::debug!(paused = full, "retry topic");
            }
            Err(e) => tracing::warn!(error = %e, "cannot pause or resume the retry topic"),
        }
    }

    /// Makes the retry and DLQ records written so far durable, then commits the input offsets
    /// the schedule allows. A failure (the broker away, a rebalance under way) is logged and
    /// left to the next commit: offsets only ever move past finished deliveries, so a late
    /// commit repeats deliveries after a crash but loses none.
    pub(super) fn commit(&mut self, consumer: &StreamConsumer<RevokeRecorder>) {
        if let Err(e) = self.producer.flush(Duration::from_secs(30)) {
            // Retry and DLQ records not acknowledged: no offset may pass them yet.
            tracing::warn!(error = %e, "retry and DLQ records not yet acknowledged; commit deferred");
            return;
        }
        let offsets: BTreeMap<i32, i64> = self.schedule.committable();
        if offsets.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (id, offset) in offsets {
            let (topic, partition) = &self.sources[id as usize];
            if tpl
                .add_partition_offset(topic, *partition, Offset::Offset(offset))
                .is_err()
            {
                return;
            }
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {}
            // Nothing new to commit.
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, "offset commit failed; retried at the next"),
        }
    }
}
