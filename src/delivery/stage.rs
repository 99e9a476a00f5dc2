//! The delivery stage: consumes `vigil.alerts` (read_committed) and the retry topic in a
//! consumer group of its own, so a slow or dead receiver never slows the pipeline, and sends
//! every notification a record's subscribers are due (`webhook`, `alertmanager`, `email`).
//!
//! A record goes, for each subscriber whose filters admit it, either straight to that
//! subscriber's queue (`webhook`) or into one of its groups (`group.rs`), which come due as
//! notifications. When a delivery is about to go out, silences (`silence.rs`) and inhibition
//! (`inhibit.rs`) take out the records they hold back; those are counted, not sent.
//!
//! Progress lives in Kafka. A delivery that must be tried again is written to the retry topic
//! (with its attempt number, first attempt and due time); one that is refused, or still failing
//! after `delivery.max_age_secs`, to the delivery DLQ. Input offsets are committed only past
//! records whose every delivery is finished, and only after the retry and DLQ records written so
//! far are acknowledged by the broker (`schedule.rs`): a kill at any moment loses nothing, and a
//! delivery repeated after it carries the same `Vigil-Delivery-Id`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::email::{self, EmailSetupError};
use super::group::{Grouper, Member, Notification, group_key};
use super::inhibit::Inhibitor;
use super::retry::{DeliverySettings, Verdict, backoff, expired, retry_due};
use super::schedule::{Limits, Schedule, Source, Ticket};
use super::signature::notification_id;
use super::silence::Silences;
use super::subscriber::{Subscriber, SubscriberKind};
use super::webhook::{attempt, client, redact_url};
use crate::alert::Alert;
use crate::config::Loaded;
use crate::kafka::follow::Follower;
use crate::kafka::{KafkaSetupError, client_config, group_member_config};
use crate::output::alertmanager;
use crate::telemetry::delivery::{DeliveryMetrics, DeliveryOutcome};

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
    #[error(transparent)]
    Email(#[from] EmailSetupError),
}

/// A delivery as the retry topic keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RetryRecord {
    subscriber: String,
    /// The attempt this record is for (2 for the first retry).
    attempt: u32,
    first_attempt_ms: i64,
    not_before_ms: i64,
    /// When the oldest record carried was committed (for the latency metric).
    committed_ms: i64,
    /// The group a notification is for (`None`: a single record).
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    repeat_of: Option<u64>,
    /// The alert records carried, as published on the alerts topic.
    records: Vec<String>,
}

/// What an attempt needs.
#[derive(Debug, Clone)]
struct Delivery {
    members: Vec<Member>,
    group: Option<String>,
    repeat_of: Option<u64>,
    attempt: u32,
    first_attempt_ms: Option<i64>,
    committed_ms: i64,
}

/// Counts of a run, for its summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliverStats {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
    pub silenced: u64,
    pub inhibited: u64,
}

/// How long the stage waits after a consumer error before reading again.
const CONSUMER_ERROR_PAUSE: Duration = Duration::from_millis(100);

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Whether a subscriber is served by this stage (the `cap_feed` kind is served over HTTP).
pub fn delivered_here(s: &Subscriber) -> bool {
    s.kind != SubscriberKind::CapFeed
}

