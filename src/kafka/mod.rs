//! Kafka plumbing: client configuration (with pass-through properties and secrets from the
//! environment), topic administration, the embedded mock cluster, DLQ records and the restore of
//! window state from the compacted `vigil.state` changelog.
//!
//! The pipeline loop that uses these lives in `pipeline.rs`.

pub mod pipeline;
pub mod replay;

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
use crate::engine::RegionMeta;
use crate::report::RejectError;
use crate::window::{Pane, SeenRecord, Signal};

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("restoring state partition {partition}: {reason}")]
    Restore { partition: i32, reason: String },
}

/// Common client properties: brokers, the pass-through `[kafka.client]` table (`_` read as
/// `.` in its keys), and
/// `VIGIL_KAFKA_SASL_PASSWORD` from the environment when set (never from files or logs).
pub fn client_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in &settings.client {
        // librdkafka property names use dots, which environment variables cannot carry:
        // VIGIL__KAFKA__CLIENT__SECURITY_PROTOCOL arrives as `security_protocol`.
        c.set(k.replace('_', "."), v);
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
    let mut topics = vec![
        topic(&settings.input_topic),
        topic(&settings.alerts_topic),
        topic(&settings.dlq_topic),
        // Same partition count as the input: state partition p holds input partition p's regions.
        topic(&settings.state_topic).set("cleanup.policy", "compact"),
    ];
    if settings.publish_tagged {
        topics.push(topic(&settings.tagged_topic));
    }
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

/// Changelog keys: one record per region meta, pane and id, so that a batch writes only what it
/// changed and compaction keeps the latest of each.
pub mod state_key {
    use crate::window::Signal;

    const SEP: char = '\u{1f}';

    pub fn meta(region: &str) -> String {
        format!("{region}{SEP}m")
    }

    pub fn pane(region: &str, signal: Signal, start: i64) -> String {
        format!("{region}{SEP}p{SEP}{}{SEP}{start}", String::from(signal))
    }

    pub fn seen(region: &str, id: &str) -> String {
        format!("{region}{SEP}s{SEP}{id}")
    }

    /// A parsed key.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Key {
        Meta(String),
        Pane(String, Signal, i64),
        Seen(String, String),
    }

    pub fn parse(key: &str) -> Option<Key> {
        let mut parts = key.splitn(3, SEP);
        let region = parts.next()?.to_string();
        match (parts.next()?, parts.next()) {
            ("m", None) => Some(Key::Meta(region)),
            ("p", Some(rest)) => {
                let (signal, start) = rest.split_once(SEP)?;
                Some(Key::Pane(
                    region,
                    Signal::try_from(signal.to_string()).ok()?,
                    start.parse().ok()?,
                ))
            }
            ("s", Some(id)) => Some(Key::Seen(region, id.to_string())),
            _ => None,
        }
    }
}

/// One region rebuilt from the changelog.
#[derive(Debug)]
pub struct RestoredRegion {
    pub region: String,
    pub partition: i32,
    pub meta: RegionMeta,
    pub panes: Vec<(Signal, i64, Pane)>,
    pub seen: Vec<(String, SeenRecord)>,
}

/// State restored for some partitions of the changelog.
#[derive(Debug, Default)]
pub struct Restored {
    pub regions: Vec<RestoredRegion>,
    pub records: u64,
    pub elapsed: Duration,
}

/// Reads the state changelog partitions `partitions` from the beginning up to their end
/// (read_committed: only committed transactions), keeps the latest record per key (a null value
/// deletes), and rebuilds each region.
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
    let mut latest: BTreeMap<String, (i32, Vec<u8>)> = BTreeMap::new();
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
                let Some(key) = m.key() else { continue };
                let key = String::from_utf8_lossy(key).into_owned();
                match m.payload() {
                    Some(v) => latest.insert(key, (m.partition(), v.to_vec())),
                    None => latest.remove(&key),
                };
            }
        }
    }
    let bad = |partition: i32, what: &str, e: serde_json::Error| KafkaSetupError::Restore {
        partition,
        reason: format!("undecodable {what} record: {e}"),
    };
    let mut regions: BTreeMap<String, RestoredRegion> = BTreeMap::new();
    fn entry<'a>(
        regions: &'a mut BTreeMap<String, RestoredRegion>,
        region: &str,
        partition: i32,
    ) -> &'a mut RestoredRegion {
        regions
            .entry(region.to_string())
            .or_insert_with(|| RestoredRegion {
                region: region.to_string(),
                partition,
                meta: RegionMeta::default(),
                panes: Vec::new(),
                seen: Vec::new(),
            })
    }
    for (key, (partition, value)) in latest {
        match state_key::parse(&key) {
            Some(state_key::Key::Meta(region)) => {
                entry(&mut regions, &region, partition).meta =
                    serde_json::from_slice(&value).map_err(|e| bad(partition, "meta", e))?;
            }
            Some(state_key::Key::Pane(region, signal, start)) => {
                let pane = serde_json::from_slice(&value).map_err(|e| bad(partition, "pane", e))?;
                entry(&mut regions, &region, partition)
                    .panes
                    .push((signal, start, pane));
            }
            Some(state_key::Key::Seen(region, id)) => {
                let t = serde_json::from_slice(&value).map_err(|e| bad(partition, "id", e))?;
                entry(&mut regions, &region, partition).seen.push((id, t));
            }
            None => tracing::warn!(partition, "ignoring an unknown state key"),
        }
    }
    out.regions = regions.into_values().collect();
    out.elapsed = started.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_round_trip() {
        use state_key::*;
        assert_eq!(parse(&meta("NG-BO")), Some(Key::Meta("NG-BO".into())));
        assert_eq!(
            parse(&pane("Nigeria/Borno", Signal::Risk(11), -3600)),
            Some(Key::Pane("Nigeria/Borno".into(), Signal::Risk(11), -3600))
        );
        assert_eq!(
            parse(&seen("R", "id\u{1f}odd")),
            Some(Key::Seen("R".into(), "id\u{1f}odd".into()))
        );
        assert_eq!(parse("junk"), None);
    }

    #[test]
    fn client_properties_pass_through_and_secrets_are_masked() {
        let mut settings = KafkaSettings::default();
        settings
            .client
            .insert("security_protocol".into(), "SASL_SSL".into());
        settings
            .client
            .insert("sasl.username".into(), "desk".into());
        settings
            .client
            .insert("ssl.key.password".into(), "hunter2".into());
        let config = client_config(&settings, "127.0.0.1:9092");
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        let shown = describe(&config);
        assert_eq!(shown["sasl.username"], "desk");
        assert_eq!(shown["ssl.key.password"], "***");
        assert!(!format!("{shown:?}").contains("hunter2"));
    }

    #[test]
    fn librdkafka_is_built_with_tls_and_scram() {
        // Client creation validates the properties: without TLS support compiled in it fails
        // with "Unsupported value" for these.
        let mut settings = KafkaSettings::default();
        for (k, v) in [
            ("security_protocol", "SASL_SSL"),
            ("sasl_mechanism", "SCRAM-SHA-512"),
            ("sasl_username", "desk"),
            ("sasl_password", "secret"),
        ] {
            settings.client.insert(k.into(), v.into());
        }
        let producer: Result<rdkafka::producer::BaseProducer, _> =
            client_config(&settings, "127.0.0.1:1").create();
        assert!(producer.is_ok(), "{:?}", producer.err());
    }
}
