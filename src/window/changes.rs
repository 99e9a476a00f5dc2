//! The windows' side of their state: which panes and ids changed since the changelog last took
//! them (tombstones for evicted ones), and rebuilding windows from restored parts. The encoding
//! of these in the changelog belongs to `state::changelog`.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::admission::{NearEntry, SeenId};
use super::near_duplicate::Fingerprint;
use super::panes::{Pane, PaneSeries};
use super::{RegionWindows, Signal};

/// The changes of one region since the last [`RegionWindows::take_changes`]: each pane or id
/// with its new value, or `None` where it was evicted (a tombstone in the changelog).
#[derive(Debug, Default)]
pub struct WindowChanges {
    pub panes: Vec<(Signal, i64, Option<Pane>)>,
    pub seen: Vec<(String, Option<CountedId>)>,
}

/// A counted id as the windows declare it: the report's event time (Unix seconds) and, for a
/// report carrying a signal, its near-duplicate fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedId {
    pub event_time: i64,
    pub near: Option<Fingerprint>,
}

impl RegionWindows {
    /// Takes the panes and ids changed since the last call, with their current values, sorted
    /// (tombstones of the same key come first, so a later value wins in a compacted log).
    pub fn take_changes(&mut self) -> WindowChanges {
        let mut panes: Vec<(Signal, i64, Option<Pane>)> = self
            .evicted_panes
            .drain(..)
            .map(|(signal, start)| (signal, start, None))
            .collect();
        for (&signal, series) in self.panes.iter_mut() {
            if series.dirty_count == 0 {
                continue;
            }
            for i in series.head..series.starts.len() {
                if std::mem::take(&mut series.dirty[i]) {
                    panes.push((signal, series.starts[i], Some(series.panes[i].clone())));
                }
            }
            series.dirty_count = 0;
        }
        panes.sort_by_key(|(signal, start, pane)| (*signal, *start, pane.is_some()));
        let mut seen: Vec<(String, Option<CountedId>)> = self
            .evicted_ids
            .drain(..)
            .map(|id| (id.to_string(), None))
            .collect();
        for (id, s) in self.seen.iter_mut() {
            if std::mem::take(&mut s.dirty) {
                let counted = CountedId {
                    event_time: s.event_time,
                    near: s.near,
                };
                seen.push((id.to_string(), Some(counted)));
            }
        }
        seen.sort_unstable_by(|a, b| (&a.0, a.1.is_some()).cmp(&(&b.0, b.1.is_some())));
        WindowChanges { panes, seen }
    }

    /// Rebuilds windows from restored changelog records.
    pub(crate) fn from_parts(
        watermark: i64,
        panes: impl IntoIterator<Item = (Signal, i64, Pane)>,
        seen: impl IntoIterator<Item = (String, CountedId)>,
    ) -> RegionWindows {
        let mut by_signal: BTreeMap<Signal, Vec<(i64, Pane)>> = BTreeMap::new();
        for (signal, start, pane) in panes {
            by_signal.entry(signal).or_default().push((start, pane));
        }
        let mut near: FxHashMap<u64, Vec<NearEntry>> = FxHashMap::default();
        let seen = seen.into_iter().map(|(id, counted)| {
            let id: Arc<str> = Arc::from(id);
            let CountedId {
                event_time,
                near: fp,
            } = counted;
            if let Some(fp) = fp {
                near.entry(fp.key).or_default().push(NearEntry {
                    event_time,
                    sketch: fp.sketch,
                    id: Arc::clone(&id),
                });
            }
            let dirty = false;
            (
                id,
                SeenId {
                    event_time,
                    near: fp,
                    dirty,
                },
            )
        });
        RegionWindows {
            watermark,
            seen: seen.collect(),
            near,
            panes: by_signal
                .into_iter()
                .map(|(signal, panes)| (signal, PaneSeries::from_sorted(panes)))
                .collect(),
            ..RegionWindows::default()
        }
    }

    /// Starts (or stops) recording changes for [`RegionWindows::take_changes`].
    pub(crate) fn set_change_tracking(&mut self, on: bool) {
        self.track_changes = on;
    }
}
