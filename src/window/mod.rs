//! Event-time state per region: the region's watermark, the ids already counted (dedup), and the
//! panes of every signal. A pane is a fixed slice of event time (`pane_secs`, 1 h by default);
//! a report touches exactly one pane per signal it carries, and any sliding window is the sum of
//! the panes it covers.
//!
//! Watermarks are kept per region, not per partition: a region's state then depends only on the
//! sequence of that region's reports, which is what lets the Kafka pipeline (any partitioning,
//! any number of instances) and the offline backtest compute the same windows. No region can
//! stall another, so idle partitions never hold the watermark back.

pub mod near_duplicate;
pub mod suspect;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::window::near_duplicate::{BINS, Fingerprint};

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
    /// The id as the region's dedup set holds it, shared with the panes' evidence lists.
    pub report_id: &'a Arc<str>,
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
    /// Smallest report ids, sorted, at most `max_evidence_ids` (shared with the dedup set).
    pub evidence: Vec<Arc<str>>,
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
            .binary_search_by(|s| s.as_ref().cmp(c.report_id.as_ref()))
            && at < max_evidence
        {
            self.evidence.insert(at, Arc::clone(c.report_id));
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

/// The additive part of a pane (or of a run of panes): what prefix sums can subtract.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    reports: u64,
    score_milli: u64,
    casualties: [u64; 6],
}

impl Totals {
    fn of(pane: &Pane) -> Totals {
        Totals {
            reports: u64::from(pane.reports),
            score_milli: pane.score_milli,
            casualties: pane.casualties,
        }
    }

    // Wrapping arithmetic: running sums only ever grow, and a difference of two running sums
    // is exact whenever the true window sum fits in a u64, even after a running sum wrapped.
    fn add(&mut self, o: &Totals) {
        *self = self.zip_with(o, u64::wrapping_add);
    }

    fn minus(&self, o: &Totals) -> Totals {
        self.zip_with(o, u64::wrapping_sub)
    }

    fn zip_with(&self, o: &Totals, f: fn(u64, u64) -> u64) -> Totals {
        Totals {
            reports: f(self.reports, o.reports),
            score_milli: f(self.score_milli, o.score_milli),
            casualties: std::array::from_fn(|i| f(self.casualties[i], o.casualties[i])),
        }
    }
}

/// The non-empty panes of one signal in one region, sorted by start, with a running total at
/// each pane so that the sums of any window cost two index look-ups instead of a walk over its
/// panes (a 72 h window is 72 panes; a 28-day spike baseline is 672).
///
/// Reports arrive mostly in order, so a pane is almost always added or updated at the end; a
/// late report updates the running totals of the panes after its own (at most the allowed
/// lateness, 72 panes by default). Eviction only moves `head` forward and frees the evicted
/// panes' contents; the arrays are compacted once the dead prefix outgrows the live part, so
/// eviction costs O(1) per pane rather than a shift of every live pane.
#[derive(Debug, Clone, Default)]
struct PaneSeries {
    /// Entries before `head` are evicted.
    head: usize,
    starts: Vec<i64>,
    panes: Vec<Pane>,
    /// `running[i]` = `evicted` + the totals of `panes[head..=i]`.
    running: Vec<Totals>,
    /// Totals of the panes evicted from the front; the base the running totals start from.
    evicted: Totals,
    /// `hints[i]`: pane `i`'s source when it has only one, so that a capped count of distinct
    /// sources reads this compact array instead of every pane and its source list.
    hints: Vec<SourceHint>,
    /// `dirty[i]`: pane `i` changed since the changelog last took it.
    dirty: Vec<bool>,
    dirty_count: usize,
}

impl PartialEq for PaneSeries {
    /// The live content only: running totals and dirty marks follow from it.
    fn eq(&self, o: &PaneSeries) -> bool {
        self.starts[self.head..] == o.starts[o.head..]
            && self.panes[self.head..] == o.panes[o.head..]
    }
}

/// What a pane's sources are, as far as a capped distinct count needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceHint {
    /// No report yet (a pane is filled right after it is created).
    None,
    One(u64),
    /// Several: the pane's list must be read.
    Many,
}

