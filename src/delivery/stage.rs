//! The delivery stage (`vigil deliver`): consumes `vigil.alerts` (read_committed) and the retry
//! topic in a consumer group of its own, so a slow or dead receiver never slows the pipeline,
//! and attempts every delivery a record's recipients are due.
//!
//! Progress lives in Kafka. A delivery that must be tried again is written to the retry topic
//! (with its attempt number, first attempt and due time); one that is refused, or still failing
//! after `delivery.max_age_secs`, to the delivery DLQ. Input offsets are committed only past
//! records whose every delivery is finished, and only after the retry and DLQ records written so
//! far are acknowledged by the broker (`schedule.rs`): a kill at any moment loses nothing, and a
//! delivery repeated after it carries the same `Vigil-Delivery-Id`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::retry::{DeliverySettings, Verdict, backoff, expired};
use super::schedule::{Limits, Schedule, Source, Ticket};
use super::subscriber::Subscriber;
use super::webhook::{attempt, body, client, redact_url};
use crate::alert::Alert;
use crate::config::Loaded;
use crate::kafka::{KafkaSetupError, client_config, group_member_config};

/// Why the delivery stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("subscriber {subscriber}: secret_env {env} is not set")]
    MissingSecret { subscriber: String, env: String },
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A delivery as the retry topic keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RetryRecord {
    subscriber: String,
    /// The attempt this record is for (2 for the first retry).
    attempt: u32,
    first_attempt_ms: i64,
    not_before_ms: i64,
    /// The alert record as published on the alerts topic.
    record: String,
}

/// What an attempt needs.
#[derive(Debug, Clone)]
struct Pending {
    record: Arc<Vec<u8>>,
    attempt: u32,
    first_attempt_ms: Option<i64>,
}

/// Counts of a run, for its summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliverStats {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Runs the stage until `stop` is set.
///
/// Errors: Kafka set-up or client errors, a subscriber's `secret_env` not set.
pub async fn run(
    loaded: &Loaded,
    brokers: &str,
    stop: Arc<AtomicBool>,
) -> Result<DeliverStats, DeliverError> {
    let k = &loaded.settings.kafka;
    let d = &loaded.settings.delivery;
    // Only posting kinds are delivered by this stage so far.
    let subscribers: Vec<Subscriber> = loaded
        .subscribers
        .iter()
        .filter(|s| s.kind.posts())
        .cloned()
        .collect();
    let keys = secrets(&subscribers)?;
    crate::kafka::ensure_delivery_topics(k, d, brokers).await?;
    // Static membership, as the pipeline's: a restarted deliverer takes its partitions back at once.
    let consumer: StreamConsumer = group_member_config(k, brokers, &d.group_id).create()?;
    consumer.subscribe(&[&k.alerts_topic, &d.retry_topic])?;
    let producer: BaseProducer = client_config(k, brokers).set("linger.ms", "5").create()?;
    let http = client(Duration::from_millis(d.request_timeout_ms))?;
    for s in &subscribers {
        tracing::info!(subscriber = %s.name, url = %redact_url(s.url.as_deref().unwrap_or("")), "delivering");
    }
    // One queue per posting subscriber, by its index in `subscribers`.
    let queues = subscribers.len();
    let mut stage = Stage {
        subscribers,
        keys,
        settings: d.clone(),
        schedule: Schedule::new(
            queues,
            Limits {
                max_in_flight: d.max_in_flight.max(1),
                max_queued: d.max_queued.max(1),
            },
        ),
        sources: Vec::new(),
        producer,
        stats: DeliverStats::default(),
        // Jitter needs spread, not secrecy: seeded from the clock, so instances differ.
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(
            Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64
        ),
    };
    let mut attempts: JoinSet<(Ticket, usize, Pending, Verdict)> = JoinSet::new();
    let mut commit = tokio::time::interval(Duration::from_millis(d.commit_interval_ms.max(10)));
    while !stop.load(Ordering::Relaxed) {
        let now = now_ms();
        while let Some((ticket, (subscriber, pending))) = stage.schedule.next_ready(now as u64) {
            let sub = stage.subscribers[subscriber].clone();
            let key = stage.keys[subscriber].clone();
            let http = http.clone();
            attempts.spawn(async move {
                let verdict = match body(&sub, &pending.record) {
                    Ok(b) => {
                        attempt(&http, &sub, key.as_deref(), &pending.record, b, Utc::now()).await
                    }
                    Err(e) => Verdict::Refused {
                        reason: e.to_string(),
                    },
                };
                (ticket, subscriber, pending, verdict)
            });
        }
        let wake = stage
            .schedule
            .next_due()
            .map(|due| Duration::from_millis(due.saturating_sub(now as u64)))
            .unwrap_or(Duration::from_millis(200))
            .min(Duration::from_millis(200));
        tokio::select! {
            m = consumer.recv() => {
                let m = m?;
                let source = stage.source(m.topic(), m.partition(), m.offset());
                stage.schedule.consumed(source);
                let payload = m.payload().unwrap_or_default();
                if m.topic() == d.retry_topic {
                    stage.retry_record(source, payload);
                } else {
                    stage.alert_record(source, payload);
                }
            }
            Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                if let Ok((ticket, subscriber, pending, verdict)) = done {
                    stage.settle(subscriber, pending, verdict);
                    stage.schedule.finish(ticket);
                }
            }
            _ = commit.tick() => stage.commit(&consumer)?,
            _ = tokio::time::sleep(wake) => {}
        }
    }
    stage.commit(&consumer)?;
    Ok(stage.stats)
}

