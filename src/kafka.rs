//! Kafka plumbing: client configuration (with pass-through properties and secrets from the
//! environment), topic administration, the embedded mock cluster, DLQ records and the restore of
//! window state from the compacted `vigil.state` changelog.
//!
//! The pipeline loop that uses these lives in `pipeline.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::{ClientConfig, ClientContext};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaSettings;
use crate::engine::RegionState;
use crate::report::RejectError;

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("restoring state partition {partition}: {reason}")]
    Restore { partition: i32, reason: String },
}

/// Common client properties: brokers, the pass-through `[kafka.client]` table, and
/// `VIGIL_KAFKA_SASL_PASSWORD` from the environment when set (never from files or logs).
pub fn client_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in &settings.client {
        c.set(k, v);
    }
    if let Ok(password) = std::env::var("VIGIL_KAFKA_SASL_PASSWORD") {
        c.set("sasl.password", password);
    }
    c
}

/// Client properties with secrets masked, for logs.
pub fn describe(config: &ClientConfig) -> BTreeMap<String, String> {
    config
        .config_map()
        .iter()
        .map(|(k, v)| {
            let secret = k.contains("password") || k.contains("secret") || k.contains("key");
            (
                k.to_string(),
                if secret {
                    "***".to_string()
                } else {
                    v.to_string()
                },
            )
        })
        .collect()
}

/// Creates the pipeline's topics when missing: input, alerts and DLQ with the configured
/// partitions; the state changelog with the input's partition count and `cleanup.policy=compact`.
pub async fn ensure_topics(settings: &KafkaSettings, brokers: &str) -> Result<(), KafkaSetupError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings, brokers).create()?;
    let topic = |name| {
        NewTopic::new(
            name,
            settings.partitions,
            TopicReplication::Fixed(settings.replication),
        )
    };
    let topics = [
        topic(&settings.input_topic),
        topic(&settings.alerts_topic),
        topic(&settings.dlq_topic),
        // Same partition count as the input: state partition p holds input partition p's regions.
        topic(&settings.state_topic).set("cleanup.policy", "compact"),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaSetupError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// DLQ headers: the reason code, field, detail (no input values), and where the record came from.
pub fn dlq_headers(
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

/// The restore consumer reads to the end of each partition on purpose: its end-of-partition
/// events are progress, not errors worth logging.
struct EofIsNotAnError;

impl ClientContext for EofIsNotAnError {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_)) {
            tracing::error!(%error, reason, "kafka restore consumer");
        }
    }
}

impl ConsumerContext for EofIsNotAnError {}

/// State restored for some partitions of the changelog.
#[derive(Debug, Default)]
pub struct Restored {
    /// Latest state per region, with the partition it belongs to.
    pub regions: Vec<(String, i32, RegionState)>,
    pub records: u64,
    pub elapsed: Duration,
}

/// Reads the state changelog partitions `partitions` from the beginning up to their end
/// (read_committed: only committed transactions) and keeps the latest state per region.
pub fn restore(
    settings: &KafkaSettings,
    brokers: &str,
    partitions: &[i32],
) -> Result<Restored, KafkaSetupError> {
    let started = Instant::now();
    let mut out = Restored::default();
    if partitions.is_empty() {
        return Ok(out);
    }
    let consumer: BaseConsumer<EofIsNotAnError> = client_config(settings, brokers)
        .set("group.id", format!("{}-restore", settings.group_id))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create_with_context(EofIsNotAnError)?;
    let mut tpl = TopicPartitionList::new();
    let mut pending: Vec<i32> = Vec::new();
    for &p in partitions {
        let (low, high) =
            consumer.fetch_watermarks(&settings.state_topic, p, Duration::from_secs(30))?;
        if high > low {
            tpl.add_partition_offset(&settings.state_topic, p, Offset::Beginning)?;
            pending.push(p);
        }
    }
    if pending.is_empty() {
        out.elapsed = started.elapsed();
        return Ok(out);
    }
    consumer.assign(&tpl)?;
    let mut latest: BTreeMap<String, (i32, Option<Vec<u8>>)> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(settings.restore_timeout_secs);
    while !pending.is_empty() {
        if Instant::now() > deadline {
            return Err(KafkaSetupError::Restore {
                partition: pending[0],
                reason: format!(
                    "not finished within kafka.restore_timeout_secs = {}",
                    settings.restore_timeout_secs
                ),
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => pending.retain(|&x| x != p),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(m)) => {
                out.records += 1;
                if let Some(key) = m.key() {
                    let region = String::from_utf8_lossy(key).into_owned();
                    latest.insert(region, (m.partition(), m.payload().map(<[u8]>::to_vec)));
                }
            }
        }
    }
    for (region, (partition, payload)) in latest {
        // A null payload is a tombstone: the region's state was dropped.
        let Some(bytes) = payload else { continue };
        match serde_json::from_slice::<RegionState>(&bytes) {
            Ok(state) => out.regions.push((region, partition, state)),
            Err(e) => {
                return Err(KafkaSetupError::Restore {
                    partition,
                    reason: format!("undecodable state for a region: {e}"),
                });
            }
        }
    }
    out.elapsed = started.elapsed();
    Ok(out)
}
