//! The streaming pipeline of `vigil run`: a consumer-group member that feeds the core and
//! commits, per batch and in one Kafka transaction, the batch's alerts, DLQ records, the changed
//! regions' state (to the compacted `vigil.state` changelog) and the consumer offsets.
//!
//! No transaction is open while the consumer polls, so a rebalance never interrupts one: records
//! of revoked partitions are dropped from the pending batch (the next owner reads them again from
//! the committed offsets), and newly assigned partitions have their regions' state restored from
//! the changelog before any of their records is processed. A failed commit aborts, drops all
//! in-memory state and rejoins the group, which restores from the changelog: crash-only recovery
//! inside the process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};

use crate::alert::Alert;
use crate::config::Loaded;
use crate::engine::{Engine, Outcome};
use crate::kafka::{KafkaSetupError, client_config, describe, dlq_headers, restore, state_key};
use crate::telemetry::metrics::{BatchTally, Metrics};

/// What `vigil run` needs beyond the configuration.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub brokers: String,
    /// Exactly-once with transactions; off only for the embedded mock cluster.
    pub transactions: bool,
    /// Stop after this many input records are committed (tests, demos).
    pub max_records: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("configuration: {0}")]
    Config(String),
}

#[derive(Debug)]
enum RebalanceEvent {
    Assign(Vec<i32>),
    Revoke(Vec<i32>),
}

/// Records rebalances for the loop to act on after `poll` returns, and turns librdkafka's
/// statistics into consumer-lag metrics.
struct RebalanceRecorder {
    input_topic: String,
    events: Mutex<Vec<RebalanceEvent>>,
    metrics: Arc<Metrics>,
    /// Offsets this instance committed, per partition: with transactions the consumer's own
    /// statistics do not see them.
    committed: Mutex<BTreeMap<i32, i64>>,
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

/// Where the pipeline reports: the metrics, and the readiness `/readyz` serves.
pub struct Telemetry {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

impl Telemetry {
    fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
        self.metrics.set_ready(ready);
    }
}

/// Counters of a run, for the summary and metrics.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    pub records: u64,
    pub alerts: u64,
    pub dlq: u64,
    pub commits: u64,
    pub aborts: u64,
    pub restores: u64,
    pub restore_seconds: f64,
    /// Reports held as suspect (their event time jumps their region's clock).
    pub held: u64,
    /// Duplicates that repeat a counted report under a new id.
    pub near_duplicates: u64,
}

struct Member {
    consumer: BaseConsumer<RebalanceRecorder>,
    producer: BaseProducer,
    engine: Engine,
    /// Input partition of every region held in the engine.
    region_partition: BTreeMap<Arc<str>, i32>,
    assigned: BTreeSet<i32>,
}

fn new_producer(loaded: &Loaded, opts: &PipelineOptions) -> Result<BaseProducer, PipelineError> {
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
    let producer: BaseProducer = cfg.create()?;
    if opts.transactions {
        producer.init_transactions(Duration::from_secs(60))?;
    }
    Ok(producer)
}

fn new_member(
    loaded: &Loaded,
    opts: &PipelineOptions,
    metrics: &Arc<Metrics>,
) -> Result<Member, PipelineError> {
    let k = &loaded.settings.kafka;
    let mut cfg = client_config(k, &opts.brokers);
    cfg.set("group.id", &k.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("partition.assignment.strategy", "roundrobin")
        // Static membership: a restarted instance takes its partitions back at once instead of
        // waiting for its old session to expire.
        .set(
            "group.instance.id",
            format!("{}-{}", k.group_id, k.instance_id),
        );
    if !k.client.contains_key("session.timeout.ms") {
        cfg.set("session.timeout.ms", "10000");
    }
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
        engine: loaded
            .engine()
            .map_err(|e| PipelineError::Config(e.to_string()))?
            .with_changelog(),
        region_partition: BTreeMap::new(),
        assigned: BTreeSet::new(),
    })
}

