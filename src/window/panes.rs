//! Panes: the fixed slices of event time a report adds to, and the series of one signal's panes
//! with running totals, so that any window's sums cost two look-ups.

use std::ops::Range;
use std::sync::Arc;

use crate::report::CasualtyKind;
use serde::{Deserialize, Serialize};

/// Counts a report contributes to the panes of each of its signals.
#[derive(Debug, Clone)]
pub struct Contribution<'a> {
    /// The id as the region's dedup set holds it, shared with the panes' evidence lists.
    pub report_id: &'a Arc<str>,
    pub source_id: &'a str,
    /// Weight of this report for this signal in millis (source reliability × tag weight).
    pub score_milli: u64,
    pub casualties: [u64; CasualtyKind::COUNT],
    /// Of the killed, those who count as civilians ([`crate::tag::civilians_killed`]).
    pub civilians_killed: u64,
    pub corroborated: bool,
}

/// Aggregates of one pane.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pane {
    pub reports: u32,
    pub score_milli: u64,
    /// By casualty kind, in `CasualtyKind::ALL` order.
    pub casualties: [u64; CasualtyKind::COUNT],
    /// Largest single-report killed / abducted counts among corroborated reports.
    pub max_killed_corroborated: u64,
    pub max_abducted_corroborated: u64,
    /// Largest single-report count of civilians killed among corroborated reports (absent from
    /// state written before it existed: zero).
    #[serde(default)]
    pub max_civilians_killed_corroborated: u64,
    /// Distinct sources as FNV-1a hashes of their ids (stable across builds), sorted.
    pub sources: Vec<u64>,
    /// Smallest report ids, sorted, at most `max_evidence_ids` (shared with the dedup set).
    pub evidence: Vec<Arc<str>>,
}

impl Pane {
    pub(super) fn add(&mut self, c: &Contribution<'_>, max_evidence: usize) {
        self.reports += 1;
        self.score_milli += c.score_milli;
        for (sum, v) in self.casualties.iter_mut().zip(c.casualties) {
            *sum += v;
        }
        if c.corroborated {
            self.max_killed_corroborated = self
                .max_killed_corroborated
                .max(c.casualties[CasualtyKind::Killed.index()]);
            self.max_abducted_corroborated = self
                .max_abducted_corroborated
                .max(c.casualties[CasualtyKind::Abducted.index()]);
            self.max_civilians_killed_corroborated = self
                .max_civilians_killed_corroborated
                .max(c.civilians_killed);
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

pub(super) fn source_hash(id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = fnv::FnvHasher::default();
    h.write(id.as_bytes());
    h.finish()
}
/// The additive part of a pane (or of a run of panes): what prefix sums can subtract.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Totals {
    pub(super) reports: u64,
    pub(super) score_milli: u64,
    pub(super) casualties: [u64; CasualtyKind::COUNT],
}

impl Totals {
    pub(super) fn of(pane: &Pane) -> Totals {
        Totals {
            reports: u64::from(pane.reports),
            score_milli: pane.score_milli,
            casualties: pane.casualties,
        }
    }

    // Wrapping arithmetic: running sums only ever grow, and a difference of two running sums
    // is exact whenever the true window sum fits in a u64, even after a running sum wrapped.
    pub(super) fn add(&mut self, o: &Totals) {
        *self = self.zip_with(o, u64::wrapping_add);
    }

    pub(super) fn minus(&self, o: &Totals) -> Totals {
        self.zip_with(o, u64::wrapping_sub)
    }

    pub(super) fn zip_with(&self, o: &Totals, f: fn(u64, u64) -> u64) -> Totals {
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
pub(super) struct PaneSeries {
    /// Entries before `head` are evicted.
    pub(super) head: usize,
    pub(super) starts: Vec<i64>,
    pub(super) panes: Vec<Pane>,
    /// `running[i]` = `evicted` + the totals of `panes[head..=i]`.
    pub(super) running: Vec<Totals>,
    /// Totals of the panes evicted from the front; the base the running totals start from.
    pub(super) evicted: Totals,
    /// `hints[i]`: pane `i`'s source when it has only one, so that a capped count of distinct
    /// sources reads this compact array instead of every pane and its source list.
    pub(super) hints: Vec<SourceHint>,
    /// `dirty[i]`: pane `i` changed since the changelog last took it.
    pub(super) dirty: Vec<bool>,
    pub(super) dirty_count: usize,
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
pub(super) enum SourceHint {
    /// No report yet (a pane is filled right after it is created).
    None,
    One(u64),
    /// Several: the pane's list must be read.
    Many,
}

impl SourceHint {
    pub(super) fn of(pane: &Pane) -> SourceHint {
        match pane.sources.as_slice() {
            [] => SourceHint::None,
            [one] => SourceHint::One(*one),
            _ => SourceHint::Many,
        }
    }
}

/// Index of the first element of the sorted `v` that is `>= t`, searching outward from `guess`
/// in doubling steps, so that a guess `d` places off costs about `2 log d` comparisons.
pub(super) fn gallop(v: &[i64], guess: usize, t: i64) -> usize {
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
pub(super) const MIN_COMPACTION: usize = 64;

impl PaneSeries {
    pub(super) fn from_sorted(mut panes: Vec<(i64, Pane)>) -> PaneSeries {
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

    pub(super) fn len(&self) -> usize {
        self.starts.len() - self.head
    }

    /// The live panes with their starts.
    #[cfg(test)]
    pub(super) fn live(&self) -> impl Iterator<Item = (i64, &Pane)> {
        let starts = self.starts[self.head..].iter().copied();
        starts.zip(&self.panes[self.head..])
    }

    /// Index (into the arrays) of the first live pane starting at or after `t`.
    pub(super) fn index(&self, t: i64) -> usize {
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
    pub(super) fn before(&self, i: usize) -> &Totals {
        if i == self.head {
            &self.evicted
        } else {
            &self.running[i - 1]
        }
    }

    pub(super) fn add(
        &mut self,
        start: i64,
        c: &Contribution<'_>,
        max_evidence: usize,
        track: bool,
    ) {
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
    pub(super) fn window(&self, from: i64, to: i64) -> (Totals, Range<usize>) {
        let (i, j) = (self.index(from), self.index(to));
        if i >= j {
            return (Totals::default(), 0..0);
        }
        (self.before(j).minus(self.before(i)), i..j)
    }

    /// Evicts the panes starting before `horizon` and appends their starts to `evicted`.
    pub(super) fn evict_before(&mut self, horizon: i64, evicted: &mut Vec<i64>) {
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
