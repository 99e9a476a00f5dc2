//! Reading the compacted `vigil.state` changelog back: each assigned partition from its start to
//! its end (read_committed: only committed transactions), decoded by `state::changelog`.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::access::{Doing, refusal};
use super::{KafkaSetupError, client_config};
use crate::config::KafkaSettings;
use crate::engine::RestoredRegion;
use crate::state::changelog::Rebuild;

/// The restore consumer reads to the end of each partition on purpose: its end-of-partition
/// events are progress, not errors worth logging.
struct EofIsNotAnError;

impl ClientContext for EofIsNotAnError {
    fn error(&self, error: KafkaError, reason: &str) {
        // As a partition event or, from the fetcher, as a global error.
        let eof = matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(rdkafka::error::RDKafkaErrorCode::PartitionEOF);
        if !eof {
            tracing::error!(%error, reason, "kafka restore consumer");
        }
    }
}

impl ConsumerContext for EofIsNotAnError {}

/// State restored for some partitions of the changelog.
#[derive(Debug, Default)]
pub struct Restored {
    /// Each region with the partition it lives in.
    pub regions: Vec<(i32, RestoredRegion)>,
    /// Changelog records read.
    pub records: u64,
    pub elapsed: Duration,
}

/// Reads the state changelog partitions `partitions` from the beginning up to their end and
/// rebuilds each region (the latest record per key wins; a null value deletes).
///
/// Errors: Kafka errors, `kafka.restore_timeout_secs` passing, or an undecodable record.
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
        // Assigned, not subscribed, and nothing committed. librdkafka wants a group id for
        // assign; the pipeline's is one the principal may already use (docs/security.md), and
        // no member joins by it here.
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create_with_context(EofIsNotAnError)?;
    // Reading the changelog needs Read on its topic: a refusal names it.
    let failed = |e: KafkaError| -> KafkaSetupError {
        let doing = Doing {
            topic: Some(("Read", &settings.state_topic)),
            ..Doing::default()
        };
        match refusal(&e, doing) {
            Some(refused) => refused.into(),
            None => e.into(),
        }
    };
    let mut tpl = TopicPartitionList::new();
    let mut pending: Vec<i32> = Vec::new();
    for &p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(&settings.state_topic, p, Duration::from_secs(30))
            .map_err(failed)?;
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
    // One rebuild per partition: a region's records all live in its input's partition.
    let mut rebuilds: Vec<(i32, Rebuild)> =
        pending.iter().map(|&p| (p, Rebuild::default())).collect();
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
            Some(Err(e)) => return Err(failed(e)),
            Some(Ok(m)) => {
                out.records += 1;
                let Some(key) = m.key() else { continue };
                let Some((_, rebuild)) = rebuilds.iter_mut().find(|(p, _)| *p == m.partition())
                else {
                    continue;
                };
                let key = String::from_utf8_lossy(key).into_owned();
                rebuild.apply(key, m.payload().map(<[u8]>::to_vec));
            }
        }
    }
    for (partition, rebuild) in rebuilds {
        if rebuild.unknown_keys > 0 {
            tracing::warn!(
                partition,
                keys = rebuild.unknown_keys,
                "ignoring unknown state keys"
            );
        }
        let regions = rebuild.finish().map_err(|e| KafkaSetupError::Restore {
            partition,
            reason: e.to_string(),
        })?;
        out.regions
            .extend(regions.into_iter().map(|r| (partition, r)));
    }
    out.elapsed = started.elapsed();
    Ok(out)
}