impl Member {
    /// Records are waiting (by statistics newer than `since`) although none was consumed since.
    fn stalled_since(&self, since: Instant) -> bool {
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
    fn apply_rebalances(
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
                        telemetry.metrics.partition_revoked(*p);
                    }
                    if let Ok(mut committed) = self.consumer.context().committed.lock() {
                        committed.retain(|p, _| !parts.contains(p));
                    }
                    telemetry.metrics.assigned(self.assigned.len());
                    telemetry.set_ready(!self.assigned.is_empty());
                    tracing::info!(?parts, "partitions revoked");
                }
                RebalanceEvent::Assign(parts) => {
                    let restored = restore(&loaded.settings.kafka, &opts.brokers, &parts)?;
                    stats.restores += 1;
                    stats.restore_seconds += restored.elapsed.as_secs_f64();
                    tracing::info!(
                        ?parts,
                        regions = restored.regions.len(),
                        records = restored.records,
                        seconds = restored.elapsed.as_secs_f64(),
                        "partitions assigned; state restored"
                    );
                    for r in restored.regions {
                        self.region_partition
                            .insert(Arc::from(r.region.as_str()), r.partition);
                        self.engine
                            .restore_region_parts(r.region, r.meta, r.panes, r.seen);
                    }
                    self.assigned.extend(parts);
                    telemetry
                        .metrics
                        .restored(restored.elapsed.as_secs_f64(), self.assigned.len());
                    telemetry.set_ready(!self.assigned.is_empty());
                }
            }
        }
        Ok(())
    }
}