impl SourceHint {
    fn of(pane: &Pane) -> SourceHint {
        match pane.sources.as_slice() {
            [] => SourceHint::None,
            [one] => SourceHint::One(*one),
            _ => SourceHint::Many,
        }
    }
}

/// Index of the first element of the sorted `v` that is `>= t`, searching outward from `guess`
/// in doubling steps, so that a guess `d` places off costs about `2 log d` comparisons.
fn gallop(v: &[i64], guess: usize, t: i64) -> usize {
    let Some(last) = v.len().checked_sub(1) else {
        return 0;
    };
    let guess = guess.min(last);
    if v[guess] < t {
        // The answer lies after `guess`.
        let (mut lo, mut step) = (guess + 1, 1);
        while lo + step <= v.len() && v[lo + step - 1] < t {
            lo += step;
            step *= 2;
        }
        let hi = (lo + step).min(v.len());
        lo + v[lo..hi].partition_point(|&x| x < t)
    } else {
        // The answer is `guess` or before it.
        let (mut hi, mut step) = (guess, 1);
        while hi >= step && v[hi - step] >= t {
            hi -= step;
            step *= 2;
        }
        let lo = hi.saturating_sub(step);
        lo + v[lo..hi].partition_point(|&x| x < t)
    }
}

/// Compaction waits until at least this many panes are dead, so that small series never move.
const MIN_COMPACTION: usize = 64;

impl PaneSeries {
    fn from_sorted(mut panes: Vec<(i64, Pane)>) -> PaneSeries {
        panes.sort_unstable_by_key(|(start, _)| *start);
        let mut s = PaneSeries::default();
        let mut total = Totals::default();
        for (start, pane) in panes {
            total.add(&Totals::of(&pane));
            s.hints.push(SourceHint::of(&pane));
            s.starts.push(start);
            s.panes.push(pane);
            s.running.push(total);
            s.dirty.push(false);
        }
        s
    }

    fn len(&self) -> usize {
        self.starts.len() - self.head
    }

    /// The live panes with their starts.
    fn live(&self) -> impl Iterator<Item = (i64, &Pane)> {
        let starts = self.starts[self.head..].iter().copied();
        starts.zip(&self.panes[self.head..])
    }

    /// Index (into the arrays) of the first live pane starting at or after `t`.
    fn index(&self, t: i64) -> usize {
        let live = &self.starts[self.head..];
        let (Some(&first), Some(&last)) = (live.first(), live.last()) else {
            return self.head;
        };
        if last < t {
            return self.starts.len();
        }
        if t <= first {
            return self.head;
        }
        // Interpolation: exact when the signal has a pane in every slot, and close when it has
        // gaps; the answer is then searched for on the side of the guess where it must lie.
        // (Here first < t <= last, so the answer lies in 1..len.)
        // Offsets and counts fit in 64 bits by far (centuries of seconds times millions of
        // panes), and a 64-bit division is several times cheaper than a 128-bit one.
        let (offset, span) = ((t - first) as u64, (last - first) as u64);
        let guess = match offset.checked_mul((live.len() - 1) as u64) {
            Some(scaled) => (scaled / span) as usize,
            None => (u128::from(offset) * (live.len() - 1) as u128 / u128::from(span)) as usize,
        };
        self.head + gallop(live, guess, t)
    }

    /// Running total before pane `i`.
    fn before(&self, i: usize) -> &Totals {
        if i == self.head {
            &self.evicted
        } else {
            &self.running[i - 1]
        }
    }

    fn add(&mut self, start: i64, c: &Contribution<'_>, max_evidence: usize, track: bool) {
        let i = self.index(start);
        if self.starts.get(i) != Some(&start) {
            let running = *self.before(i);
            self.starts.insert(i, start);
            self.panes.insert(i, Pane::default());
            self.running.insert(i, running);
            self.hints.insert(i, SourceHint::None);
            self.dirty.insert(i, false);
        }
        self.panes[i].add(c, max_evidence);
        self.hints[i] = SourceHint::of(&self.panes[i]);
        if track && !self.dirty[i] {
            self.dirty[i] = true;
            self.dirty_count += 1;
        }
        let delta = Totals {
            reports: 1,
            score_milli: c.score_milli,
            casualties: c.casualties,
        };
        for r in &mut self.running[i..] {
            r.add(&delta);
        }
    }