/// Each subscriber's signing key, from the environment variable its `secret_env` names.
fn secrets(subscribers: &[Subscriber]) -> Result<Vec<Option<Vec<u8>>>, DeliverError> {
    subscribers
        .iter()
        .map(|s| match &s.secret_env {
            None => Ok(None),
            Some(env) => std::env::var(env)
                .map(|v| Some(v.into_bytes()))
                .map_err(|_| DeliverError::MissingSecret {
                    subscriber: s.name.clone(),
                    env: env.clone(),
                }),
        })
        .collect()
}

struct Stage {
    subscribers: Vec<Subscriber>,
    keys: Vec<Option<Vec<u8>>>,
    settings: DeliverySettings,
    schedule: Schedule<(usize, Pending)>,
    /// (topic, partition) of each source id the schedule uses.
    sources: Vec<(String, i32)>,
    producer: BaseProducer,
    stats: DeliverStats,
    rng: rand_chacha::ChaCha8Rng,
}

impl Stage {
    /// The schedule's source of a record: a dense id for (topic, partition), and the offset.
    fn source(&mut self, topic: &str, partition: i32, offset: i64) -> Source {
        let id = match self
            .sources
            .iter()
            .position(|(t, p)| t == topic && *p == partition)
        {
            Some(i) => i,
            None => {
                self.sources.push((topic.to_string(), partition));
                self.sources.len() - 1
            }
        };
        (id as i32, offset)
    }

    /// A new alert record: one delivery per recipient, due now.
    fn alert_record(&mut self, source: Source, payload: &[u8]) {
        let Ok(alert) = serde_json::from_slice::<Alert>(payload) else {
            tracing::warn!("an alerts-topic record is not an alert record; skipped");
            return;
        };
        let record = Arc::new(payload.to_vec());
        for i in 0..self.subscribers.len() {
            if !self.subscribers[i].admits(&alert) {
                continue;
            }
            let pending = Pending {
                record: Arc::clone(&record),
                attempt: 1,
                first_attempt_ms: None,
            };
            self.offer(i, source, 0, pending);
        }
    }

    /// A delivery due again: to its subscriber's queue, due at its time.
    fn retry_record(&mut self, source: Source, payload: &[u8]) {
        let Ok(r) = serde_json::from_slice::<RetryRecord>(payload) else {
            tracing::warn!("a retry-topic record is not a delivery; skipped");
            return;
        };
        let Some(i) = self.subscribers.iter().position(|s| s.name == r.subscriber) else {
            self.dead(
                r.record.as_bytes(),
                &r.subscriber,
                r.attempt,
                "no such subscriber any more",
            );
            return;
        };
        let pending = Pending {
            record: Arc::new(r.record.into_bytes()),
            attempt: r.attempt,
            first_attempt_ms: Some(r.first_attempt_ms),
        };
        self.offer(i, source, r.not_before_ms.max(0) as u64, pending);
    }

    /// Queues a delivery; one its subscriber's full queue hands back goes to the retry topic.
    fn offer(&mut self, subscriber: usize, source: Source, due: u64, pending: Pending) {
        if let Some((_, p)) = self
            .schedule
            .offer(subscriber, source, due, (subscriber, pending))
        {
            let first = p.first_attempt_ms.unwrap_or_else(now_ms);
            self.schedule_retry(subscriber, &p, p.attempt, first, now_ms().max(due as i64));
        }
    }

    /// What an attempt's verdict leaves to do.
    fn settle(&mut self, subscriber: usize, p: Pending, verdict: Verdict) {
        let name = self.subscribers[subscriber].name.clone();
        let first = p.first_attempt_ms.unwrap_or_else(now_ms);
        match verdict {
            Verdict::Delivered => {
                self.stats.delivered += 1;
                tracing::debug!(subscriber = %name, attempt = p.attempt, "delivered");
            }
            Verdict::Refused { reason } => self.dead(&p.record, &name, p.attempt, &reason),
            Verdict::Retry { after, reason } => {
                let first_at = DateTime::from_timestamp_millis(first).unwrap_or_else(Utc::now);
                if expired(first_at, Utc::now(), &self.settings) {
                    let why = format!("{reason}; still failing after delivery.max_age_secs");
                    self.dead(&p.record, &name, p.attempt, &why);
                } else {
                    let wait = backoff(p.attempt, after, &self.settings, &mut self.rng);
                    tracing::debug!(subscriber = %name, attempt = p.attempt, %reason, wait_ms = wait.as_millis() as u64, "retry");
                    let due = now_ms() + wait.as_millis() as i64;
                    self.schedule_retry(subscriber, &p, p.attempt + 1, first, due);
                    self.stats.retried += 1;
                }
            }
        }
    }

    fn schedule_retry(
        &mut self,
        subscriber: usize,
        p: &Pending,
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
            record: String::from_utf8_lossy(&p.record).into_owned(),
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

    fn dead(&mut self, record: &[u8], subscriber: &str, attempts: u32, reason: &str) {
        self.stats.dead += 1;
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
            .payload(record)
            .headers(headers);
        if let Err(e) = crate::kafka::send(&self.producer, r) {
            tracing::error!(error = %e, "cannot write to the delivery DLQ");
        }
    }

    /// Makes the retry and DLQ records written so far durable, then commits the input offsets
    /// the schedule allows.
    fn commit(&mut self, consumer: &StreamConsumer) -> Result<(), DeliverError> {
        self.producer.flush(Duration::from_secs(30))?;
        let offsets: BTreeMap<i32, i64> = self.schedule.committable();
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (id, offset) in offsets {
            let (topic, partition) = &self.sources[id as usize];
            tpl.add_partition_offset(topic, *partition, Offset::Offset(offset))?;
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => Ok(()),
            // Nothing new to commit.
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
