//! `[desk]` in `config/vigil.toml`: where the desk keeps its store, which topic holds analyst
//! reviews, and the limits of its API (docs/desk.md).

use serde::{Deserialize, Serialize};

/// `[desk]`: the early-warning desk's store, topics and limits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskSettings {
    /// Whether `vigil run` runs the desk (and then publishes `kafka.tagged_topic`, which the
    /// desk reads).
    pub enabled: bool,
    /// The SQLite file of the store, relative to the working directory. The embedded demo
    /// cluster of `vigil run` uses a fresh file beside it instead (`<store>.demo`): its topics
    /// are new at each start, so offsets from an earlier run would not match them.
    pub store: String,
    /// Analyst reviews (append-only; the desk's audit trail).
    pub reviews_topic: String,
    /// Erasures of reports' text (compacted, keyed by report id, kept for ever): every desk
    /// instance purges the text and never takes it again, a store rebuilt from the topics too
    /// (docs/security.md).
    pub erasures_topic: String,
    /// Report text is purged from the store this many days after the desk read it (0: kept
    /// as long as the store). Tags, alerts and reviews stay.
    pub text_retention_days: u32,
    /// Failed authentications allowed per client address per minute; the next are answered
    /// 429 until the minute is over.
    pub max_auth_failures_per_minute: u32,
    /// Largest request body (bytes): reviews and silences are small.
    pub max_body_bytes: usize,
    /// Longest time one API request may take (milliseconds) before it is answered 503.
    pub request_timeout_ms: u64,
    /// Most `/api/v1/stream` clients at once; more are answered 503.
    pub max_stream_clients: usize,
    /// How long a region picture (`/regions`, `/regions/{code}/profile` without `as_of`) is
    /// served from cache before it is computed again (milliseconds; 0: never cached).
    pub picture_cache_ms: u64,
    /// Records read from Kafka per store transaction, at most.
    pub batch_max_records: usize,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            enabled: true,
            store: "vigil-desk.sqlite".into(),
            reviews_topic: "vigil.reviews".into(),
            erasures_topic: "vigil.erasures".into(),
            text_retention_days: 90,
            max_auth_failures_per_minute: 10,
            max_body_bytes: 16 * 1024,
            request_timeout_ms: 10_000,
            max_stream_clients: 2_000,
            picture_cache_ms: 1_000,
            batch_max_records: 5_000,
        }
    }
}