/// Partitions a rebalance took from this member, for the stage to forget.
struct RevokeRecorder {
    revoked: Arc<Mutex<Vec<(String, i32)>>>,
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

/// Runs the stage until `stop` is set, with the silences `silences` holds (kept current by
/// the caller, `service.rs`). The caller has made the topics (`kafka::ensure_delivery_topics`).
///
/// Errors: Kafka set-up or client errors, a subscriber's `secret_env` not set, e-mail
/// subscribers without a usable `[delivery.smtp]`.
pub async fn run(
    loaded: &Loaded,
    brokers: &str,
    stop: Arc<AtomicBool>,
    silences: Arc<RwLock<Silences>>,
    metrics: Option<DeliveryMetrics>,
) -> Result<DeliverStats, DeliverError> {
    let k = &loaded.settings.kafka;
    let d = &loaded.settings.delivery;
    let subscribers: Vec<Subscriber> = loaded
        .subscribers
        .iter()
        .filter(|s| delivered_here(s))
        .cloned()
        .collect();
    let keys = secrets(&subscribers)?;
    let smtp = if subscribers.iter().any(|s| s.kind == SubscriberKind::Email) {
        Some(email::transport(&d.smtp)?)
    } else {
        None
    };
    let revoked = Arc::new(Mutex::new(Vec::new()));
    // Static membership, as the pipeline's: a restarted deliverer takes its partitions back at once.
    let consumer: StreamConsumer<RevokeRecorder> = group_member_config(k, brokers, &d.group_id)
        .create_with_context(RevokeRecorder {
            revoked: Arc::clone(&revoked),
        })?;
    let producer: BaseProducer = client_config(k, brokers).set("linger.ms", "5").create()?;
    let http = client(Duration::from_millis(d.request_timeout_ms))?;
    for s in &subscribers {
        tracing::info!(subscriber = %s.name, kind = ?s.kind, url = %redact_url(s.url.as_deref().unwrap_or("")), "delivering");
    }
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
        grouper: Grouper::default(),
        inhibitor: Inhibitor::default(),
        silences,
        sources: Vec::new(),
        producer,
        metrics,
        stats: DeliverStats::default(),
        // Jitter needs spread, not secrecy: seeded from the clock, so instances differ.
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(
            Utc::now().timestamp_nanos_opt().unwrap_or(0) as u64
        ),
        retries_paused: false,
    };
    // What was delivered before this start (the alerts topic up to the group's committed
    // offsets): which episodes are open, for inhibition and repeats. Records past the commit are
    // consumed as new.
    let warm = Follower::open(k, brokers, &k.alerts_topic)?;
    let mut tpl = TopicPartitionList::new();
    for &p in warm.partitions() {
        tpl.add_partition(&k.alerts_topic, p);
    }
    let ends: BTreeMap<i32, i64> = consumer
        .committed_offsets(tpl, Duration::from_secs(30))?
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect();
    let now = now_ms() as u64;
    let mut seen = 0;
    warm.catch_up_to(&ends, |r| {
        if let Some(bytes) = r.value
            && ends.get(&r.partition).is_some_and(|&end| r.offset < end)
        {
            stage.remember(bytes, now);
            seen += 1;
        }
    })
    .await?;
    drop(warm);
    tracing::info!(
        records = seen,
        "alerts delivered before this start read: open episodes known"
    );
    consumer.subscribe(&[&k.alerts_topic, &d.retry_topic])?;
    let mut attempts: JoinSet<(Ticket, usize, Delivery, Verdict)> = JoinSet::new();
    let mut commit = tokio::time::interval(Duration::from_millis(d.commit_interval_ms.max(10)));
    while !stop.load(Ordering::Relaxed) {
        stage.forget_revoked(&revoked);
        let now = now_ms();
        for n in stage.grouper.due(now as u64) {
            stage.notify(n);
        }
        while let Some((ticket, (subscriber, delivery))) = stage.schedule.next_ready(now as u64) {
            let Some(delivery) = stage.unmuted(subscriber, delivery) else {
                stage.schedule.finish(ticket);
                continue;
            };
            let sub = stage.subscribers[subscriber].clone();
            let key = stage.keys[subscriber].clone();
            let (http, smtp, smtp_settings) = (http.clone(), smtp.clone(), d.smtp.clone());
            attempts.spawn(async move {
                let verdict = send(
                    &sub,
                    key.as_deref(),
                    &http,
                    smtp.as_deref(),
                    &smtp_settings,
                    &delivery,
                )
                .await;
                (ticket, subscriber, delivery, verdict)
            });
        }
        stage.gauges();
        let wake = [stage.schedule.next_due(), stage.grouper.next_due()]
            .into_iter()
            .flatten()
            .min()
            .map(|due| Duration::from_millis(due.saturating_sub(now as u64)))
            .unwrap_or(Duration::from_millis(200))
            .min(Duration::from_millis(200));
        stage.throttle_retries(&consumer, &d.retry_topic);
        tokio::select! {
            m = consumer.recv() => {
                let m = match m {
                    Ok(m) => m,
                    // Broker restarts and lost connections surface here; librdkafka reconnects
                    // by itself, so they are logged, not fatal (as in the pipeline).
                    Err(e) => {
                        tracing::warn!(error = %e, "consumer error");
                        tokio::time::sleep(CONSUMER_ERROR_PAUSE).await;
                        continue;
                    }
                };
                let source = stage.source(m.topic(), m.partition(), m.offset());
                stage.schedule.consumed(source);
                let payload = m.payload().unwrap_or_default();
                if m.topic() == d.retry_topic {
                    stage.retry_record(source, payload);
                } else {
                    let committed = m.timestamp().to_millis().unwrap_or_else(now_ms);
                    stage.alert_record(source, payload, committed);
                }
            }
            Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                if let Ok((ticket, subscriber, delivery, verdict)) = done {
                    stage.settle(subscriber, delivery, verdict);
                    stage.schedule.finish(ticket);
                }
            }
            _ = commit.tick() => stage.commit(&consumer),
            _ = tokio::time::sleep(wake) => {}
        }
    }
    stage.commit(&consumer);
    Ok(stage.stats)
}

