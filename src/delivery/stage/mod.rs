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

//!
//! Files: `state.rs` (what a record, a group notification and a verdict do to the stage),
//! `send.rs` (one attempt, by kind), `outbox.rs` (the retry and DLQ records), `consumer.rs`
//! (revocations, pausing the retry topic, committing offsets).

mod consumer;
mod outbox;
mod send;
mod state;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use rand::SeedableRng;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::BaseProducer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::task::JoinSet;

use crate::config::Loaded;
use crate::delivery::email::{self, EmailSetupError};
use crate::delivery::group::Grouper;
use crate::delivery::inhibit::Inhibitor;
use crate::delivery::retry::Verdict;
use crate::delivery::schedule::{Limits, Schedule, Ticket};
use crate::delivery::silence::Silences;
use crate::delivery::subscriber::{Subscriber, SubscriberKind};
use crate::delivery::webhook::{client, redact_url};
use crate::kafka::access::{Doing, refusal};
use crate::kafka::follow::Follower;
use crate::kafka::{KafkaSetupError, Membership, client_config, group_member_config};
use crate::telemetry::delivery::DeliveryMetrics;

use consumer::RevokeRecorder;
use send::send;
use state::{Delivery, Stage};

/// Why the delivery stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    /// A signing key that is not set, empty, or in a file that cannot be read.
    #[error("subscriber {subscriber}: secret_env: {reason}")]
    MissingSecret { subscriber: String, reason: String },
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Email(#[from] EmailSetupError),
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

impl DeliverStats {
    /// The stage's summary, as a log event.
    pub fn log_stopped(&self) {
        tracing::info!(
            delivered = self.delivered,
            retried = self.retried,
            dead_lettered = self.dead,
            silenced = self.silenced,
            inhibited = self.inhibited,
            "delivery stopped"
        );
    }
}

/// How long the stage waits after a consumer error before reading again.
const CONSUMER_ERROR_PAUSE: Duration = Duration::from_millis(100);

pub(super) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The subscribers this stage delivers to, in configuration order.
fn delivered(loaded: &Loaded) -> Vec<Subscriber> {
    loaded
        .subscribers
        .iter()
        .filter(|s| delivered_here(s))
        .cloned()
        .collect()
}

/// Whether a subscriber is served by this stage (the `cap_feed` kind is served over HTTP).
pub fn delivered_here(s: &Subscriber) -> bool {
    s.kind != SubscriberKind::CapFeed
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
    let subscribers = delivered(loaded);
    let keys = secrets(&subscribers)?;
    let smtp = if subscribers.iter().any(|s| s.kind == SubscriberKind::Email) {
        Some(email::transport(&d.smtp)?)
    } else {
        None
    };
    let revoked = Arc::new(Mutex::new(Vec::new()));
    // Dynamic membership, unlike the pipeline's (`Membership` says why).
    let consumer: StreamConsumer<RevokeRecorder> =
        group_member_config(k, brokers, &d.group_id, Membership::Dynamic).create_with_context(
            RevokeRecorder {
                revoked: Arc::clone(&revoked),
            },
        )?;
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
                    // Fatal for this consumer (another member took its static identity,
                    // `group.instance.id`): retrying would warn forever and deliver nothing, so
                    // the stage stops and `vigil run` with it.
                    Err(e @ KafkaError::MessageConsumptionFatal(_)) => return Err(e.into()),
                    // Broker restarts and lost connections surface here; librdkafka reconnects
                    // by itself, so they are logged, not fatal (as in the pipeline). A refusal
                    // (a missing ACL) is: retrying cannot mend it (docs/security.md).
                    Err(e) => {
                        let doing = Doing {
                            topic: Some(("Read", "the alerts or retry topic (docs/security.md)")),
                            group: Some(("Read", &d.group_id)),
                            transactional_id: None,
                        };
                        if let Some(denied) = refusal(&e, doing) {
                            return Err(KafkaSetupError::from(denied).into());
                        }
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
    let subscribers = delivered(loaded);
    secrets(&subscribers)?;
    if subscribers.iter().any(|s| s.kind == SubscriberKind::Email) {
        email::transport(&loaded.settings.delivery.smtp)?;
    }
    Ok(())
}

/// Each subscriber's signing key, from the environment variable its `secret_env` names.
pub(super) fn secrets(subscribers: &[Subscriber]) -> Result<Vec<Option<Vec<u8>>>, DeliverError> {
    subscribers
        .iter()
        .map(|s| match &s.secret_env {
            None => Ok(None),
            // The variable itself, or `<secret_env>_FILE` naming a file that holds the key.
            Some(env) => crate::config::secret::read(env)
                .map(|v| Some(v.into_bytes()))
                .map_err(|e| DeliverError::MissingSecret {
                    subscriber: s.name.clone(),
                    reason: e.to_string(),
                }),
        })
        .collect()
}
