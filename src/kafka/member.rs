//! The consumer-group member: its consumer (with the context that records rebalances and turns
//! librdkafka's statistics into lag metrics), its transactional producer, and the engine holding
//! the state of its partitions' regions. Rebalances are applied between polls: revoked
//! partitions' regions are dropped, assigned ones restored from the changelog.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{ClientContext, Statistics, TopicPartitionList};

use super::access::{AccessError, Doing, Watch, refusal};
use super::pipeline::{PipelineError, PipelineOptions, RunStats};
use super::restore::restore;
use super::{Membership, client_config, describe, group_member_config};
use crate::config::Loaded;
use crate::engine::Engine;
use crate::telemetry::Telemetry;
use crate::telemetry::events::{PartitionsRevoked, StateRestored};
use crate::telemetry::metrics::Metrics;

#[derive(Debug)]
pub(super) enum RebalanceEvent {
    Assign(Vec<i32>),
    Revoke(Vec<i32>),
}

/// Records rebalances for the loop to act on after `poll` returns, and turns librdkafka's
/// statistics into consumer-lag metrics.
pub(super) struct RebalanceRecorder {
    input_topic: String,
    events: Mutex<Vec<RebalanceEvent>>,
    metrics: Arc<Metrics>,
    /// Offsets this instance committed, per partition: with transactions the consumer's own
    /// statistics do not see them.
    pub(super) committed: Mutex<BTreeMap<i32, i64>>,
    /// When the last statistics arrived and the total lag they showed.
    last_lag: Mutex<Option<(Instant, i64)>>,
}

impl ClientContext for RebalanceRecorder {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.input_topic) else {
            return;
        };
        let committed = match self.committed.lock() {
            Ok(c) => c.clone(),
            Err(_) => return,
        };
        let mut total = 0;
        for (partition, p) in &topic.partitions {
            // Partition -1 is librdkafka's internal queue; unassigned partitions report no
            // fetch state. Lag is against the last stable offset: what read_committed can read.
            if *partition < 0 || p.fetch_state == "none" || p.ls_offset < 0 {
                continue;
            }
            // Nothing committed yet: consumption starts at the log start (earliest).
            let position = committed
                .get(partition)
                .copied()
                .unwrap_or(p.committed_offset)
                .max(p.committed_offset)
                .max(p.lo_offset);
            if position >= 0 {
                self.metrics
                    .partition_lag(*partition, p.ls_offset - position);
                total += (p.ls_offset - position).max(0);
            }
        }
        if let Ok(mut last) = self.last_lag.lock() {
            *last = Some((Instant::now(), total));
        }
    }
}

impl ConsumerContext for RebalanceRecorder {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let parts = |tpl: &TopicPartitionList| {
            tpl.elements()
                .iter()
                .filter(|e| e.topic() == self.input_topic)
                .map(|e| e.partition())
                .collect::<Vec<_>>()
        };
        let event = match rebalance {
            Rebalance::Assign(tpl) => RebalanceEvent::Assign(parts(tpl)),
            Rebalance::Revoke(tpl) => RebalanceEvent::Revoke(parts(tpl)),
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance error");
                return;
            }
        };
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }
}

pub(super) struct Member {
    pub(super) consumer: BaseConsumer<RebalanceRecorder>,
    pub(super) producer: BaseProducer<Watch>,
    pub(super) engine: Engine,
    /// Input partition of every region held in the engine.
    pub(super) region_partition: BTreeMap<Arc<str>, i32>,
    pub(super) assigned: BTreeSet<i32>,
}

fn new_producer(
    loaded: &Loaded,
    opts: &PipelineOptions,
) -> Result<BaseProducer<Watch>, PipelineError> {
    let k = &loaded.settings.kafka;
    let mut cfg = client_config(k, &opts.brokers);
    cfg.set("linger.ms", "5").set("compression.type", "lz4");
    // Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the previous commit's markers
    // are written; the default 100 ms retry backoff would then cost every batch 100 ms.
    cfg.set("retry.backoff.ms", "5")
        .set("retry.backoff.max.ms", "100");
    if opts.transactions {
        cfg.set(
            "transactional.id",
            format!("{}-{}", k.group_id, k.instance_id),
        )
        .set(
            "transaction.timeout.ms",
            k.transaction_timeout_ms.to_string(),
        )
        .set("enable.idempotence", "true");
    }
    let producer: BaseProducer<Watch> = cfg.create_with_context(Watch::default())?;
    if opts.transactions {
        let id = format!("{}-{}", k.group_id, k.instance_id);
        producer
            .init_transactions(Duration::from_secs(60))
            .map_err(|e| {
                let doing = Doing {
                    transactional_id: Some(&id),
                    ..Doing::default()
                };
                match producer.context().refused().or_else(|| refusal(&e, doing)) {
                    Some(refused) => PipelineError::Access(refused),
                    None => PipelineError::Kafka(e),
                }
            })?;
    }
    Ok(producer)
}

