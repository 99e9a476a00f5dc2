//! The topics the desk reads, into its store: `vigil.alerts`, `vigil.tagged`, the input topic
//! (report text), `vigil.reviews` and `vigil.silences`, every partition assigned from the
//! offset the store holds (its own transaction wrote it with the rows), outside any consumer
//! group: each desk instance reads everything, and more instances scale reads. Records are taken
//! in batches of at most `desk.batch_max_records`, one store transaction each, and what a batch
//! added goes to the live stream.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::broadcast;

use super::store::{Event, Read, Source, Store, StoreError};
use crate::config::Loaded;
use crate::kafka::access::{Doing, refusal};
use crate::kafka::{KafkaSetupError, client_config};
use crate::telemetry::desk::DeskMetrics;

/// Why the desk stopped reading.
#[derive(Debug, thiserror::Error)]
pub enum MaterializeError {
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("desk consumer: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("topic {0} has no partition the broker knows")]
    NoTopic(String),
}

/// A batch closes after this long even when not full, so that the live stream stays live.
const BATCH_LINGER: Duration = Duration::from_millis(50);
/// How often the store's report text is purged of what is older than the retention.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// One record read, owned until its batch is taken.
struct Owned {
    source: Source,
    topic: String,
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
    received_ms: i64,
}

/// The topics and what each holds.
pub fn topics(loaded: &Loaded) -> Vec<(String, Source)> {
    let k = &loaded.settings.kafka;
    vec![
        (k.alerts_topic.clone(), Source::Alerts),
        (k.tagged_topic.clone(), Source::Tagged),
        (k.input_topic.clone(), Source::Reports),
        (loaded.settings.desk.reviews_topic.clone(), Source::Reviews),
        (
            loaded.settings.delivery.silences_topic.clone(),
            Source::Silences,
        ),
        (
            loaded.settings.desk.erasures_topic.clone(),
            Source::Erasures,
        ),
    ]
}

/// Reads the topics into `store` until `stop`, sending what each batch added to `events`.
/// `caught_up` is set once every partition was read to where it ended at the start.
///
/// Errors: the client's at start, a topic with no partition, a fatal consumer error, or the
/// store failing (the desk then stops rather than skip records).
pub async fn run(
    loaded: Arc<Loaded>,
    brokers: String,
    store: Arc<Mutex<Store>>,
    events: broadcast::Sender<Arc<Event>>,
    metrics: Option<DeskMetrics>,
    caught_up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(), MaterializeError> {
    let k = &loaded.settings.kafka;
    let consumer: StreamConsumer = client_config(k, &brokers)
        // Assigned, not subscribed: offsets live in the store, and every desk instance reads
        // everything. librdkafka wants a group id for assign; the pipeline's is one the
        // principal may already use (docs/security.md), and no member joins by it here.
        .set("group.id", &k.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(KafkaSetupError::from)?;
    let topics = topics(&loaded);
    let mut tpl = TopicPartitionList::new();
    let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
    {
        let held = store.lock().map_err(|_| poisoned())?;
        for (topic, _) in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
            let parts: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic && t.error().is_none())
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if parts.is_empty() {
                return Err(MaterializeError::NoTopic(topic.clone()));
            }
            let offsets = held.offsets(topic)?;
            for p in parts {
                let from = offsets
                    .get(&p)
                    .map_or(Offset::Beginning, |&o| Offset::Offset(o));
                tpl.add_partition_offset(topic, p, from)?;
                let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(30))?;
                let next = offsets.get(&p).copied().unwrap_or(0);
                if high > next {
                    ends.insert((topic.clone(), p), high);
                }
            }
        }
    }
    consumer.assign(&tpl)?;
    tracing::info!(
        partitions = tpl.count(),
        behind = ends.len(),
        "desk reading its topics"
    );
    let source_of: BTreeMap<String, Source> = topics.into_iter().collect();
    let d = &loaded.settings.desk;
    let mut last_purge: Option<Instant> = None;
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if d.text_retention_days > 0 && last_purge.is_none_or(|t| t.elapsed() > PURGE_EVERY) {
            last_purge = Some(Instant::now());
            let before = now_ms() - i64::from(d.text_retention_days) * 86_400_000;
            let purged = store.lock().map_err(|_| poisoned())?.purge_text(before)?;
            if purged > 0 {
                tracing::info!(
                    reports = purged,
                    "report text past desk.text_retention_days purged"
                );
            }
        }
        let batch = read_batch(&consumer, &source_of, d.batch_max_records, &k.group_id).await?;
        if batch.is_empty() {
            mark_caught_up(&consumer, &mut ends, &caught_up, started);
            continue;
        }
        if let Some(m) = &metrics {
            let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
            for r in &batch {
                *counts.entry(source_name(r.source)).or_default() += 1;
            }
            for (source, n) in counts {
                m.taken(source, n);
            }
        }
        let held = Arc::clone(&store);
        let added = tokio::task::spawn_blocking(move || -> Result<Vec<Event>, StoreError> {
            let reads: Vec<Read<'_>> = batch
                .iter()
                .map(|o| Read {
                    source: o.source,
                    topic: &o.topic,
                    partition: o.partition,
                    offset: o.offset,
                    key: &o.key,
                    value: o.value.as_deref(),
                    received_ms: o.received_ms,
                })
                .collect();
            let mut s = held.lock().map_err(|_| poisoned_store())?;
            s.apply(&reads)
        })
        .await
        .map_err(|_| poisoned())??;
        for e in added {
            // No receiver (no stream client) is not an error.
            let _ = events.send(Arc::new(e));
        }
        mark_caught_up(&consumer, &mut ends, &caught_up, started);
    }
    Ok(())
}

