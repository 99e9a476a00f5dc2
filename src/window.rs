//! Event-time state per region: the region's watermark, the ids already counted (dedup), and the
//! panes of every signal. A pane is a fixed slice of event time (`pane_secs`, 1 h by default);
//! a report touches exactly one pane per signal it carries, and any sliding window is the sum of
//! the panes it covers.
//!
//! Watermarks are kept per region, not per partition: a region's state then depends only on the
//! sequence of that region's reports, which is what lets the Kafka pipeline (any partitioning,
//! any number of instances) and the offline backtest compute the same windows. No region can
//! stall another, so idle partitions never hold the watermark back.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
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
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            pane_secs: 3600,
            allowed_lateness_secs: 72 * 3600,
            max_evidence_ids: 20,
        }
    }
}

/// A signal inside one region: a threat (by taxonomy index) or a risk factor (1–14).
/// Serialised as `t<index>` / `r<number>`, so that it can key a JSON map in the changelog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Signal {
    Threat(u8),
    Risk(u8),
}

impl From<Signal> for String {
    fn from(s: Signal) -> String {
        match s {
            Signal::Threat(t) => format!("t{t}"),
            Signal::Risk(r) => format!("r{r}"),
        }
    }
}

impl TryFrom<String> for Signal {
    type Error = String;

    fn try_from(s: String) -> Result<Signal, String> {
        let n = || {
            s[1..]
                .parse::<u8>()
                .map_err(|e| format!("signal {s:?}: {e}"))
        };
        match s.as_bytes().first() {
            Some(b't') => n().map(Signal::Threat),
            Some(b'r') => n().map(Signal::Risk),
            _ => Err(format!("signal {s:?}: expected t<n> or r<n>")),
        }
    }
}

/// Counts a report contributes to the panes of each of its signals.
#[derive(Debug, Clone)]
pub struct Contribution<'a> {
    pub report_id: &'a str,
    pub source_id: &'a str,
    /// Weight of this report for this signal in millis (source reliability × tag weight).
    pub score_milli: u64,
    pub casualties: [u64; 6],
    pub corroborated: bool,
}

/// Aggregates of one pane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pane {
    pub reports: u32,
    pub score_milli: u64,
    /// killed, injured, abducted, missing, displaced, sexual_violence.
    pub casualties: [u64; 6],
    /// Largest single-report killed / abducted counts among corroborated reports.
    pub max_killed_corroborated: u64,
    pub max_abducted_corroborated: u64,
    /// Distinct sources as FNV-1a hashes of their ids (stable across builds), sorted.
    pub sources: Vec<u64>,
    /// Smallest report ids, sorted, at most `max_evidence_ids`.
    pub evidence: Vec<String>,
}

impl Pane {
    fn add(&mut self, c: &Contribution<'_>, max_evidence: usize) {
        self.reports += 1;
        self.score_milli += c.score_milli;
        for (sum, v) in self.casualties.iter_mut().zip(c.casualties) {
            *sum += v;
        }
        if c.corroborated {
            self.max_killed_corroborated = self.max_killed_corroborated.max(c.casualties[0]);
            self.max_abducted_corroborated = self.max_abducted_corroborated.max(c.casualties[2]);
        }
        let source = source_hash(c.source_id);
        if let Err(at) = self.sources.binary_search(&source) {
            self.sources.insert(at, source);
        }
        if let Err(at) = self
            .evidence
            .binary_search_by(|s| s.as_str().cmp(c.report_id))
            && at < max_evidence
        {
            self.evidence.insert(at, c.report_id.to_string());
            self.evidence.truncate(max_evidence);
        }
    }
}

fn source_hash(id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(id.as_bytes());
    h.finish()
}

/// The sum of the panes in one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WindowAggregate {
    pub reports: u64,
    /// Distinct sources; only counted when asked for (see [`RegionWindows::aggregate`]).
    pub sources: u64,
    pub score: f64,
    pub casualties: [u64; 6],
    pub max_killed_corroborated: u64,
    pub max_abducted_corroborated: u64,
}

/// What admitting a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; `late` when it arrived behind the region's watermark (but within lateness).
    Accepted { late: bool },
    /// Its id was already counted in this region.
    Duplicate,
    /// Older than the watermark minus allowed lateness.
    TooLate,
}

/// Keys changed since the changelog last took them. Not part of the state's value: two
/// windows with the same content are equal whatever they have yet to write.
#[derive(Debug, Clone, Default)]
struct Dirty {
    panes: BTreeSet<(Signal, i64)>,
    seen: BTreeSet<String>,
}

impl PartialEq for Dirty {
    fn eq(&self, _: &Dirty) -> bool {
        true
    }
}

/// The changes of one region since the last [`RegionWindows::take_changes`]: each pane or id
/// with its new value, or `None` where it was evicted (a tombstone in the changelog).
#[derive(Debug, Default)]
pub struct WindowChanges {
    pub panes: Vec<(Signal, i64, Option<Pane>)>,
    pub seen: Vec<(String, Option<i64>)>,
}