/// Checks what the stage needs from the environment before anything starts: every signing key
/// `secret_env` names, and the SMTP transport when `email` subscribers exist.
///
/// Errors: the first missing secret or credential, naming the subscriber or setting.
pub fn preflight(loaded: &Loaded) -> Result<(), DeliverError> {
    let subscribers: Vec<Subscriber> = loaded
        .subscribers
        .iter()
        .filter(|s| delivered_here(s))
        .cloned()
        .collect();
    secrets(&subscribers)?;
    if subscribers.iter().any(|s| s.kind == SubscriberKind::Email) {
        email::transport(&loaded.settings.delivery.smtp)?;
    }
    Ok(())
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

/// One attempt of `delivery` to `sub`, by its kind.
async fn send(
    sub: &Subscriber,
    key: Option<&[u8]>,
    http: &reqwest::Client,
    smtp: Option<&lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
    smtp_settings: &super::retry::SmtpSettings,
    delivery: &Delivery,
) -> Verdict {
    let records: Vec<&[u8]> = delivery
        .members
        .iter()
        .map(|m| m.record.as_slice())
        .collect();
    let id = notification_id(&sub.name, &records, delivery.repeat_of).to_string();
    let alerts: Vec<&Alert> = delivery.members.iter().map(|m| m.alert.as_ref()).collect();
    let group = delivery.group.clone().unwrap_or_default();
    match sub.kind {
        SubscriberKind::Webhook => match records.as_slice() {
            [one] => attempt(http, sub, key, &id, one.to_vec(), Utc::now()).await,
            _ => Verdict::Refused {
                reason: "a webhook delivery carries one record".into(),
            },
        },
        SubscriberKind::Alertmanager => {
            let payload = alertmanager::grouped(&alerts, &sub.name, &sub.group_by);
            match serde_json::to_vec(&payload) {
                Ok(body) => attempt(http, sub, key, &id, body, Utc::now()).await,
                Err(e) => Verdict::Refused {
                    reason: e.to_string(),
                },
            }
        }
        SubscriberKind::Email => match smtp {
            Some(t) => {
                let (subject, body) = email::render(sub, &group, &alerts);
                email::attempt(t, smtp_settings, sub, &id, subject, body).await
            }
            None => Verdict::Refused {
                reason: "no SMTP transport".into(),
            },
        },
        SubscriberKind::CapFeed => Verdict::Refused {
            reason: "a cap_feed is served, not sent".into(),
        },
    }
}

struct Stage {
    subscribers: Vec<Subscriber>,
    keys: Vec<Option<Vec<u8>>>,
    settings: DeliverySettings,
    schedule: Schedule<(usize, Delivery)>,
    grouper: Grouper,
    inhibitor: Inhibitor,
    silences: Arc<RwLock<Silences>>,
    /// (topic, partition) of each source id the schedule uses.
    sources: Vec<(String, i32)>,
    producer: BaseProducer,
    metrics: Option<DeliveryMetrics>,
    stats: DeliverStats,
    rng: rand_chacha::ChaCha8Rng,
    /// Whether the retry topic is paused (a queue is full).
    retries_paused: bool,
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

    /// Partitions a rebalance revoked: forgotten by the schedule (their new owner reads their
    /// unfinished records again from the last commit).
    fn forget_revoked(&mut self, revoked: &Mutex<Vec<(String, i32)>>) {
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

    /// A record delivered before this start: its episode's state, for inhibition and repeats.
    fn remember(&mut self, bytes: &[u8], now: u64) {
        let Ok(alert) = serde_json::from_slice::<Alert>(bytes) else {
            return;
        };
        self.inhibitor.observe(&alert);
        let member = Member {
            alert: Arc::new(alert),
            record: Arc::new(bytes.to_vec()),
            committed_ms: now as i64,
        };
        for (i, s) in self.subscribers.iter().enumerate() {
            if s.kind.groups() && s.admits(&member.alert) {
                let key = group_key(&s.group_by, &member.alert);
                self.grouper
                    .remember(i, key, s.timing(), member.clone(), now);
            }
        }
    }

    /// A new alert record: into each admitting subscriber's group, or its queue, due now.
    fn alert_record(&mut self, source: Source, payload: &[u8], committed_ms: i64) {
        let Ok(alert) = serde_json::from_slice::<Alert>(payload) else {
            tracing::warn!("an alerts-topic record is not an alert record; skipped");
            return;
        };
        self.inhibitor.observe(&alert);
        let member = Member {
            alert: Arc::new(alert),
            record: Arc::new(payload.to_vec()),
            committed_ms,
        };
        let now = now_ms();
        for i in 0..self.subscribers.len() {
            let s = &self.subscribers[i];
            if !s.admits(&member.alert) {
                continue;
            }
            if s.kind.groups() {
                let key = group_key(&s.group_by, &member.alert);
                let timing = s.timing();
                self.schedule.hold(source);
                self.grouper
                    .add(i, key, timing, source, member.clone(), now as u64);
                continue;
            }
            let delivery = Delivery {
                members: vec![member.clone()],
                group: None,
                repeat_of: None,
                attempt: 1,
                first_attempt_ms: None,
                committed_ms,
            };
            self.offer(i, vec![source], 0, delivery);
        }
    }

    /// A group's notification came due: to its subscriber's queue, releasing the group's hold on
    /// the records it carries (the queue holds them now).
    fn notify(&mut self, n: Notification) {
        // A repeat's latency counts from when it came due.
        let committed_ms = match n.repeat_of {
            Some(_) => now_ms(),
            None => n
                .members
                .iter()
                .map(|m| m.committed_ms)
                .min()
                .unwrap_or_else(now_ms),
        };
        let delivery = Delivery {
            members: n.members,
            group: Some(n.group),
            repeat_of: n.repeat_of,
            attempt: 1,
            first_attempt_ms: None,
            committed_ms,
        };
        let held = n.sources.clone();
        self.offer(n.subscriber, n.sources, 0, delivery);
        for source in held {
            self.schedule.release(source);
        }
    }

    /// A delivery due again: to its subscriber's queue, due at its time.
    fn retry_record(&mut self, source: Source, payload: &[u8]) {
        let Ok(r) = serde_json::from_slice::<RetryRecord>(payload) else {
            tracing::warn!("a retry-topic record is not a delivery; skipped");
            return;
        };
        let Some(i) = self.subscribers.iter().position(|s| s.name == r.subscriber) else {
            let records: Vec<&[u8]> = r.records.iter().map(|s| s.as_bytes()).collect();
            self.dead(
                &records.concat(),
                &r.subscriber,
                r.attempt,
                DeliveryOutcome::Refused,
                "no such subscriber any more",
            );
            return;
        };
        let members: Vec<Member> = r
            .records
            .into_iter()
            .filter_map(|text| {
                let alert: Alert = serde_json::from_str(&text).ok()?;
                Some(Member {
                    alert: Arc::new(alert),
                    record: Arc::new(text.into_bytes()),
                    committed_ms: r.committed_ms,
                })
            })
            .collect();
        let delivery = Delivery {
            members,
            group: r.group,
            repeat_of: r.repeat_of,
            attempt: r.attempt,
            first_attempt_ms: Some(r.first_attempt_ms),
            committed_ms: r.committed_ms,
        };
        self.offer(i, vec![source], r.not_before_ms.max(0) as u64, delivery);
    }

    /// Queues a delivery; one its subscriber's full queue hands back goes to the retry topic.
    fn offer(&mut self, subscriber: usize, sources: Vec<Source>, due: u64, d: Delivery) {
        if let Some((_, d)) = self
            .schedule
            .offer(subscriber, sources, due, (subscriber, d))
        {
            let first = d.first_attempt_ms.unwrap_or_else(now_ms);
            self.schedule_retry(subscriber, &d, d.attempt, first, now_ms().max(due as i64));
        }
    }

    /// The delivery without the records a silence or inhibition holds back now, counted; `None`
    /// when nothing is left to send.
    fn unmuted(&mut self, subscriber: usize, mut d: Delivery) -> Option<Delivery> {
        let now = Utc::now();
        let before = d.members.len();
        let (mut silenced, mut inhibited) = (0, 0);
        {
            let silences = self.silences.read().ok();
            let inhibit = self.settings.inhibit_watch_under_critical;
            d.members.retain(|m| {
                if silences
                    .as_ref()
                    .is_some_and(|s| s.muting(&m.alert, now).is_some())
                {
                    silenced += 1;
                    false
                } else if inhibit && self.inhibitor.inhibits(&m.alert) {
                    inhibited += 1;
                    false
                } else {
                    true
                }
            });
        }
        if silenced + inhibited > 0 {
            let name = &self.subscribers[subscriber].name;
            tracing::debug!(subscriber = %name, silenced, inhibited, of = before, "held back");
            self.stats.silenced += silenced;
            self.stats.inhibited += inhibited;
            if let Some(m) = &self.metrics {
                m.silenced(name, silenced);
                m.inhibited(name, inhibited);
            }
        }
        (!d.members.is_empty()).then_some(d)
    }

    /// What an attempt's verdict leaves to do.
    fn settle(&mut self, subscriber: usize, d: Delivery, verdict: Verdict) {
        let name = self.subscribers[subscriber].name.clone();
        let first = d.first_attempt_ms.unwrap_or_else(now_ms);
        let records = || {
            d.members
                .iter()
                .map(|m| m.record.as_slice())
                .collect::<Vec<_>>()
                .join(&b'\n')
        };
        match verdict {
            Verdict::Delivered => {
                self.stats.delivered += 1;
                if let Some(m) = &self.metrics {
                    m.finished(&name, DeliveryOutcome::Delivered);
                    m.latency(&name, (now_ms() - d.committed_ms) as f64 / 1000.0);
                }
                tracing::debug!(subscriber = %name, attempt = d.attempt, "delivered");
            }
            Verdict::Refused { reason } => self.dead(
                &records(),
                &name,
                d.attempt,
                DeliveryOutcome::Refused,
                &reason,
            ),
            Verdict::Retry { after, reason } => {
                let first_at = DateTime::from_timestamp_millis(first).unwrap_or_else(Utc::now);
                let wait = backoff(d.attempt, after, &self.settings, &mut self.rng);
                let due = retry_due(now_ms(), wait, first, &self.settings);
                if let (false, Some(due)) = (expired(first_at, Utc::now(), &self.settings), due) {
                    tracing::debug!(subscriber = %name, attempt = d.attempt, %reason, wait_ms = wait.as_millis() as u64, "retry");
                    self.schedule_retry(subscriber, &d, d.attempt + 1, first, due);
                    self.stats.retried += 1;
                    if let Some(m) = &self.metrics {
                        m.retried(&name);
                    }
                } else {
                    let why = format!("{reason}; still failing at delivery.max_age_secs");
                    self.dead(&records(), &name, d.attempt, DeliveryOutcome::Expired, &why);
                }
            }
        }
    }

    fn schedule_retry(
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

    fn dead(
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

    /// Stops reading the retry topic while a subscriber's queue is full, and reads it again
    /// once every queue is at most half full: a retry record for a full queue would only be written back to
    /// the topic, and read again at once. The alerts topic is still read, so a full queue of
    /// one subscriber does not hold back another's new alerts.
    fn throttle_retries(&mut self, consumer: &StreamConsumer<RevokeRecorder>, retry_topic: &str) {
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

    /// The queue-depth gauges.
    fn gauges(&self) {
        if let Some(m) = &self.metrics {
            for (i, s) in self.subscribers.iter().enumerate() {
                m.queued(
                    &s.name,
                    self.schedule.waiting_for(i) + self.grouper.waiting_for(i),
                );
            }
        }
    }

    /// Makes the retry and DLQ records written so far durable, then commits the input offsets
    /// the schedule allows. A failure (the broker away, a rebalance under way) is logged and
    /// left to the next commit: offsets only ever move past finished deliveries, so a late
    /// commit repeats deliveries after a crash but loses none.
    fn commit(&mut self, consumer: &StreamConsumer<RevokeRecorder>) {
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
