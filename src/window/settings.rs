//! The `[window]` settings: pane width, lateness, evidence, holds and near-duplicates.

use serde::{Deserialize, Serialize};

/// Window settings (`[window]` in `config/vigil.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSettings {
    /// Pane width in seconds; every rule's window, hop and baseline must be a multiple of it.
    pub pane_secs: i64,
    /// How far behind its region's watermark a report may arrive and still count (72 h).
    pub allowed_lateness_secs: i64,
    /// Report ids kept per pane as alert evidence (the smallest ids, so the choice does not
    /// depend on arrival order).
    pub max_evidence_ids: usize,
    /// How far ahead of its region's watermark a report's event time may lie before the report
    /// is held as suspect (30 days; see `suspect.rs`).
    pub max_watermark_jump_secs: i64,
    /// Most reports held as suspect per region; more are refused `time_jump`.
    pub max_held_reports: usize,
    /// How close in event time two reports of one source must be to be near-duplicates
    /// (24 h; 0 turns the detection off). See `near_duplicate.rs`.
    pub near_duplicate_secs: i64,
    /// Estimated Jaccard similarity of word pairs at or above which two such reports are one.
    pub near_duplicate_similarity: f64,
    /// Most bytes of reports held as suspect per region (they travel in the changelog's `meta`
    /// record, which must stay under the broker's message size).
    pub max_held_bytes: usize,
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            pane_secs: 3600,
            allowed_lateness_secs: 72 * 3600,
            max_evidence_ids: 20,
            max_watermark_jump_secs: 30 * 86_400,
            max_held_reports: 16,
            near_duplicate_secs: 86_400,
            near_duplicate_similarity: 0.8,
            max_held_bytes: 256 * 1024,
        }
    }
}
