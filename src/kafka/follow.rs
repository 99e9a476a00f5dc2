//! Reading a whole topic, outside any consumer group: every partition from its beginning, first
//! up to where it ended when the reader started ([`Follower::catch_up`]), then as it grows
//! ([`Follower::next`]). The delivery stage reads the silences topic this way (every deliverer
//! needs every silence before it delivers anything), and the alerts topic once at start-up (to
//! learn which episodes are open, for inhibition and repeats); the CAP feed follows the alerts
//! topic so that each instance serves all of it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaSettings;

use super::{KafkaSetupError, client_config};

/// How long a catch-up may take before it is an error (a broker that cannot serve the topic
/// must stop start-up with a clear error, not hang it).
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// A reader of every partition of one topic, committed records only.
pub struct Follower {
    consumer: StreamConsumer,
    topic: String,
    partitions: Vec<i32>,
}

/// One record read: key and value (`None` for a tombstone), and where it was.
pub struct Read<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
    pub partition: i32,
    pub offset: i64,
}

impl<'a> From<&'a BorrowedMessage<'a>> for Read<'a> {
    fn from(m: &'a BorrowedMessage<'a>) -> Self {
        Read {
            key: m.key().unwrap_or_default(),
            value: m.payload(),
            partition: m.partition(),
            offset: m.offset(),
        }
    }
}

impl Follower {
    /// Assigns every partition of `topic` from its beginning.
    ///
    /// Errors: the client's, or a topic the broker does not know.
    pub fn open(
        settings: &KafkaSettings,
        brokers: &str,
        topic: &str,
    ) -> Result<Follower, KafkaSetupError> {
        let consumer: StreamConsumer = client_config(settings, brokers)
            // Assigned, not subscribed: nothing is committed and every reader gets every
            // partition. librdkafka wants a group id for assign; the pipeline's is one the
            // principal may already use (docs/security.md), and no member joins by it here.
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .create()?;
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(KafkaSetupError::Follow {
                topic: topic.to_string(),
                reason: "the broker knows no partition of it".into(),
            });
        }
        let mut tpl = TopicPartitionList::new();
        for &p in &partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;
        Ok(Follower {
            consumer,
            topic: topic.to_string(),
            partitions,
        })
    }

    /// The topic's partitions.
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    /// Reads every record up to each partition's end as of now, handing each to `f`.
    ///
    /// Errors: the client's, or [`CATCH_UP_TIMEOUT`] passed before the ends were reached.
    pub async fn catch_up(&self, f: impl FnMut(Read<'_>)) -> Result<u64, KafkaSetupError> {
        let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
        for &p in &self.partitions {
            let (low, high) =
                self.consumer
                    .fetch_watermarks(&self.topic, p, Duration::from_secs(30))?;
            if high > low {
                ends.insert(p, high);
            }
        }
        self.catch_up_to(&ends, f).await
    }

    /// Reads every record before `ends` (offset by partition; partitions not listed are not
    /// waited for), handing each to `f`. Records past an end may be handed too (a fetch brings
    /// what it brings); a caller that cares checks [`Read::offset`].
    ///
    /// Errors: the client's, or [`CATCH_UP_TIMEOUT`] passed before the ends were reached.
    pub async fn catch_up_to(
        &self,
        ends: &BTreeMap<i32, i64>,
        mut f: impl FnMut(Read<'_>),
    ) -> Result<u64, KafkaSetupError> {
        let started = Instant::now();
        let ends: BTreeMap<i32, i64> = ends
            .iter()
            .filter(|(_, end)| **end > 0)
            .map(|(p, end)| (*p, *end))
            .collect();
        let mut read = 0;
        while !self.reached(&ends)? {
            // (A partition's low watermark may be past `end` after retention: its position then
            // starts past it, and it counts as reached.)
            if started.elapsed() > CATCH_UP_TIMEOUT {
                return Err(KafkaSetupError::Follow {
                    topic: self.topic.clone(),
                    reason: format!("not read to its end within {CATCH_UP_TIMEOUT:?}"),
                });
            }
            // Short waits: the end may be a transaction marker, which is never handed out.
            if let Ok(m) =
                tokio::time::timeout(Duration::from_millis(200), self.consumer.recv()).await
            {
                f(Read::from(&m?));
                read += 1;
            }
        }
        Ok(read)
    }

    /// Whether every partition's position is at or past its end.
    fn reached(&self, ends: &BTreeMap<i32, i64>) -> Result<bool, KafkaError> {
        if ends.is_empty() {
            return Ok(true);
        }
        let position = self.consumer.position()?;
        Ok(ends.iter().all(|(&p, &end)| {
            match position.find_partition(&self.topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(at)) => at >= end,
                _ => false,
            }
        }))
    }

    /// The next record, waiting for one.
    pub async fn next(&self) -> Result<BorrowedMessage<'_>, KafkaError> {
        self.consumer.recv().await
    }
}