/// Whether every partition behind at the start has been read to where it then ended.
fn mark_caught_up(
    consumer: &StreamConsumer,
    ends: &mut BTreeMap<(String, i32), i64>,
    caught_up: &AtomicBool,
    started: Instant,
) {
    if caught_up.load(Ordering::Relaxed) {
        return;
    }
    if let Ok(positions) = consumer.position() {
        ends.retain(|(topic, p), end| {
            !matches!(positions.find_partition(topic, *p).map(|e| e.offset()),
                Some(Offset::Offset(o)) if o >= *end)
        });
    }
    if ends.is_empty() {
        caught_up.store(true, Ordering::Relaxed);
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "desk store caught up with its topics"
        );
    }
}

/// Up to `max` records: waits for a first one (a short while, to look at `stop`), then takes
/// what arrives within [`BATCH_LINGER`].
async fn read_batch(
    consumer: &StreamConsumer,
    source_of: &BTreeMap<String, Source>,
    max: usize,
    group: &str,
) -> Result<Vec<Owned>, MaterializeError> {
    let mut batch = Vec::new();
    let first_wait = Duration::from_millis(200);
    let deadline = tokio::time::Instant::now() + first_wait;
    let mut linger_until: Option<tokio::time::Instant> = None;
    while batch.len() < max.max(1) {
        let until = linger_until.unwrap_or(deadline);
        match tokio::time::timeout_at(until, consumer.recv()).await {
            Err(_) => break,
            Ok(Ok(m)) => {
                let Some(&source) = source_of.get(m.topic()) else {
                    continue;
                };
                batch.push(Owned {
                    source,
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().unwrap_or_default().to_vec(),
                    value: m.payload().map(<[u8]>::to_vec),
                    received_ms: now_ms(),
                });
                linger_until.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_LINGER);
            }
            Ok(Err(e @ KafkaError::MessageConsumptionFatal(_))) => return Err(e.into()),
            // A refusal (a missing ACL): retrying cannot mend it, so the desk stops (and
            // `vigil run` with it) naming what is missing (docs/security.md).
            // The broker away: librdkafka reconnects; what was read so far is taken.
            Ok(Err(e)) => {
                let doing = Doing {
                    topic: Some(("Read", "one of the desk's topics (docs/security.md)")),
                    group: Some(("Describe", group)),
                    transactional_id: None,
                };
                if let Some(denied) = refusal(&e, doing) {
                    return Err(KafkaSetupError::from(denied).into());
                }
                tracing::warn!(error = %e, "desk consumer error");
                tokio::time::sleep(first_wait).await;
                break;
            }
        }
    }
    Ok(batch)
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Alerts => "alerts",
        Source::Tagged => "tagged",
        Source::Reports => "reports",
        Source::Reviews => "reviews",
        Source::Silences => "silences",
        Source::Erasures => "erasures",
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn poisoned() -> MaterializeError {
    MaterializeError::Store(poisoned_store())
}

fn poisoned_store() -> StoreError {
    StoreError::Poisoned
}
