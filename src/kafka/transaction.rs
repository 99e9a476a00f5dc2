//! Producing records and committing them: the send that waits for room when librdkafka's queue
//! is full (used by the pipeline and by replay), and a batch's transaction, which commits the
//! batch's records together with the input offsets, or without transactions (the embedded mock
//! cluster) flushes and commits the offsets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use super::access::Watch;
use rdkafka::{Offset, TopicPartitionList};

/// Sends one record; when librdkafka's queue is full, serves delivery reports (which frees
/// room) and tries again. Other errors are returned.
pub(crate) fn send<C: ProducerContext<DeliveryOpaque = ()>>(
    producer: &BaseProducer<C>,
    mut record: BaseRecord<'_, str, [u8]>,
) -> Result<(), KafkaError> {
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

/// Waits until every record produced so far is delivered. rdkafka's `flush` (which
/// `commit_transaction` calls first) waits in polls of up to 100 ms, and measured here always
/// lost the whole 100 ms: that was every batch's commit time. Polling in 1 ms steps (each returns
/// as soon as a delivery report arrives) leaves `commit_transaction` nothing to wait for.
fn await_deliveries(producer: &BaseProducer<Watch>, timeout: Duration) -> Result<(), KafkaError> {
    let deadline = Instant::now() + timeout;
    while producer.in_flight_count() > 0 {
        if Instant::now() >= deadline {
            return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
        }
        producer.poll(Duration::from_millis(1));
    }
    Ok(())
}

/// Why a batch could not commit.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The consumer has left its group (transactions need the group's generation).
    #[error("the consumer has no group metadata")]
    NoGroupMetadata,
}

/// One batch's records and offsets, committed together.
pub(crate) struct Transaction<'a> {
    pub(crate) producer: &'a BaseProducer<Watch>,
    /// Exactly-once with Kafka transactions; off only for the embedded mock cluster.
    transactional: bool,
}

impl<'a> Transaction<'a> {
    /// Begins a transaction (when transactional).
    pub(crate) fn begin(
        producer: &'a BaseProducer<Watch>,
        transactional: bool,
    ) -> Result<Transaction<'a>, KafkaError> {
        if transactional {
            producer.begin_transaction()?;
        }
        Ok(Transaction {
            producer,
            transactional,
        })
    }

    pub(crate) fn send(&self, record: BaseRecord<'_, str, [u8]>) -> Result<(), KafkaError> {
        send(self.producer, record)
    }

    /// Commits the records sent with the consumer's next offsets of `topic` (partition → next
    /// offset). Returns the seconds the commit itself took, when transactional.
    pub(crate) fn commit<C: ConsumerContext>(
        self,
        consumer: &BaseConsumer<C>,
        topic: &str,
        offsets: &BTreeMap<i32, i64>,
    ) -> Result<Option<f64>, CommitError> {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in offsets {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*o))?;
        }
        if !self.transactional {
            await_deliveries(self.producer, Duration::from_secs(30))?;
            consumer.commit(&tpl, CommitMode::Sync)?;
            return Ok(None);
        }
        let started = Instant::now();
        let metadata = consumer
            .group_metadata()
            .ok_or(CommitError::NoGroupMetadata)?;
        self.producer
            .send_offsets_to_transaction(&tpl, &metadata, Duration::from_secs(30))?;
        let offsets_sent = Instant::now();
        await_deliveries(self.producer, Duration::from_secs(60))?;
        self.producer.commit_transaction(Duration::from_secs(60))?;
        tracing::debug!(
            offsets_ms = (offsets_sent - started).as_millis() as u64,
            commit_ms = offsets_sent.elapsed().as_millis() as u64,
            "transaction"
        );
        Ok(Some(started.elapsed().as_secs_f64()))
    }
}
