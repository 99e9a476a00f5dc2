//! The size, count and time limits every report is held to (`[limits]` in `config/vigil.toml`),
//! read by validation and by the importers that build reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Size, count and time limits applied to every report. Each is a named setting in
/// `config/vigil.toml` under `[limits]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted message or JSONL line, in bytes.
    pub max_message_bytes: usize,
    /// Largest accepted `text` (and `title`), in bytes (DESIGN: 64 KiB).
    pub max_text_bytes: usize,
    /// Longest accepted `id`, in bytes (DESIGN: 128).
    pub max_id_bytes: usize,
    /// Longest accepted `region` and `source.id`, in bytes.
    pub max_code_bytes: usize,
    /// Largest accepted casualty count in any one field.
    pub max_count: i64,
    /// Most entries accepted in `actors` and in `categories`.
    pub max_list_len: usize,
    /// How far `event_time` may lie after `reported_at` (or after the receive time), in seconds.
    pub max_future_skew_secs: i64,
    /// The earliest plausible `event_time` (RFC 3339); earlier reports are rejected `too_early`.
    /// The default, 1989-01-01, is where the UCDP GED record starts (ACLED's starts in 1997).
    pub earliest_event_time: DateTime<Utc>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 256 * 1024,
            max_text_bytes: 64 * 1024,
            max_id_bytes: 128,
            max_code_bytes: 64,
            max_count: 1_000_000,
            max_list_len: 64,
            max_future_skew_secs: 6 * 3600,
            earliest_event_time: DateTime::from_timestamp(EARLIEST_EVENT_TIME, 0)
                .unwrap_or_default(),
        }
    }
}

/// 1989-01-01T00:00:00Z, the default [`Limits::earliest_event_time`].
const EARLIEST_EVENT_TIME: i64 = 599_616_000;
