//! The source side of Kafka: producing a file's reports (or the demo scenario) into the input
//! topic, keyed by region so that one partition carries all of a region's reports in order.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde::Deserialize;

use super::client_config;
use super::transaction::send;
use crate::config::KafkaSettings;

/// How fast records go out.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as the producer takes them.
    Unlimited,
    /// At most this many records per second.
    Rate(f64),
    /// Event time (`reported_at`, else `event_time`) replayed at `speed` event seconds per
    /// second, starting from `start`.
    EventTime { start: i64, speed: f64 },
}

#[derive(Deserialize)]
struct Routing<'a> {
    #[serde(borrow, default)]
    region: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    reported_at: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    event_time: Option<std::borrow::Cow<'a, str>>,
}

/// The partitioning key of a record: its region, if it has one (malformed records go unkeyed,
/// and the pipeline sends them to the DLQ).
fn routing(bytes: &[u8]) -> (Option<String>, Option<i64>) {
    match serde_json::from_slice::<Routing<'_>>(bytes) {
        Ok(r) => {
            let t = r
                .reported_at
                .or(r.event_time)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.timestamp());
            (r.region.map(|r| r.into_owned()), t)
        }
        Err(_) => (None, None),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
}

/// Produces every record to the input topic and flushes. `on_sent` is called per record (for a
/// progress bar). Returns the number of records produced.
pub async fn replay(
    settings: &KafkaSettings,
    brokers: &str,
    records: impl Iterator<Item = Vec<u8>>,
    pace: Pace,
    mut on_sent: impl FnMut(usize),
) -> Result<u64, ReplayError> {
    let producer: BaseProducer = client_config(settings, brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .create()?;
    let started = tokio::time::Instant::now();
    let mut sent = 0u64;
    for bytes in records {
        let (key, time) = routing(&bytes);
        match pace {
            Pace::Unlimited => {}
            Pace::Rate(rate) if rate > 0.0 => {
                tokio::time::sleep_until(started + Duration::from_secs_f64(sent as f64 / rate))
                    .await;
            }
            Pace::Rate(_) => {}
            Pace::EventTime { start, speed } => {
                if let (Some(t), true) = (time, speed > 0.0) {
                    let due = Duration::from_secs_f64((t - start).max(0) as f64 / speed);
                    tokio::time::sleep_until(started + due).await;
                }
            }
        }
        let mut record = BaseRecord::<str, [u8]>::to(&settings.input_topic).payload(&bytes);
        if let Some(k) = &key {
            record = record.key(k.as_str());
        }
        // Under back-pressure this waits in 10 ms polls on the runtime's thread: a producer
        // tool, paced by its own sleeps, has nothing else to run meanwhile.
        send(&producer, record)?;
        sent += 1;
        on_sent(bytes.len());
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(sent)
}