    /// Sums of the panes with start in `[from, to)`, and the index range of those panes.
    fn window(&self, from: i64, to: i64) -> (Totals, Range<usize>) {
        let (i, j) = (self.index(from), self.index(to));
        if i >= j {
            return (Totals::default(), 0..0);
        }
        (self.before(j).minus(self.before(i)), i..j)
    }

    /// Evicts the panes starting before `horizon` and appends their starts to `evicted`.
    fn evict_before(&mut self, horizon: i64, evicted: &mut Vec<i64>) {
        let k = self.index(horizon);
        if k == self.head {
            return;
        }
        self.evicted = self.running[k - 1];
        evicted.extend_from_slice(&self.starts[self.head..k]);
        for i in self.head..k {
            // Free what the pane holds now; its slot goes at the next compaction.
            self.panes[i] = Pane::default();
            if std::mem::take(&mut self.dirty[i]) {
                self.dirty_count -= 1;
            }
        }
        self.head = k;
        if self.head >= MIN_COMPACTION && self.head >= self.len() {
            self.starts.drain(..self.head);
            self.panes.drain(..self.head);
            self.running.drain(..self.head);
            self.hints.drain(..self.head);
            self.dirty.drain(..self.head);
            self.head = 0;
        }
    }
}

/// An id counted in a region: its event time, its near-duplicate fingerprint, and whether the
/// changelog has it yet.
#[derive(Debug, Clone, Copy)]
struct SeenId {
    event_time: i64,
    near: Option<Fingerprint>,
    dirty: bool,
}

/// A counted report in the near-duplicate index.
#[derive(Debug, Clone)]
struct NearEntry {
    event_time: i64,
    sketch: [u16; BINS],
    id: Arc<str>,
}

/// A counted id as the changelog keeps it: its event time, written as a bare number when it has
/// no fingerprint (which is also how changelogs before near-duplicate detection wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SeenRecord {
    Time(i64),
    Full {
        t: i64,
        #[serde(flatten)]
        near: Fingerprint,
    },
}

impl SeenRecord {
    fn of(s: &SeenId) -> SeenRecord {
        match s.near {
            None => SeenRecord::Time(s.event_time),
            Some(near) => SeenRecord::Full {
                t: s.event_time,
                near,
            },
        }
    }

    fn parts(self) -> (i64, Option<Fingerprint>) {
        match self {
            SeenRecord::Time(t) => (t, None),
            SeenRecord::Full { t, near } => (t, Some(near)),
        }
    }
}

