//! Kafka I/O: the streaming pipeline of `vigil run` and what it stands on. `pipeline.rs` is the
//! loop (poll a batch, hand it to the core, hand the outcome to the sinks, commit);
//! `member.rs` the consumer-group member with its rebalances and lag statistics; `sinks.rs`
//! writes a batch's outcome to the alerts, tagged, DLQ and changelog topics; `transaction.rs`
//! sends records and commits them with the offsets; `restore.rs` reads the changelog back;
//! `follow.rs` reads a whole topic outside any group (silences, the CAP feed);
//! `client.rs`, `admin.rs` set up clients and topics; `replay.rs` produces a file to the input
//! topic. The embedded mock cluster of `vigil run`'s default lives in `cli/run.rs`.

pub(crate) mod access;
mod admin;
pub mod batch_watchdog;
mod client;
pub mod follow;
mod member;
pub mod pipeline;
pub mod replay;
pub mod restore;
mod sinks;
mod transaction;

use rdkafka::error::KafkaError;

pub use access::AccessError;
pub use admin::{ensure_delivery_topics, ensure_desk_topics, ensure_silences_topic, ensure_topics};
pub use client::{Membership, check_secrets, client_config, describe, group_member_config};
pub(crate) use transaction::send;

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The broker refused the credentials or an operation (a missing ACL).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// No broker answered within `kafka.connect_timeout_secs`.
    #[error("no Kafka broker of {brokers} answered within kafka.connect_timeout_secs = {secs}")]
    Unreachable { brokers: String, secs: u64 },
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("reading topic {topic}: {reason}")]
    Follow { topic: String, reason: String },
    #[error("restoring state partition {partition}: {reason}")]
    Restore { partition: i32, reason: String },
}