/// All window state of one region. The Kafka pipeline keeps it in `vigil.state` as one record
/// per pane and per id, so a batch writes only what it changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionWindows {
    /// Largest event time seen in this region (Unix seconds); `i64::MIN` before the first report.
    pub watermark: i64,
    /// Ids counted, with their event time, kept while a duplicate could still be in lateness.
    seen: BTreeMap<String, i64>,
    panes: BTreeMap<Signal, BTreeMap<i64, Pane>>,
    #[serde(skip)]
    dirty: Dirty,
}

impl RegionWindows {
    pub fn new() -> Self {
        RegionWindows {
            watermark: i64::MIN,
            ..Default::default()
        }
    }

    /// Dedup and lateness check; advances the watermark for accepted reports.
    pub fn admit(&mut self, id: &str, event_time: i64, settings: &WindowSettings) -> Admission {
        if self.watermark != i64::MIN
            && event_time < self.watermark - settings.allowed_lateness_secs
        {
            return Admission::TooLate;
        }
        if self.seen.contains_key(id) {
            return Admission::Duplicate;
        }
        self.seen.insert(id.to_string(), event_time);
        self.dirty.seen.insert(id.to_string());
        let late = event_time < self.watermark;
        self.watermark = self.watermark.max(event_time);
        Admission::Accepted { late }
    }

    pub fn add(
        &mut self,
        signal: Signal,
        event_time: i64,
        c: &Contribution<'_>,
        settings: &WindowSettings,
    ) {
        let pane = event_time.div_euclid(settings.pane_secs) * settings.pane_secs;
        self.dirty.panes.insert((signal, pane));
        self.panes
            .entry(signal)
            .or_default()
            .entry(pane)
            .or_default()
            .add(c, settings.max_evidence_ids);
    }

    /// Sum of the panes of `signal` with start in `[from, to)`. Distinct sources cost a sort,
    /// so they are counted only when `with_sources` is set.
    pub fn aggregate(
        &self,
        signal: Signal,
        from: i64,
        to: i64,
        with_sources: bool,
    ) -> WindowAggregate {
        let mut agg = WindowAggregate::default();
        let Some(panes) = self.panes.get(&signal) else {
            return agg;
        };
        let mut sources: Vec<u64> = Vec::new();
        let mut score_milli = 0u64;
        for pane in panes.range(from..to).map(|(_, p)| p) {
            agg.reports += u64::from(pane.reports);
            score_milli += pane.score_milli;
            for (sum, v) in agg.casualties.iter_mut().zip(pane.casualties) {
                *sum += v;
            }
            agg.max_killed_corroborated = agg
                .max_killed_corroborated
                .max(pane.max_killed_corroborated);
            agg.max_abducted_corroborated = agg
                .max_abducted_corroborated
                .max(pane.max_abducted_corroborated);
            if with_sources {
                sources.extend_from_slice(&pane.sources);
            }
        }
        sources.sort_unstable();
        sources.dedup();
        agg.sources = sources.len() as u64;
        agg.score = score_milli as f64 / 1000.0;
        agg
    }

    /// The smallest report ids behind `signals` in `[from, to)`, at most `max`.
    pub fn evidence(&self, signals: &[Signal], from: i64, to: i64, max: usize) -> Vec<String> {
        let mut ids: Vec<&String> = signals
            .iter()
            .filter_map(|s| self.panes.get(s))
            .flat_map(|p| p.range(from..to).flat_map(|(_, pane)| pane.evidence.iter()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().take(max).cloned().collect()
    }

    /// Report count only: the cheap path for baselines.
    pub fn count(&self, signal: Signal, from: i64, to: i64) -> u64 {
        self.panes.get(&signal).map_or(0, |p| {
            p.range(from..to).map(|(_, p)| u64::from(p.reports)).sum()
        })
    }

    /// Drops panes and ids that no window within `retention_secs` of the watermark can need.
    pub fn evict(&mut self, retention_secs: i64, settings: &WindowSettings) {
        if self.watermark == i64::MIN {
            return;
        }
        let pane_horizon = self.watermark - retention_secs - settings.allowed_lateness_secs;
        for (&signal, panes) in self.panes.iter_mut() {
            let kept = panes.split_off(&pane_horizon);
            for &start in panes.keys() {
                self.dirty.panes.insert((signal, start));
            }
            *panes = kept;
        }
        self.panes.retain(|_, p| !p.is_empty());
        let id_horizon = self.watermark - settings.allowed_lateness_secs;
        let dirty = &mut self.dirty;
        self.seen.retain(|id, &mut t| {
            let keep = t >= id_horizon;
            if !keep {
                dirty.seen.insert(id.clone());
            }
            keep
        });
    }

    /// Takes the panes and ids changed since the last call, with their current values.
    pub fn take_changes(&mut self) -> WindowChanges {
        let dirty = std::mem::take(&mut self.dirty);
        WindowChanges {
            panes: dirty
                .panes
                .into_iter()
                .map(|(signal, start)| {
                    let pane = self.panes.get(&signal).and_then(|p| p.get(&start)).cloned();
                    (signal, start, pane)
                })
                .collect(),
            seen: dirty
                .seen
                .into_iter()
                .map(|id| {
                    let t = self.seen.get(&id).copied();
                    (id, t)
                })
                .collect(),
        }
    }

    /// Rebuilds windows from restored changelog records.
    pub fn from_parts(
        watermark: i64,
        panes: impl IntoIterator<Item = (Signal, i64, Pane)>,
        seen: impl IntoIterator<Item = (String, i64)>,
    ) -> RegionWindows {
        let mut w = RegionWindows {
            watermark,
            seen: seen.into_iter().collect(),
            ..RegionWindows::default()
        };
        for (signal, start, pane) in panes {
            w.panes.entry(signal).or_default().insert(start, pane);
        }
        w
    }

    /// Non-empty panes across all signals (for the state-memory figure and metrics).
    pub fn pane_count(&self) -> usize {
        self.panes.values().map(BTreeMap::len).sum()
    }

    pub fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        self.panes.keys().copied()
    }
}

/// Region state of every region, keyed by region code.
pub type RegionMap<V> = FxHashMap<String, V>;

#[cfg(test)]
mod tests {
    use super::*;