/// The changes of one region since the last [`RegionWindows::take_changes`]: each pane or id
/// with its new value, or `None` where it was evicted (a tombstone in the changelog).
#[derive(Debug, Default)]
pub struct WindowChanges {
    pub panes: Vec<(Signal, i64, Option<Pane>)>,
    pub seen: Vec<(String, Option<SeenRecord>)>,
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

/// The serialised form of [`RegionWindows`]: sorted maps, so the bytes are deterministic.
#[derive(Serialize, Deserialize)]
struct RegionWindowsRecord {
    watermark: i64,
    seen: BTreeMap<String, i64>,
    panes: BTreeMap<Signal, BTreeMap<i64, Pane>>,
}

impl Serialize for RegionWindows {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RegionWindowsRecord {
            watermark: self.watermark,
            seen: self
                .seen
                .iter()
                .map(|(id, s)| (id.to_string(), s.event_time))
                .collect(),
            panes: self
                .panes
                .iter()
                .map(|(&signal, series)| {
                    let panes = series.live().map(|(start, pane)| (start, pane.clone()));
                    (signal, panes.collect())
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RegionWindows {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = RegionWindowsRecord::deserialize(deserializer)?;
        let panes = r
            .panes
            .into_iter()
            .flat_map(|(signal, panes)| panes.into_iter().map(move |(t, p)| (signal, t, p)));
        let seen = r.seen.into_iter().map(|(id, t)| (id, SeenRecord::Time(t)));
        Ok(RegionWindows::from_parts(r.watermark, panes, seen))
    }
}

impl RegionWindows {
    pub fn new(track_changes: bool) -> Self {
        RegionWindows {
            watermark: i64::MIN,
            track_changes,
            ..Default::default()
        }
    }

    /// Whether a report with this id was counted in this region.
    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.contains_key(id)
    }

    /// The smallest counted id whose report `fp` repeats: same source and particulars, close in
    /// event time, near-identical wording (see `near_duplicate.rs`).
    fn near_duplicate_of(
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
        if self.watermark != i64::MIN
            && event_time < self.watermark - settings.allowed_lateness_secs
        {
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
    pub fn aggregate(&self, signal: Signal, from: i64, to: i64, want: Want) -> WindowAggregate {
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
    pub fn next_pane_start(&self, signals: &[Signal], t: i64) -> Option<i64> {
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
    pub fn evict(&mut self, retention_secs: i64, settings: &WindowSettings) {
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
        let mut seen: Vec<(String, Option<SeenRecord>)> = self
            .evicted_ids
            .drain(..)
            .map(|id| (id.to_string(), None))
            .collect();
        for (id, s) in self.seen.iter_mut() {
            if std::mem::take(&mut s.dirty) {
                seen.push((id.to_string(), Some(SeenRecord::of(s))));
            }
        }
        seen.sort_unstable_by(|a, b| (&a.0, a.1.is_some()).cmp(&(&b.0, b.1.is_some())));
        WindowChanges { panes, seen }
    }

    /// Rebuilds windows from restored changelog records.
    pub fn from_parts(
        watermark: i64,
        panes: impl IntoIterator<Item = (Signal, i64, Pane)>,
        seen: impl IntoIterator<Item = (String, SeenRecord)>,
    ) -> RegionWindows {
        let mut by_signal: BTreeMap<Signal, Vec<(i64, Pane)>> = BTreeMap::new();
        for (signal, start, pane) in panes {
            by_signal.entry(signal).or_default().push((start, pane));
        }
        let mut near: FxHashMap<u64, Vec<NearEntry>> = FxHashMap::default();
        let seen = seen.into_iter().map(|(id, record)| {
            let id: Arc<str> = Arc::from(id);
            let (event_time, fp) = record.parts();
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
    pub fn set_change_tracking(&mut self, on: bool) {
        self.track_changes = on;
    }

    /// Non-empty panes across all signals (for the state-memory figure and metrics).
    pub fn pane_count(&self) -> usize {
        self.panes.values().map(PaneSeries::len).sum()
    }

    pub fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        self.panes.keys().copied()
    }
}

/// How far an aggregate counts distinct sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceCount {
    /// Not at all (`sources` stays 0).
    #[default]
    Skip,
    /// Up to this many: enough to decide a `min_sources` bar, usually found in the first panes.
    UpTo(u64),
    /// Exactly (a sort over the window's sources).
    Exact,
}

/// What an aggregate must include beyond the sums, which are always there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    pub sources: SourceCount,
    /// The largest single corroborated killed / abducted counts (a walk over the panes).
    pub maxima: bool,
}

/// The largest `min_sources` bar counted with [`distinct_sources_up_to`].
const SMALL_SOURCE_BAR: u64 = 8;

/// Distinct sources across panes, but no more than `cap`: a linear scan that stops as soon as
/// `cap` different sources are seen. `hints` are the panes' hints: a pane with one source is
/// read from there, so only panes with several sources are visited.
fn distinct_sources_up_to(hints: &[SourceHint], panes: &[Pane], cap: u64) -> u64 {
    let mut seen: [u64; SMALL_SOURCE_BAR as usize] = [0; SMALL_SOURCE_BAR as usize];
    let mut n = 0usize;
    let mut count = |source: u64| {
        if !seen[..n].contains(&source) {
            seen[n] = source;
            n += 1;
        }
        n as u64 >= cap
    };
    for (hint, pane) in hints.iter().zip(panes) {
        let full = match hint {
            SourceHint::None => false,
            SourceHint::One(source) => count(*source),
            SourceHint::Many => pane.sources.iter().any(|&source| count(source)),
        };
        if full {
            break;
        }
    }
    n as u64
}

/// Distinct sources across panes, whose source lists are each sorted and deduplicated.
fn distinct_sources(panes: &[Pane]) -> u64 {
    match panes {
        [] => 0,
        [one] => one.sources.len() as u64,
        _ => {
            let mut all: Vec<u64> = panes
                .iter()
                .flat_map(|p| p.sources.iter().copied())
                .collect();
            all.sort_unstable();
            all.dedup();
            all.len() as u64
        }
    }
}

/// Region state of every region, keyed by region code.
pub type RegionMap<V> = FxHashMap<String, V>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A fingerprint no other report shares.
    fn distinct() -> Option<Fingerprint> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let key = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Fingerprint {
            key,
            sketch: [0; BINS],
        })
    }

    const ALL: Want = Want {
        sources: SourceCount::Exact,
        maxima: true,
    };

    fn contribution(id: &str, source: &str) -> Contribution<'static> {
        Contribution {
            report_id: Box::leak(Box::new(Arc::from(id))),
            source_id: Box::leak(source.to_string().into_boxed_str()),
            score_milli: 500,
            casualties: [1, 0, 2, 0, 0, 0],
            corroborated: true,
        }
    }

    #[test]
    fn watermark_lateness_and_dedup() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new(true);
        let accepted = |late: bool, id: &str| Admission::Accepted {
            late,
            id: Arc::from(id),
        };
        assert_eq!(w.admit("a", 100_000, &s, distinct), accepted(false, "a"));
        assert_eq!(w.admit("a", 100_000, &s, distinct), Admission::Duplicate);
        assert_eq!(w.admit("b", 90_000, &s, distinct), accepted(true, "b"));
        assert_eq!(w.watermark, 100_000);
        let too_old = 100_000 - s.allowed_lateness_secs - 1;
        assert_eq!(w.admit("c", too_old, &s, distinct), Admission::TooLate);
        // Exactly at the lateness bound is still accepted.
        assert_eq!(
            w.admit("d", 100_000 - s.allowed_lateness_secs, &s, distinct),
            accepted(true, "d")
        );
    }