pub(super) fn new_member(
    loaded: &Loaded,
    opts: &PipelineOptions,
    metrics: &Arc<Metrics>,
) -> Result<Member, PipelineError> {
    let k = &loaded.settings.kafka;
    let mut cfg = group_member_config(k, &opts.brokers, &k.group_id, Membership::Static);
    cfg.set("partition.assignment.strategy", "roundrobin");
    let lag_interval = loaded.settings.metrics.lag_interval_ms;
    if lag_interval > 0 {
        cfg.set("statistics.interval.ms", lag_interval.to_string());
    }
    tracing::info!(config = ?describe(&cfg), "kafka consumer");
    let consumer: BaseConsumer<RebalanceRecorder> = cfg.create_with_context(RebalanceRecorder {
        input_topic: k.input_topic.clone(),
        events: Mutex::new(Vec::new()),
        metrics: metrics.clone(),
        committed: Mutex::new(BTreeMap::new()),
        last_lag: Mutex::new(None),
    })?;
    consumer.subscribe(&[&k.input_topic])?;
    Ok(Member {
        consumer,
        producer: new_producer(loaded, opts)?,
        engine: {
            let engine = loaded
                .engine()
                .map_err(|e| PipelineError::Config(e.to_string()))?
                .with_changelog();
            if k.publish_tagged {
                engine.with_tag_detail()
            } else {
                engine
            }
        },
        region_partition: BTreeMap::new(),
        assigned: BTreeSet::new(),
    })
}

impl Member {
    /// The refusal behind a failed batch, if it was one: a record the broker refused (its
    /// topic named by the producer's delivery report), or the transaction's own error (the
    /// transactional id, or the group when the offsets were refused).
    pub(super) fn refusal(&self, error: &PipelineError, loaded: &Loaded) -> Option<AccessError> {
        // The refused partition's log line and delivery reports wait in the producer's queue
        // (the failed call does not serve it): serve them first.
        self.producer.poll(Duration::ZERO);
        if let Some(refused) = self.producer.context().refused() {
            return Some(refused);
        }
        let k = &loaded.settings.kafka;
        let id = format!("{}-{}", k.group_id, k.instance_id);
        // Without a delivery report or log line naming it, the topic is one of the outputs.
        let mut outputs = vec![k.alerts_topic.as_str(), &k.dlq_topic, &k.state_topic];
        if k.publish_tagged {
            outputs.push(&k.tagged_topic);
        }
        let outputs = format!("{{{}}}", outputs.join(","));
        let doing = Doing {
            topic: Some(("Write", &outputs)),
            group: Some(("Read", &k.group_id)),
            transactional_id: Some(&id),
        };
        let kafka: &KafkaError = match error {
            PipelineError::Kafka(e) => e,
            PipelineError::Commit(super::transaction::CommitError::Kafka(e)) => e,
            PipelineError::Sink(super::sinks::SinkError::Kafka(e)) => e,
            PipelineError::Access(refused) => return Some(refused.clone()),
            _ => return None,
        };
        refusal(kafka, doing)
    }

    /// Records are waiting (by statistics newer than `since`) although none was consumed since.
    pub(super) fn stalled_since(&self, since: Instant) -> bool {
        let last = self
            .consumer
            .context()
            .last_lag
            .lock()
            .ok()
            .and_then(|l| *l);
        last.is_some_and(|(at, lag)| at > since && lag > 0)
    }

    /// Applies recorded rebalances: drops revoked partitions' regions (and their pending
    /// records), restores assigned partitions' regions from the changelog.
    pub(super) fn apply_rebalances(
        &mut self,
        loaded: &Loaded,
        opts: &PipelineOptions,
        batch: &mut Vec<OwnedMessage>,
        stats: &mut RunStats,
        telemetry: &Telemetry,
    ) -> Result<(), PipelineError> {
        let events: Vec<RebalanceEvent> = match self.consumer.context().events.lock() {
            Ok(mut e) => std::mem::take(&mut *e),
            Err(_) => Vec::new(),
        };
        for event in events {
            match event {
                RebalanceEvent::Revoke(parts) => {
                    batch.retain(|m| !parts.contains(&m.partition()));
                    let gone: Vec<Arc<str>> = self
                        .region_partition
                        .iter()
                        .filter(|(_, p)| parts.contains(p))
                        .map(|(r, _)| Arc::clone(r))
                        .collect();
                    for r in gone {
                        self.engine.remove_region(&r);
                        self.region_partition.remove(&r);
                    }
                    for p in &parts {
                        self.assigned.remove(p);
                    }
                    if let Ok(mut committed) = self.consumer.context().committed.lock() {
                        committed.retain(|p, _| !parts.contains(p));
                    }
                    telemetry.emit(PartitionsRevoked {
                        partitions: &parts,
                        assigned: self.assigned.len(),
                    });
                }
                RebalanceEvent::Assign(parts) => {
                    let restored = restore(&loaded.settings.kafka, &opts.brokers, &parts)?;
                    stats.restores += 1;
                    stats.restore_seconds += restored.elapsed.as_secs_f64();
                    let regions = restored.regions.len();
                    for (partition, r) in restored.regions {
                        self.region_partition
                            .insert(Arc::from(r.region.as_str()), partition);
                        self.engine.restore_region(r);
                    }
                    self.assigned.extend(parts.iter().copied());
                    telemetry.emit(StateRestored {
                        partitions: &parts,
                        regions,
                        records: restored.records,
                        seconds: restored.elapsed.as_secs_f64(),
                        assigned: self.assigned.len(),
                    });
                }
            }
        }
        Ok(())
    }
}
