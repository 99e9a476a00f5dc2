//! The streaming pipeline of `vigil run`: a consumer-group member that feeds the core and
//! commits, per batch and in one Kafka transaction, what the batch's outcome gives each sink
//! (alerts, tag detail, DLQ records, the changed regions' state in the compacted `vigil.state`
//! changelog) and the consumer offsets.
//!
//! No transaction is open while the consumer polls, so a rebalance never interrupts one: records
//! of revoked partitions are dropped from the pending batch (the next owner reads them again from
//! the committed offsets), and newly assigned partitions have their regions' state restored from
//! the changelog before any of their records is processed. A failed commit aborts, drops all
//! in-memory state and rejoins the group, which restores from the changelog: crash-only recovery
//! inside the process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::Producer;

use super::KafkaSetupError;
use super::access::{AccessError, Doing, refusal};
use super::batch_watchdog::BatchClock;
use super::member::{Member, new_member};
use super::sinks::{Batch, Sink, SinkError, sinks};
use super::transaction::{CommitError, Transaction};
use crate::config::Loaded;
use crate::engine::{BatchOutcome, Counts, Input};
use crate::telemetry::Telemetry;
use crate::telemetry::events::{BatchAborted, BatchCommitted, ConsumerStalled};

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
    /// The broker refused an operation (a missing ACL) or the credentials: retrying cannot
    /// mend it, so the run stops.
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    /// The configuration cannot build an engine.
    #[error("configuration: {0}")]
    Config(String),
}

impl PipelineError {
    /// A refusal by the broker (credentials, ACLs): rejoining would meet it again.
    fn is_refusal(&self) -> bool {
        matches!(
            self,
            PipelineError::Access(_) | PipelineError::Setup(KafkaSetupError::Access(_))
        )
    }
}

/// Ends the batch on the watchdog's clock when the loop's iteration ends, however it ends.
struct EndOnDrop<'a>(&'a BatchClock);

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Counters of a run, for its summary: what the committed batches did, and the pipeline's own
/// events.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    /// Input records in committed batches.
    pub records: u64,
    /// The outcomes of committed batches.
    pub counts: Counts,
    pub commits: u64,
    pub aborts: u64,
    pub restores: u64,
    pub restore_seconds: f64,
}

