//! Admission of a report to its region's windows: lateness against the region's watermark,
//! dedup by id, and near-duplicates of counted reports. Only an admitted report adds to panes.

use std::sync::Arc;

use super::near_duplicate::{BINS, Fingerprint};
use super::{RegionWindows, WindowSettings};

/// What admitting a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Counted; `late` when it arrived behind the region's watermark (but within lateness). `id`
    /// is the id as stored, for the report's contributions to share.
    Accepted { late: bool, id: Arc<str> },
    /// Its id was already counted in this region.
    Duplicate,
    /// It repeats the counted report `of` (same source and particulars, near-identical words).
    NearDuplicate { of: Arc<str> },
    /// Older than the watermark minus allowed lateness.
    TooLate,
}
/// An id counted in a region: its event time, its near-duplicate fingerprint, and whether the
/// changelog has it yet.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeenId {
    pub(super) event_time: i64,
    pub(super) near: Option<Fingerprint>,
    pub(super) dirty: bool,
}

/// A counted report in the near-duplicate index.
#[derive(Debug, Clone)]
pub(super) struct NearEntry {
    pub(super) event_time: i64,
    pub(super) sketch: [u16; BINS],
    pub(super) id: Arc<str>,
}

impl RegionWindows {
    /// Whether a report of `event_time` lies further behind the watermark than
    /// `window.allowed_lateness_secs` (the lateness rule, here only).
    pub(crate) fn is_too_late(&self, event_time: i64, settings: &WindowSettings) -> bool {
        self.watermark != i64::MIN && event_time < self.watermark - settings.allowed_lateness_secs
    }

    /// Whether a report with this id was counted in this region.
    pub(crate) fn has_seen(&self, id: &str) -> bool {
        self.seen.contains_key(id)
    }

    /// The smallest counted id whose report `fp` repeats: same source and particulars, close in
    /// event time, near-identical wording (see `near_duplicate.rs`).
    pub(super) fn near_duplicate_of(
        &self,
        fp: &Fingerprint,
        event_time: i64,
        settings: &WindowSettings,
    ) -> Option<Arc<str>> {
        let candidates = self.near.get(&fp.key)?;
        let repeats = |e: &&NearEntry| {
            (e.event_time - event_time).abs() <= settings.near_duplicate_secs
                && fp.similarity_to(&e.sketch) >= settings.near_duplicate_similarity
        };
        candidates
            .iter()
            .filter(repeats)
            .map(|e| &e.id)
            .min()
            .cloned()
    }

    /// Dedup (by id, then as a near-duplicate of a counted report: `fingerprint` is asked for
    /// only when `window.near_duplicate_secs` is on, and may decline) and lateness check; advances the watermark
    /// for accepted reports.
    pub fn admit(
        &mut self,
        id: &str,
        event_time: i64,
        settings: &WindowSettings,
        fingerprint: impl FnOnce() -> Option<Fingerprint>,
    ) -> Admission {
        if self.is_too_late(event_time, settings) {
            return Admission::TooLate;
        }
        if self.seen.contains_key(id) {
            return Admission::Duplicate;
        }
        let near = (settings.near_duplicate_secs > 0)
            .then(fingerprint)
            .flatten();
        if let Some(of) = near.and_then(|fp| self.near_duplicate_of(&fp, event_time, settings)) {
            return Admission::NearDuplicate { of };
        }
        let id: Arc<str> = Arc::from(id);
        if let Some(fp) = near {
            self.near.entry(fp.key).or_default().push(NearEntry {
                event_time,
                sketch: fp.sketch,
                id: Arc::clone(&id),
            });
        }
        self.seen.insert(
            Arc::clone(&id),
            SeenId {
                event_time,
                near,
                dirty: self.track_changes,
            },
        );
        let late = event_time < self.watermark;
        self.watermark = self.watermark.max(event_time);
        Admission::Accepted { late, id }
    }
}