/// Runs the pipeline until `stop` is set or `max_records` are committed. Calls `on_alerts` with
/// each batch's alerts once they are committed.
pub fn run(
    loaded: &Loaded,
    opts: &PipelineOptions,
    stop: Arc<AtomicBool>,
    telemetry: &Telemetry,
    mut on_alerts: impl FnMut(&[Alert]),
) -> Result<RunStats, PipelineError> {
    let p = &loaded.settings.pipeline;
    let mut stats = RunStats::default();
    let mut member = new_member(loaded, opts, &telemetry.metrics)?;
    let mut batch: Vec<OwnedMessage> = Vec::with_capacity(p.batch_max_records);
    let interval = Duration::from_millis(p.commit_interval_ms);
    let stall_timeout = Duration::from_secs(p.stall_timeout_secs);
    let mut last_progress = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        batch.clear();
        // Bytes of the batch's records as consumed: with a count alone, 10,000 records of a few
        // megabytes each would all be held (and copied to the DLQ) in one transaction.
        let mut batch_bytes = 0usize;
        let deadline = Instant::now() + interval;
        while batch.len() < p.batch_max_records
            && batch_bytes < p.batch_max_bytes
            && !stop.load(Ordering::Relaxed)
        {
            let now = Instant::now();
            if now >= deadline && !batch.is_empty() {
                break;
            }
            let wait = deadline
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let polled = member.consumer.poll(wait).map(|r| r.map(|m| m.detach()));
            member.apply_rebalances(loaded, opts, &mut batch, &mut stats, telemetry)?;
            match polled {
                Some(Ok(m)) if member.assigned.contains(&m.partition()) => {
                    batch_bytes += m.payload().map_or(0, <[u8]>::len);
                    batch_bytes += m.key().map_or(0, <[u8]>::len);
                    batch.push(m);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
                None => {
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        if batch.is_empty() {
            let stalled = !stall_timeout.is_zero()
                && last_progress.elapsed() >= stall_timeout
                && member.stalled_since(last_progress + stall_timeout / 2);
            if stalled {
                // Seen once after a broker restart: the consumer stopped fetching while records
                // waited, with no error. Crash-only recovery: rejoin and restore.
                tracing::warn!(
                    seconds = last_progress.elapsed().as_secs(),
                    "records are waiting but none arrived; rejoining the group"
                );
                telemetry.metrics.consumer_stalled();
                telemetry.set_ready(false);
                member = rejoin(member, loaded, opts, &stop, telemetry)?;
                last_progress = Instant::now();
            }
            continue;
        }
        last_progress = Instant::now();
        let started = Instant::now();
        let result = process_batch(&mut member, loaded, opts, &batch, &mut stats, telemetry);
        tracing::debug!(
            records = batch.len(),
            bytes = batch_bytes,
            ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "batch"
        );
        match result {
            Ok(Committed {
                alerts,
                tally,
                commit_seconds,
            }) => {
                telemetry.metrics.batch_committed(
                    tally,
                    started.elapsed().as_secs_f64(),
                    commit_seconds,
                    &member.engine,
                );
                stats.commits += 1;
                stats.records += batch.len() as u64;
                stats.alerts += alerts.len() as u64;
                on_alerts(&alerts);
                if opts.max_records.is_some_and(|m| stats.records >= m) {
                    break;
                }
            }
            Err(e) => {
                // Abort, forget every in-memory effect of the batch, and rejoin: assignment
                // restores committed state and the consumer resumes from committed offsets.
                stats.aborts += 1;
                telemetry.metrics.batch_aborted();
                telemetry.set_ready(false);
                tracing::warn!(error = %e, "batch failed; aborting and restoring from the changelog");
                if opts.transactions {
                    let _ = member.producer.abort_transaction(Duration::from_secs(30));
                }
                member = rejoin(member, loaded, opts, &stop, telemetry)?;
                last_progress = Instant::now();
            }
        }
    }
    telemetry.set_ready(false);
    member.consumer.unsubscribe();
    let _ = member.producer.flush(Duration::from_secs(30));
    tracing::info!(
        records = stats.records,
        alerts = stats.alerts,
        commits = stats.commits,
        "pipeline stopped"
    );
    Ok(stats)
}

/// Leaves the group, forgets all in-memory state and joins again; assignment restores the
/// committed state and the consumer resumes from the committed offsets.
fn rejoin(
    member: Member,
    loaded: &Loaded,
    opts: &PipelineOptions,
    stop: &AtomicBool,
    telemetry: &Telemetry,
) -> Result<Member, PipelineError> {
    member.consumer.unsubscribe();
    drop(member);
    loop {
        match new_member(loaded, opts, &telemetry.metrics) {
            Ok(m) => return Ok(m),
            Err(e) if !stop.load(Ordering::Relaxed) => {
                tracing::warn!(error = %e, "cannot rejoin yet");
                // Not synchronisation: a pause between attempts to reach the cluster.
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits until every record produced so far is delivered. rdkafka's `flush` (which
/// `commit_transaction` calls first) waits in polls of up to 100 ms, and measured here always
/// lost the whole 100 ms: that was every batch's commit time. Polling in 1 ms steps (each returns
/// as soon as a delivery report arrives) leaves `commit_transaction` nothing to wait for.
fn await_deliveries(producer: &BaseProducer, timeout: Duration) -> Result<(), KafkaError> {
    let deadline = Instant::now() + timeout;
    while producer.in_flight_count() > 0 {
        if Instant::now() >= deadline {
            return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
        }
        producer.poll(Duration::from_millis(1));
    }
    Ok(())
}

fn send(producer: &BaseProducer, mut record: BaseRecord<'_, str, [u8]>) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                producer.poll(Duration::from_millis(10));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// What a committed batch leaves for the loop.
struct Committed {
    alerts: Vec<Alert>,
    tally: BatchTally,
    commit_seconds: Option<f64>,
}

/// Processes one batch and commits its outputs, state and offsets together.
fn process_batch(
    member: &mut Member,
    loaded: &Loaded,
    opts: &PipelineOptions,
    batch: &[OwnedMessage],
    stats: &mut RunStats,
    telemetry: &Telemetry,
) -> Result<Committed, PipelineError> {
    let metrics = &telemetry.metrics;
    let mut tally = metrics.tally();
    let k = &loaded.settings.kafka;
    let batch_started = Instant::now();
    if opts.transactions {
        member.producer.begin_transaction()?;
    }
    let mut alerts = Vec::new();
    let mut dirty: BTreeMap<Arc<str>, i32> = BTreeMap::new();
    let mut offsets: BTreeMap<i32, i64> = BTreeMap::new();
    for m in batch {
        let bytes = m.payload().unwrap_or_default();
        let timestamp_ms = m.timestamp().to_millis();
        let received_at = timestamp_ms.map(|ms| ms.div_euclid(1000));
        offsets.insert(m.partition(), m.offset() + 1);
        tally.consumed(timestamp_ms);
        let outcome = member.engine.process(bytes, received_at);
        // Held reports this one released come first, as the engine admitted them.
        let released = member.engine.take_released();
        let outcomes = released
            .iter()
            .map(|r| (r.report.as_bytes(), r.received_at, &r.outcome))
            .chain(std::iter::once((bytes, received_at, &outcome)));
        for (bytes, received_at, outcome) in outcomes {
            match outcome {
                Outcome::Accepted {
                    region,
                    event_time,
                    late,
                    tags,
                    alerts: a,
                } => {
                    tally.accepted(
                        metrics,
                        region,
                        tags,
                        *late,
                        received_at.map(|r| r - event_time),
                    );
                    for alert in a {
                        tally.alert(metrics, alert);
                        let json = serde_json::to_vec(alert)
                            .map_err(|e| PipelineError::Config(e.to_string()))?;
                        send(
                            &member.producer,
                            BaseRecord::to(&k.alerts_topic)
                                .key(alert.alert_id.as_str())
                                .payload(json.as_slice()),
                        )?;
                    }
                    alerts.extend(a.iter().cloned());
                    if k.publish_tagged
                        && let Some(tagged) = member.engine.render_tags(bytes, tags)
                    {
                        let json = json(&tagged)?;
                        send(
                            &member.producer,
                            BaseRecord::to(&k.tagged_topic)
                                .key(region.as_ref())
                                .payload(json.as_slice()),
                        )?;
                    }
                    member
                        .region_partition
                        .insert(Arc::clone(region), m.partition());
                    dirty.insert(Arc::clone(region), m.partition());
                }
                Outcome::Held { region } => {
                    tally.held();
                    stats.held += 1;
                    member
                        .region_partition
                        .insert(Arc::clone(region), m.partition());
                    dirty.insert(Arc::clone(region), m.partition());
                }
                Outcome::Duplicate { of, .. } => {
                    tally.duplicate(of.is_some());
                    stats.near_duplicates += u64::from(of.is_some());
                }
                Outcome::Rejected(e) => {
                    stats.dlq += 1;
                    tally.rejected(e.reason);
                    let kept = bytes.len().min(k.dlq_max_payload_bytes);
                    let headers = dlq_headers(
                        e,
                        (m.topic(), m.partition(), m.offset()),
                        m.timestamp().to_millis(),
                        bytes.len(),
                        kept < bytes.len(),
                    );
                    let key = m.key().map(String::from_utf8_lossy);
                    let mut record = BaseRecord::to(&k.dlq_topic)
                        .payload(&bytes[..kept])
                        .headers(headers);
                    if let Some(key) = key.as_deref() {
                        record = record.key(key);
                    }
                    send(&member.producer, record)?;
                }
            }
        }
    }
    // The changelog: each changed region's meta record, and its changed panes and ids (null
    // where evicted), in the partition of the region's input.
    for (region, partition) in &dirty {
        let Some(changes) = member.engine.take_changes(region) else {
            continue;
        };
        let put = |key: String, value: Option<Vec<u8>>| {
            let mut record = BaseRecord::<str, [u8]>::to(&k.state_topic)
                .key(&key)
                .partition(*partition);
            if let Some(v) = &value {
                record = record.payload(v.as_slice());
            }
            send(&member.producer, record)
        };
        put(state_key::meta(region), Some(json(&changes.meta)?))?;
        for (signal, start, pane) in &changes.windows.panes {
            let value = pane.as_ref().map(json).transpose()?;
            put(state_key::pane(region, *signal, *start), value)?;
        }
        for (id, t) in &changes.windows.seen {
            let value = t.as_ref().map(json).transpose()?;
            put(state_key::seen(region, id), value)?;
        }
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in &offsets {
        tpl.add_partition_offset(&k.input_topic, *p, Offset::Offset(*o))?;
    }
    let produced = Instant::now();
    let mut commit_seconds = None;
    if opts.transactions {
        let metadata = member
            .consumer
            .group_metadata()
            .ok_or_else(|| PipelineError::Config("consumer has no group metadata".into()))?;
        member
            .producer
            .send_offsets_to_transaction(&tpl, &metadata, Duration::from_secs(30))?;
        let offsets_sent = Instant::now();
        await_deliveries(&member.producer, Duration::from_secs(60))?;
        member
            .producer
            .commit_transaction(Duration::from_secs(60))?;
        commit_seconds = Some(produced.elapsed().as_secs_f64());
        tracing::debug!(
            process_ms = (produced - batch_started).as_millis() as u64,
            offsets_ms = (offsets_sent - produced).as_millis() as u64,
            commit_ms = offsets_sent.elapsed().as_millis() as u64,
            "transaction"
        );
    } else {
        await_deliveries(&member.producer, Duration::from_secs(30))?;
        member.consumer.commit(&tpl, CommitMode::Sync)?;
    }
    if let Ok(mut committed) = member.consumer.context().committed.lock() {
        committed.extend(offsets);
    }
    Ok(Committed {
        alerts,
        tally,
        commit_seconds,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, PipelineError> {
    serde_json::to_vec(value).map_err(|e| PipelineError::Config(e.to_string()))
}
