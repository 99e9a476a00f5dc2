//! Where a committed batch goes: the core's [`BatchOutcome`] handed to each sink inside the
//! batch's transaction. Alerts to `vigil.alerts` (keyed by alert id), tag detail to
//! `vigil.tagged` (keyed by region, when `kafka.publish_tagged`), rejected records to the DLQ
//! with their reason in headers, and the changed regions' state to the compacted changelog.
//! (Delivery to subscribers reads the committed alerts topic in a group of its own.)

use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::BaseRecord;

use super::transaction::Transaction;
use crate::config::KafkaSettings;
use crate::engine::{BatchOutcome, Input, Outcome};
use crate::report::RejectError;
use crate::state::changelog;

/// A batch as the sinks see it: the consumed messages, the core's inputs (one per message, in
/// order) and what the core made of them.
pub(crate) struct Batch<'a> {
    pub(crate) messages: &'a [OwnedMessage],
    pub(crate) inputs: &'a [Input<'a>],
    pub(crate) outcome: &'a BatchOutcome,
}

/// Why a sink could not write its part of a batch (the batch then aborts).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("encoding a record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One destination of a batch's outcome.
pub(crate) trait Sink {
    /// Sends this sink's records for `batch` within `tx`.
    fn write(&self, batch: &Batch<'_>, tx: &Transaction<'_>) -> Result<(), SinkError>;
}

/// The sinks `kafka` settings ask for, in the order they write.
pub(crate) fn sinks(k: &KafkaSettings) -> Vec<Box<dyn Sink + Send>> {
    let mut out: Vec<Box<dyn Sink + Send>> = vec![Box::new(AlertsTopic {
        topic: k.alerts_topic.clone(),
    })];
    if k.publish_tagged {
        out.push(Box::new(TaggedTopic {
            topic: k.tagged_topic.clone(),
        }));
    }
    out.push(Box::new(DeadLetters {
        topic: k.dlq_topic.clone(),
        max_payload_bytes: k.dlq_max_payload_bytes,
    }));
    out.push(Box::new(Changelog {
        topic: k.state_topic.clone(),
    }));
    out
}

/// Alert records, as JSON, keyed by alert id (one episode's records stay in order).
struct AlertsTopic {
    topic: String,
}

impl Sink for AlertsTopic {
    fn write(&self, batch: &Batch<'_>, tx: &Transaction<'_>) -> Result<(), SinkError> {
        for alert in batch.outcome.alerts() {
            let json = serde_json::to_vec(alert)?;
            tx.send(
                BaseRecord::to(&self.topic)
                    .key(alert.alert_id.as_str())
                    .payload(json.as_slice()),
            )?;
        }
        Ok(())
    }
}

/// A `vigil.tagged` record: `vigil tag`'s output for the report, with its `region` and
/// `event_time` (RFC 3339).
#[derive(serde::Serialize)]
struct TaggedRecord<'a> {
    region: &'a str,
    event_time: String,
    #[serde(flatten)]
    report: &'a crate::tag::TaggedReport,
}

/// Each accepted report's tag detail, keyed by region.
struct TaggedTopic {
    topic: String,
}

impl Sink for TaggedTopic {
    fn write(&self, batch: &Batch<'_>, tx: &Transaction<'_>) -> Result<(), SinkError> {
        for entry in &batch.outcome.entries {
            if let Outcome::Accepted {
                region,
                event_time,
                detail: Some(detail),
                ..
            } = &entry.outcome
            {
                // The report's region and event time beside its tags: the desk counts the
                // region's risk factors by day of event time (desk/store/picture.rs).
                let json = serde_json::to_vec(&TaggedRecord {
                    region,
                    event_time: chrono::DateTime::from_timestamp(*event_time, 0)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default(),
                    report: detail,
                })?;
                tx.send(
                    BaseRecord::to(&self.topic)
                        .key(region.as_ref())
                        .payload(json.as_slice()),
                )?;
            }
        }
        Ok(())
    }
}

/// Rejected records, as received (up to `kafka.dlq_max_payload_bytes`), with the reason and
/// where they came from in headers.
struct DeadLetters {
    topic: String,
    max_payload_bytes: usize,
}

impl Sink for DeadLetters {
    fn write(&self, batch: &Batch<'_>, tx: &Transaction<'_>) -> Result<(), SinkError> {
        for entry in &batch.outcome.entries {
            let Outcome::Rejected(e) = &entry.outcome else {
                continue;
            };
            // A released report's record is the one that released it.
            let m = &batch.messages[entry.input];
            let bytes = entry.bytes(batch.inputs);
            let kept = bytes.len().min(self.max_payload_bytes);
            let headers = dlq_headers(
                e,
                (m.topic(), m.partition(), m.offset()),
                m.timestamp().to_millis(),
                bytes.len(),
                kept < bytes.len(),
            );
            let key = m.key().map(String::from_utf8_lossy);
            let mut record = BaseRecord::to(&self.topic)
                .payload(&bytes[..kept])
                .headers(headers);
            if let Some(key) = key.as_deref() {
                record = record.key(key);
            }
            tx.send(record)?;
        }
        Ok(())
    }
}

/// The changed regions' state, in the partition of each region's input.
struct Changelog {
    topic: String,
}

impl Sink for Changelog {
    fn write(&self, batch: &Batch<'_>, tx: &Transaction<'_>) -> Result<(), SinkError> {
        for (input, changes) in &batch.outcome.changes {
            let partition = batch.messages[*input].partition();
            for (key, value) in changelog::encode(changes)? {
                let mut record = BaseRecord::<str, [u8]>::to(&self.topic)
                    .key(&key)
                    .partition(partition);
                if let Some(v) = &value {
                    record = record.payload(v.as_slice());
                }
                tx.send(record)?;
            }
        }
        Ok(())
    }
}

/// DLQ headers: the reason code, field, detail (no input values), and where the record came from.
pub(crate) fn dlq_headers(
    error: &RejectError,
    source: (&str, i32, i64),
    timestamp: Option<i64>,
    original_len: usize,
    truncated: bool,
) -> OwnedHeaders {
    let (topic, partition, offset) = source;
    let partition = partition.to_string();
    let offset = offset.to_string();
    let timestamp = timestamp.map(|t| t.to_string()).unwrap_or_default();
    let original_len = original_len.to_string();
    let truncated = if truncated { "true" } else { "false" };
    [
        ("vigil.reason", error.reason.code()),
        ("vigil.field", error.field.as_str()),
        ("vigil.detail", error.detail.as_str()),
        ("vigil.source.topic", topic),
        ("vigil.source.partition", partition.as_str()),
        ("vigil.source.offset", offset.as_str()),
        ("vigil.source.timestamp", timestamp.as_str()),
        ("vigil.original_bytes", original_len.as_str()),
        ("vigil.truncated", truncated),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(value),
        })
    })
}
