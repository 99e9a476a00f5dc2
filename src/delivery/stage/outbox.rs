//! The stage's writes to Kafka: a delivery due again to the retry topic (with its attempt,
//! first attempt and due time), a refused or expired one to the delivery DLQ (with the
//! subscriber, reason and attempts in headers).

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use serde::{Deserialize, Serialize};

use crate::telemetry::delivery::DeliveryOutcome;

use super::state::{Delivery, Stage};

/// A delivery as the retry topic keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RetryRecord {
    pub(super) subscriber: String,
    /// The attempt this record is for (2 for the first retry).
    pub(super) attempt: u32,
    pub(super) first_attempt_ms: i64,
    pub(super) not_before_ms: i64,
    /// When the oldest record carried was committed (for the latency metric).
    pub(super) committed_ms: i64,
    /// The group a notification is for (`None`: a single record).
    #[serde(default)]
    pub(super) group: Option<String>,
    #[serde(default)]
    pub(super) repeat_of: Option<u64>,
    /// The alert records carried, as published on the alerts topic.
    pub(super) records: Vec<String>,
}

impl Stage {
    pub(super) fn schedule_retry(
        &mut self,
        subscriber: usize,
        d: &Delivery,
        attempt: u32,
        first: i64,
        due: i64,
    ) {
        let name = &self.subscribers[subscriber].name;
        let r = RetryRecord {
            subscriber: name.clone(),
            attempt,
            first_attempt_ms: first,
            not_before_ms: due,
            committed_ms: d.committed_ms,
            group: d.group.clone(),
            repeat_of: d.repeat_of,
            records: d
                .members
                .iter()
                .map(|m| String::from_utf8_lossy(&m.record).into_owned())
                .collect(),
        };
        let Ok(value) = serde_json::to_vec(&r) else {
            return;
        };
        let record = BaseRecord::<str, [u8]>::to(&self.settings.retry_topic)
            .key(name.as_str())
            .payload(&value);
        if let Err(e) = crate::kafka::send(&self.producer, record) {
            tracing::error!(error = %e, "cannot write to the retry topic");
        }
    }

    pub(super) fn dead(
        &mut self,
        records: &[u8],
        subscriber: &str,
        attempts: u32,
        outcome: DeliveryOutcome,
        reason: &str,
    ) {
        self.stats.dead += 1;
        if let Some(m) = &self.metrics {
            m.finished(subscriber, outcome);
        }
        tracing::warn!(%subscriber, attempts, %reason, "delivery dead-lettered");
        let attempts = attempts.to_string();
        let headers = [
            ("vigil.subscriber", subscriber),
            ("vigil.reason", reason),
            ("vigil.attempts", attempts.as_str()),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value),
            })
        });
        let r = BaseRecord::<str, [u8]>::to(&self.settings.dlq_topic)
            .key(subscriber)
            .payload(records)
            .headers(headers);
        if let Err(e) = crate::kafka::send(&self.producer, r) {
            tracing::error!(error = %e, "cannot write to the delivery DLQ");
        }
    }
}
