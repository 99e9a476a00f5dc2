//! Event-time state per region: the region's watermark, the ids already counted (dedup), and the
//! panes of every signal. A pane is a fixed slice of event time (`pane_secs`, 1 h by default);
//! a report touches exactly one pane per signal it carries, and any sliding window is the sum of
//! the panes it covers.
//!
//! Watermarks are kept per region, not per partition: a region's state then depends only on the
//! sequence of that region's reports, which is what lets the Kafka pipeline (any partitioning,
//! any number of instances) and the offline backtest compute the same windows. No region can
//! stall another, so idle partitions never hold the watermark back.

mod admission;
mod aggregates;
mod changes;
pub mod near_duplicate;
mod panes;
mod settings;
mod signal;
mod sources;
pub mod suspect;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::report::CasualtyKind;
use rustc_hash::FxHashMap;
use serde::Serialize;

pub use admission::Admission;
pub use changes::{CountedId, WindowChanges};
pub use panes::{Contribution, Pane};
pub use settings::WindowSettings;
pub use signal::Signal;
pub use sources::{SourceCount, Want};

use admission::{NearEntry, SeenId};
use panes::PaneSeries;

/// The sum of the panes in one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct WindowAggregate {
    pub reports: u64,
    /// Distinct sources; only counted when asked for (see [`RegionWindows::aggregate`]).
    pub sources: u64,
    pub score: f64,
    pub casualties: [u64; CasualtyKind::COUNT],
    pub max_killed_corroborated: u64,
    pub max_abducted_corroborated: u64,
    pub max_civilians_killed_corroborated: u64,
}
/// All window state of one region. The Kafka pipeline keeps it in `vigil.state` as one record
/// per pane and per id, so a batch writes only what it changed.
#[derive(Debug, Clone, Default)]
pub struct RegionWindows {
    /// Largest event time seen in this region (Unix seconds); `i64::MIN` before the first report.
    pub watermark: i64,
    /// Ids counted, kept while a duplicate could still be in lateness.
    seen: FxHashMap<Arc<str>, SeenId>,
    /// Counted reports by fingerprint key (source and particulars), for near-duplicate look-ups:
    /// a report is compared only with those of its key.
    near: FxHashMap<u64, Vec<NearEntry>>,
    /// Ids evicted since the changelog last took changes (its tombstones).
    evicted_ids: Vec<Arc<str>>,
    panes: BTreeMap<Signal, PaneSeries>,
    /// Panes evicted since the changelog last took changes (its tombstones).
    evicted_panes: Vec<(Signal, i64)>,
    /// Whether changes are recorded for [`RegionWindows::take_changes`]: only a pipeline with a
    /// changelog takes them, and untaken tombstones would grow without bound.
    track_changes: bool,
}

impl PartialEq for RegionWindows {
    /// The content only: two windows with the same content are equal whatever they have yet to
    /// write to the changelog.
    fn eq(&self, o: &RegionWindows) -> bool {
        self.watermark == o.watermark
            && self.panes == o.panes
            && self.seen.len() == o.seen.len()
            && self
                .seen
                .iter()
                .all(|(id, s)| o.seen.get(id).is_some_and(|t| t.event_time == s.event_time))
    }
}