    fn contribution(id: &str, source: &str) -> Contribution<'static> {
        Contribution {
            report_id: Box::leak(id.to_string().into_boxed_str()),
            source_id: Box::leak(source.to_string().into_boxed_str()),
            score_milli: 500,
            casualties: [1, 0, 2, 0, 0, 0],
            corroborated: true,
        }
    }

    #[test]
    fn watermark_lateness_and_dedup() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new();
        assert_eq!(
            w.admit("a", 100_000, &s),
            Admission::Accepted { late: false }
        );
        assert_eq!(w.admit("a", 100_000, &s), Admission::Duplicate);
        assert_eq!(w.admit("b", 90_000, &s), Admission::Accepted { late: true });
        assert_eq!(w.watermark, 100_000);
        let too_old = 100_000 - s.allowed_lateness_secs - 1;
        assert_eq!(w.admit("c", too_old, &s), Admission::TooLate);
        // Exactly at the lateness bound is still accepted.
        assert_eq!(
            w.admit("d", 100_000 - s.allowed_lateness_secs, &s),
            Admission::Accepted { late: true }
        );
    }

    #[test]
    fn windows_sum_panes_and_count_distinct_sources() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new();
        let sig = Signal::Threat(2);
        for (i, (t, src)) in [(0, "s1"), (1800, "s2"), (3600, "s1"), (7200, "s3")]
            .iter()
            .enumerate()
        {
            w.add(sig, *t, &contribution(&format!("r{i}"), src), &s);
        }
        let agg = w.aggregate(sig, 0, 7200, true);
        assert_eq!(agg.reports, 3);
        assert_eq!(agg.sources, 2);
        assert_eq!(agg.casualties[2], 6);
        assert_eq!(w.evidence(&[sig], 0, 7200, 10), ["r0", "r1", "r2"]);
        assert_eq!(w.evidence(&[sig], 0, 7200, 2), ["r0", "r1"]);
        assert_eq!(w.aggregate(sig, 0, 7200, false).sources, 0);
        assert_eq!(agg.score, 1.5);
        assert_eq!(w.count(sig, 3600, 10_800), 2);
        assert_eq!(w.pane_count(), 3);
    }

    #[test]
    fn changes_round_trip_through_parts() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new();
        let sig = Signal::Threat(1);
        for (i, t) in [0i64, 10, 4000, 90_000 * 10].iter().enumerate() {
            let id = format!("r{i}");
            w.admit(&id, *t, &s);
            w.add(sig, *t, &contribution(&id, "s"), &s);
        }
        w.evict(86_400, &s);
        let changes = w.take_changes();
        assert!(
            changes.panes.iter().any(|(_, _, p)| p.is_none()),
            "evicted panes are tombstones"
        );
        assert!(
            changes.seen.iter().any(|(_, t)| t.is_none()),
            "evicted ids are tombstones"
        );
        let rebuilt = RegionWindows::from_parts(
            w.watermark,
            changes
                .panes
                .into_iter()
                .filter_map(|(sig, start, p)| p.map(|p| (sig, start, p))),
            changes
                .seen
                .into_iter()
                .filter_map(|(id, t)| t.map(|t| (id, t))),
        );
        assert_eq!(rebuilt, w);
        assert!(w.take_changes().panes.is_empty());
    }

    #[test]
    fn eviction_keeps_what_lateness_can_still_reach() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new();
        let sig = Signal::Risk(7);
        w.add(sig, 0, &contribution("old", "s"), &s);
        w.admit("old", 0, &s);
        let now = 10 * 86_400;
        w.add(sig, now, &contribution("new", "s"), &s);
        w.admit("new", now, &s);
        w.evict(86_400, &s);
        assert_eq!(w.pane_count(), 1);
        assert_eq!(
            w.admit("old", now - 3600, &s),
            Admission::Accepted { late: true }
        );
    }
}
