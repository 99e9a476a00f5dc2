//! What a region's windows answer: sums of a signal's panes over a window, evidence ids, where
//! data lies next; and what they forget (eviction).

use super::panes::PaneSeries;
use super::sources::{
    SMALL_SOURCE_BAR, SourceCount, Want, distinct_sources, distinct_sources_up_to,
};
use super::{Contribution, RegionWindows, Signal, WindowAggregate, WindowSettings};
use std::sync::Arc;

impl RegionWindows {
    pub fn new(track_changes: bool) -> Self {
        RegionWindows {
            watermark: i64::MIN,
            track_changes,
            ..Default::default()
        }
    }

    pub fn add(
        &mut self,
        signal: Signal,
        event_time: i64,
        c: &Contribution<'_>,
        settings: &WindowSettings,
    ) {
        let pane = event_time.div_euclid(settings.pane_secs) * settings.pane_secs;
        self.panes.entry(signal).or_default().add(
            pane,
            c,
            settings.max_evidence_ids,
            self.track_changes,
        );
    }

    /// Sums of the panes of `signal` with start in `[from, to)`. Distinct sources cost a sort
    /// and the per-report maxima a walk over the window's panes, so each is computed only when
    /// asked for; the sums are read off the running totals.
    pub(crate) fn aggregate(
        &self,
        signal: Signal,
        from: i64,
        to: i64,
        want: Want,
    ) -> WindowAggregate {
        let mut agg = WindowAggregate::default();
        let Some(series) = self.panes.get(&signal) else {
            return agg;
        };
        let (totals, range) = series.window(from, to);
        let panes = &series.panes[range.clone()];
        agg.reports = totals.reports;
        agg.casualties = totals.casualties;
        agg.score = totals.score_milli as f64 / 1000.0;
        if want.maxima {
            for pane in panes {
                agg.max_killed_corroborated = agg
                    .max_killed_corroborated
                    .max(pane.max_killed_corroborated);
                agg.max_abducted_corroborated = agg
                    .max_abducted_corroborated
                    .max(pane.max_abducted_corroborated);
                agg.max_civilians_killed_corroborated = agg
                    .max_civilians_killed_corroborated
                    .max(pane.max_civilians_killed_corroborated);
            }
        }
        agg.sources = match want.sources {
            SourceCount::Skip => 0,
            SourceCount::UpTo(cap) if cap <= SMALL_SOURCE_BAR => {
                distinct_sources_up_to(&series.hints[range], panes, cap)
            }
            SourceCount::UpTo(_) | SourceCount::Exact => distinct_sources(panes),
        };
        agg
    }

    /// The smallest report ids behind `signals` in `[from, to)`, at most `max`.
    pub fn evidence(&self, signals: &[Signal], from: i64, to: i64, max: usize) -> Vec<String> {
        let mut ids: Vec<&Arc<str>> = signals
            .iter()
            .filter_map(|s| self.panes.get(s))
            .flat_map(|series| series.panes[series.window(from, to).1].iter())
            .flat_map(|pane| pane.evidence.iter())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().take(max).map(|id| id.to_string()).collect()
    }

    /// The start of the first pane of any of `signals` that starts at or after `t`: where the
    /// next window with data for a rule over `signals` can begin. Two look-ups per signal.
    pub(crate) fn next_pane_start(&self, signals: &[Signal], t: i64) -> Option<i64> {
        signals
            .iter()
            .filter_map(|s| self.panes.get(s))
            .filter_map(|series| series.starts.get(series.index(t)).copied())
            .min()
    }

    /// Report count only: the cheap path for baselines.
    pub fn count(&self, signal: Signal, from: i64, to: i64) -> u64 {
        self.panes
            .get(&signal)
            .map_or(0, |s| s.window(from, to).0.reports)
    }

    /// Drops panes and ids that no window within `retention_secs` of the watermark can need.
    pub(crate) fn evict(&mut self, retention_secs: i64, settings: &WindowSettings) {
        if self.watermark == i64::MIN {
            return;
        }
        let pane_horizon = self.watermark - retention_secs - settings.allowed_lateness_secs;
        let mut starts = Vec::new();
        for (&signal, series) in self.panes.iter_mut() {
            series.evict_before(pane_horizon, &mut starts);
            if self.track_changes {
                self.evicted_panes
                    .extend(starts.iter().map(|&start| (signal, start)));
            }
            starts.clear();
        }
        self.panes.retain(|_, s| s.len() > 0);
        let id_horizon = self.watermark - settings.allowed_lateness_secs;
        let expired = self.seen.extract_if(|_, s| s.event_time < id_horizon);
        if self.track_changes {
            self.evicted_ids.extend(expired.map(|(id, _)| id));
        } else {
            expired.for_each(drop);
        }
        // The same horizon for the near-duplicate index, in one pass over it.
        self.near.retain(|_, entries| {
            entries.retain(|e| e.event_time >= id_horizon);
            !entries.is_empty()
        });
    }

    /// Non-empty panes across all signals (for the state-memory figure and metrics).
    pub(crate) fn pane_count(&self) -> usize {
        self.panes.values().map(PaneSeries::len).sum()
    }

    pub fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        self.panes.keys().copied()
    }
}