    #[test]
    fn windows_sum_panes_and_count_distinct_sources() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new(true);
        let sig = Signal::Threat(2);
        for (i, (t, src)) in [(0, "s1"), (1800, "s2"), (3600, "s1"), (7200, "s3")]
            .iter()
            .enumerate()
        {
            w.add(sig, *t, &contribution(&format!("r{i}"), src), &s);
        }
        let agg = w.aggregate(sig, 0, 7200, ALL);
        assert_eq!(agg.reports, 3);
        assert_eq!(agg.sources, 2);
        assert_eq!(agg.casualties[2], 6);
        assert_eq!(w.evidence(&[sig], 0, 7200, 10), ["r0", "r1", "r2"]);
        assert_eq!(w.evidence(&[sig], 0, 7200, 2), ["r0", "r1"]);
        assert_eq!(w.aggregate(sig, 0, 7200, Want::default()).sources, 0);
        assert_eq!(agg.score, 1.5);
        assert_eq!(w.count(sig, 3600, 10_800), 2);
        assert_eq!(w.pane_count(), 3);
    }

    /// Three reports on the first day and one ten days later, then an eviction of the first.
    fn four_reports_then_eviction(track_changes: bool) -> RegionWindows {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new(track_changes);
        for (i, t) in [0i64, 10, 4000, 90_000 * 10].iter().enumerate() {
            let id = format!("r{i}");
            w.admit(&id, *t, &s, distinct);
            w.add(Signal::Threat(1), *t, &contribution(&id, "s"), &s);
        }
        w.evict(86_400, &s);
        w
    }