/// Runs the pipeline until `stop` is set or `max_records` are committed. Calls `on_alerts` with
/// each batch's outcome once it is committed.
pub fn run(
    loaded: &Loaded,
    opts: &PipelineOptions,
    stop: Arc<AtomicBool>,
    telemetry: &Telemetry,
    mut on_alerts: impl FnMut(&BatchOutcome),
) -> Result<RunStats, PipelineError> {
    let p = &loaded.settings.pipeline;
    let mut stats = RunStats::default();
    let mut member = new_member(loaded, opts, &telemetry.metrics)?;
    let sinks = sinks(&loaded.settings.kafka);
    let mut batch: Vec<OwnedMessage> = Vec::with_capacity(p.batch_max_records);
    let stall_timeout = Duration::from_secs(p.stall_timeout_secs);
    let mut last_progress = Instant::now();
    let clock = BatchClock::start(Duration::from_secs(p.batch_timeout_secs));
    while !stop.load(Ordering::Relaxed) {
        batch.clear();
        let batch_bytes = poll_batch(
            &mut member,
            loaded,
            opts,
            &stop,
            &mut batch,
            &mut stats,
            telemetry,
        )?;
        if batch.is_empty() {
            let stalled = !stall_timeout.is_zero()
                && last_progress.elapsed() >= stall_timeout
                && member.stalled_since(last_progress + stall_timeout / 2);
            if stalled {
                // Seen once after a broker restart: the consumer stopped fetching while records
                // waited, with no error. Crash-only recovery: rejoin and restore.
                telemetry.emit(ConsumerStalled {
                    seconds: last_progress.elapsed().as_secs(),
                });
                member = rejoin(member, loaded, opts, &stop, telemetry)?;
                last_progress = Instant::now();
            }
            continue;
        }
        last_progress = Instant::now();
        let started = Instant::now();
        clock.begin();
        let processed = process_batch(&mut member, loaded, opts, &sinks, &batch);
        // Ended after the alerts are handed on: a blocked output write is a stuck batch too.
        let _ended = EndOnDrop(&clock);
        match processed {
            Ok((outcome, commit_seconds)) => {
                telemetry.emit(BatchCommitted {
                    outcome: &outcome,
                    records: &batch,
                    bytes: batch_bytes,
                    batch_seconds: started.elapsed().as_secs_f64(),
                    commit_seconds,
                    gauges: member.engine.gauges(),
                });
                stats.commits += 1;
                stats.records += batch.len() as u64;
                stats.counts.add(&outcome.counts);
                on_alerts(&outcome);
                if opts.max_records.is_some_and(|m| stats.records >= m) {
                    break;
                }
            }
            Err(e) => {
                // The batch is over; rejoining waits for the broker as long as it is away.
                clock.end();
                if let Some(refused) = member.refusal(&e, loaded) {
                    return Err(refused.into());
                }
                // Abort, forget every in-memory effect of the batch, and rejoin: assignment
                // restores committed state and the consumer resumes from committed offsets.
                stats.aborts += 1;
                telemetry.emit(BatchAborted { error: &e });
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
        alerts = stats.counts.alerts,
        commits = stats.commits,
        "pipeline stopped"
    );
    Ok(stats)
}

/// Polls records into `batch` until `pipeline.batch_max_records`, `pipeline.batch_max_bytes` or
/// `pipeline.commit_interval_ms` (once it holds a record) is reached, applying rebalances
/// between polls. Returns the bytes of the batch's keys and payloads.
fn poll_batch(
    member: &mut Member,
    loaded: &Loaded,
    opts: &PipelineOptions,
    stop: &AtomicBool,
    batch: &mut Vec<OwnedMessage>,
    stats: &mut RunStats,
    telemetry: &Telemetry,
) -> Result<usize, PipelineError> {
    let p = &loaded.settings.pipeline;
    // Bytes of the batch's records as consumed: with a count alone, 10,000 records of a few
    // megabytes each would all be held (and copied to the DLQ) in one transaction.
    let mut batch_bytes = 0usize;
    let deadline = Instant::now() + Duration::from_millis(p.commit_interval_ms);
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
        member.apply_rebalances(loaded, opts, batch, stats, telemetry)?;
        match polled {
            Some(Ok(m)) if member.assigned.contains(&m.partition()) => {
                batch_bytes += m.payload().map_or(0, <[u8]>::len);
                batch_bytes += m.key().map_or(0, <[u8]>::len);
                batch.push(m);
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let k = &loaded.settings.kafka;
                let doing = Doing {
                    topic: Some(("Read", &k.input_topic)),
                    group: Some(("Read", &k.group_id)),
                    transactional_id: None,
                };
                if let Some(refused) = refusal(&e, doing) {
                    return Err(refused.into());
                }
                tracing::warn!(error = %e, "consumer error")
            }
            None => {
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    Ok(batch_bytes)
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
            Err(e) if !stop.load(Ordering::Relaxed) && !e.is_refusal() => {
                tracing::warn!(error = %e, "cannot rejoin yet");
                // Not synchronisation: a pause between attempts to reach the cluster.
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Processes one batch and commits its outputs, state and offsets together: the core makes the
/// batch's outcome, each sink writes its part of it in the transaction, and the transaction
/// commits with the input offsets. Returns the outcome and the commit's seconds.
fn process_batch(
    member: &mut Member,
    loaded: &Loaded,
    opts: &PipelineOptions,
    sinks: &[Box<dyn Sink + Send>],
    messages: &[OwnedMessage],
) -> Result<(BatchOutcome, Option<f64>), PipelineError> {
    let k = &loaded.settings.kafka;
    let tx = Transaction::begin(&member.producer, opts.transactions)?;
    let inputs: Vec<Input<'_>> = messages
        .iter()
        .map(|m| Input {
            bytes: m.payload().unwrap_or_default(),
            received_at: m.timestamp().to_millis().map(|ms| ms.div_euclid(1000)),
        })
        .collect();
    let outcome = member.engine.process_batch(&inputs);
    // Which partition's regions the engine holds, for revocation.
    for entry in &outcome.entries {
        if let Some(region) = entry.outcome.changed_region() {
            let partition = messages[entry.input].partition();
            member
                .region_partition
                .insert(Arc::clone(region), partition);
        }
    }
    let batch = Batch {
        messages,
        inputs: &inputs,
        outcome: &outcome,
    };
    for sink in sinks {
        sink.write(&batch, &tx)?;
    }
    let mut offsets: BTreeMap<i32, i64> = BTreeMap::new();
    for m in messages {
        offsets.insert(m.partition(), m.offset() + 1);
    }
    let commit_seconds = tx.commit(&member.consumer, &k.input_topic, &offsets)?;
    if let Ok(mut committed) = member.consumer.context().committed.lock() {
        committed.extend(offsets);
    }
    Ok((outcome, commit_seconds))
}
