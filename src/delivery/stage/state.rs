//! What a record, a due group notification and a verdict do to the stage: routing into
//! queues and groups, silences and inhibition at send time, and the verdict's consequences.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use rdkafka::producer::BaseProducer;

use crate::alert::Alert;
use crate::delivery::group::{Grouper, Member, Notification, group_key};
use crate::delivery::inhibit::Inhibitor;
use crate::delivery::retry::{DeliverySettings, Verdict, backoff, expired, retry_due};
use crate::delivery::schedule::{Schedule, Source};
use crate::delivery::silence::Silences;
use crate::delivery::subscriber::Subscriber;
use crate::telemetry::delivery::{DeliveryMetrics, DeliveryOutcome};

use super::outbox::RetryRecord;
use super::{DeliverStats, now_ms};

/// What an attempt needs.
#[derive(Debug, Clone)]
pub(super) struct Delivery {
    pub(super) members: Vec<Member>,
    pub(super) group: Option<String>,
    pub(super) repeat_of: Option<u64>,
    pub(super) attempt: u32,
    pub(super) first_attempt_ms: Option<i64>,
    pub(super) committed_ms: i64,
}

pub(super) struct Stage {
    pub(super) subscribers: Vec<Subscriber>,
    pub(super) keys: Vec<Option<Vec<u8>>>,
    pub(super) settings: DeliverySettings,
    pub(super) schedule: Schedule<(usize, Delivery)>,
    pub(super) grouper: Grouper,
    pub(super) inhibitor: Inhibitor,
    pub(super) silences: Arc<RwLock<Silences>>,
    /// (topic, partition) of each source id the schedule uses.
    pub(super) sources: Vec<(String, i32)>,
    pub(super) producer: BaseProducer,
    pub(super) metrics: Option<DeliveryMetrics>,
    pub(super) stats: DeliverStats,
    pub(super) rng: rand_chacha::ChaCha8Rng,
    /// Whether the retry topic is paused (a queue is full).
    pub(super) retries_paused: bool,
}

impl Stage {
    /// The schedule's source of a record: a dense id for (topic, partition), and the offset.
    pub(super) fn source(&mut self, topic: &str, partition: i32, offset: i64) -> Source {
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

    /// A record delivered before this start: its episode's state, for inhibition and repeats.
    pub(super) fn remember(&mut self, bytes: &[u8], now: u64) {
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
    pub(super) fn alert_record(&mut self, source: Source, payload: &[u8], committed_ms: i64) {
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
    pub(super) fn notify(&mut self, n: Notification) {
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
    pub(super) fn retry_record(&mut self, source: Source, payload: &[u8]) {
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
    pub(super) fn offer(&mut self, subscriber: usize, sources: Vec<Source>, due: u64, d: Delivery) {
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
    pub(super) fn unmuted(&mut self, subscriber: usize, mut d: Delivery) -> Option<Delivery> {
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
    pub(super) fn settle(&mut self, subscriber: usize, d: Delivery, verdict: Verdict) {
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

    /// The queue-depth gauges.
    pub(super) fn gauges(&self) {
        if let Some(m) = &self.metrics {
            for (i, s) in self.subscribers.iter().enumerate() {
                m.queued(
                    &s.name,
                    self.schedule.waiting_for(i) + self.grouper.waiting_for(i),
                );
            }
        }
    }
}