    #[test]
    fn changes_round_trip_through_parts() {
        let mut w = four_reports_then_eviction(true);
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
    fn without_a_changelog_nothing_is_recorded() {
        let mut w = four_reports_then_eviction(false);
        assert_eq!(w.pane_count(), 1, "eviction still runs");
        let changes = w.take_changes();
        assert!(changes.panes.is_empty() && changes.seen.is_empty());
    }

    #[test]
    fn eviction_keeps_what_lateness_can_still_reach() {
        let s = WindowSettings::default();
        let mut w = RegionWindows::new(true);
        let sig = Signal::Risk(7);
        w.add(sig, 0, &contribution("old", "s"), &s);
        w.admit("old", 0, &s, distinct);
        let now = 10 * 86_400;
        w.add(sig, now, &contribution("new", "s"), &s);
        w.admit("new", now, &s, distinct);
        w.evict(86_400, &s);
        assert_eq!(w.pane_count(), 1);
        assert!(matches!(
            w.admit("old", now - 3600, &s, distinct),
            Admission::Accepted { late: true, .. }
        ));
    }

    proptest::proptest! {
        /// The running totals agree with a plain sum over the panes, and the source hints with
        /// the panes' sources, whatever the order reports arrive in and wherever eviction cuts.
        #[test]
        fn running_totals_equal_plain_sums(
            mut reports in proptest::collection::vec((0i64..2_000_000, 0u64..50, 0u64..1000), 1..400),
            evict_every in 1usize..60,
            from in 0i64..2_000_000,
            len in 0i64..2_000_000,
        ) {
            let s = WindowSettings::default();
            let mut w = RegionWindows::new(true);
            let sig = Signal::Threat(0);
            // Mostly in order, as streams are, so that eviction and compaction run often.
            reports.sort_by_key(|r| r.0 / 200_000);
            for (i, &(t, killed, score)) in reports.iter().enumerate() {
                let mut c = contribution(&format!("r{i}"), ["s0", "s1", "s2"][(score % 3) as usize]);
                c.casualties[0] = killed;
                c.score_milli = score;
                w.watermark = w.watermark.max(t);
                w.add(sig, t, &c, &s);
                if i % evict_every == 0 {
                    w.evict(0, &WindowSettings { allowed_lateness_secs: 300_000, ..s.clone() });
                }
            }
            let Some(series) = w.panes.get(&sig) else {
                return Ok(());
            };
            let (mut reports_sum, mut killed_sum, mut score_sum) = (0u64, 0u64, 0u64);
            for (start, pane) in series.live() {
                if (from..from + len).contains(&start) {
                    reports_sum += u64::from(pane.reports);
                    killed_sum += pane.casualties[0];
                    score_sum += pane.score_milli;
                }
            }
            let agg = w.aggregate(sig, from, from + len, ALL);
            proptest::prop_assert_eq!(agg.reports, reports_sum);
            proptest::prop_assert_eq!(agg.casualties[0], killed_sum);
            proptest::prop_assert_eq!(agg.score, score_sum as f64 / 1000.0);
            proptest::prop_assert_eq!(w.count(sig, from, from + len), reports_sum);
            for (hint, pane) in series.hints[series.head..].iter().zip(&series.panes[series.head..]) {
                proptest::prop_assert_eq!(*hint, SourceHint::of(pane));
            }
            for cap in 1..=3 {
                let capped = Want { sources: SourceCount::UpTo(cap), maxima: false };
                let capped = w.aggregate(sig, from, from + len, capped).sources;
                proptest::prop_assert_eq!(capped, agg.sources.min(cap));
            }
        }

        /// Galloping from any guess finds what a binary search finds.
        #[test]
        fn gallop_agrees_with_binary_search(
            set in proptest::collection::btree_set(-50i64..50, 0..40),
            guess in 0usize..60,
            t in -60i64..60,
        ) {
            let v: Vec<i64> = set.into_iter().collect();
            proptest::prop_assert_eq!(gallop(&v, guess, t), v.partition_point(|&x| x < t));
        }

        /// The capped count is the exact count, capped.
        #[test]
        fn capped_source_count_is_the_exact_count_capped(
            panes in proptest::collection::vec(proptest::collection::btree_set(0u64..12, 0..6), 0..10),
            cap in 1u64..=SMALL_SOURCE_BAR,
        ) {
            let panes: Vec<Pane> = panes
                .into_iter()
                .map(|sources| Pane { sources: sources.into_iter().collect(), ..Pane::default() })
                .collect();
            let hints: Vec<SourceHint> = panes.iter().map(SourceHint::of).collect();
            proptest::prop_assert_eq!(
                distinct_sources_up_to(&hints, &panes, cap),
                distinct_sources(&panes).min(cap)
            );
        }
    }
}
