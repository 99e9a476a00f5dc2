//! Everything the core keeps for one region, split as the changelog keeps it: the windows
//! (panes and counted ids, one record each) and the region's meta (episodes, pane clock, held
//! reports, one record). The encoding of both is `state::changelog`'s.

use std::sync::Arc;

use crate::alert::EpisodeTracker;
use crate::window::suspect::Hold;
use crate::window::{CountedId, Pane, RegionWindows, Signal, WindowChanges};

use super::Engine;

/// A region's state apart from its windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionMeta {
    /// One tracker per rule, by rule index.
    pub trackers: Vec<EpisodeTracker>,
    /// The pane in which the last reconcile of every rule ran.
    pub(crate) last_pane: Option<i64>,
    /// The pane of the last eviction.
    pub(crate) last_evict: Option<i64>,
    /// Reports whose event time jumps ahead of the region's clock, waiting for corroboration.
    pub(crate) held: Hold,
}

/// Everything the core keeps for one region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionState {
    pub windows: RegionWindows,
    pub meta: RegionMeta,
}

/// A region's changes since the changelog last took them: its meta record whole, and its
/// changed panes and ids (with tombstones for evicted ones).
#[derive(Debug)]
pub struct RegionChanges {
    pub region: Arc<str>,
    pub watermark: i64,
    pub meta: RegionMeta,
    pub windows: WindowChanges,
}

/// A region as the changelog restores it.
#[derive(Debug, Default)]
pub struct RestoredRegion {
    pub region: String,
    pub watermark: i64,
    pub meta: RegionMeta,
    pub panes: Vec<(Signal, i64, Pane)>,
    pub seen: Vec<(String, CountedId)>,
}

impl Engine {
    /// The state of one region.
    pub fn region_state(&self, region: &str) -> Option<&RegionState> {
        self.regions.get(region)
    }

    /// What changed in a region since the last call: its meta record and its changed panes and
    /// ids (the changelog writes exactly these). Empty unless [`Engine::with_changelog`].
    pub fn take_changes(&mut self, region: &str) -> Option<RegionChanges> {
        let key = Arc::clone(self.regions.get_key_value(region)?.0);
        let state = self.regions.get_mut(region)?;
        Some(RegionChanges {
            region: key,
            watermark: state.windows.watermark,
            meta: state.meta.clone(),
            windows: state.windows.take_changes(),
        })
    }

    /// Installs a region restored from the changelog (rebalance, restart).
    pub(crate) fn restore_region(&mut self, restored: RestoredRegion) {
        let mut meta = restored.meta;
        meta.trackers
            .resize(self.rules.len(), EpisodeTracker::default());
        let mut windows =
            RegionWindows::from_parts(restored.watermark, restored.panes, restored.seen);
        windows.set_change_tracking(self.track_changes);
        let state = RegionState { windows, meta };
        self.regions.insert(Arc::from(restored.region), state);
    }

    /// Forgets a region (its partition moved to another instance).
    pub fn remove_region(&mut self, region: &str) {
        self.regions.remove(region);
    }
}
