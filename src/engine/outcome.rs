//! What the core returns: the outcome of one report, the outcomes of a batch with the state it
//! changed, and the counts of what happened. Sinks (the Kafka topics, files, the summary) read
//! these; none of them decodes a report again.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::alert::Alert;
use crate::report::{RejectError, RejectReason};
use crate::tag::{TagSet, TaggedReport};

use super::region::RegionChanges;

/// What happened to one input message.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        /// The region's code, shared with the engine's own key (no copy per report).
        region: Arc<str>,
        event_time: i64,
        late: bool,
        tags: TagSet,
        /// The full tag detail (for `vigil.tagged`), rendered from the decode the core already
        /// made; only when the engine was built [`super::Engine::with_tag_detail`].
        detail: Option<Box<TaggedReport>>,
        alerts: Vec<Alert>,
    },
    /// Same id already counted (or held) in this region, or (`of`) a near-duplicate of the
    /// counted report `of`: changes nothing.
    Duplicate {
        region: Arc<str>,
        of: Option<Arc<str>>,
    },
    /// Its event time jumps ahead of its region's clock: held as suspect until another report
    /// corroborates it (see `window/suspect.rs`). Counted, but not admitted.
    Held {
        region: Arc<str>,
    },
    Rejected(RejectError),
}

impl Outcome {
    /// The region whose state this outcome changed, if any.
    pub(crate) fn changed_region(&self) -> Option<&Arc<str>> {
        match self {
            Outcome::Accepted { region, .. } | Outcome::Held { region } => Some(region),
            Outcome::Duplicate { .. } | Outcome::Rejected(_) => None,
        }
    }
}

/// A once-held report that the last [`super::Engine::process`] released (admitted after
/// corroboration) or refused (evicted from a full hold), with what that did.
#[derive(Debug)]
pub struct Released {
    /// The report as it was received.
    pub report: String,
    pub received_at: Option<i64>,
    pub outcome: Outcome,
}

/// One input record of a batch: its bytes and the transport's receive time (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub bytes: &'a [u8],
    pub received_at: Option<i64>,
}

/// One outcome of a batch, in the order the core produced them: a record's released reports
/// first, then its own.
#[derive(Debug)]
pub struct Entry {
    /// Index of the input record that caused this outcome.
    pub input: usize,
    /// For a once-held report, its own bytes (they are not the input's).
    pub held: Option<String>,
    /// The receive time of the report this outcome is about (Unix seconds).
    pub received_at: Option<i64>,
    pub outcome: Outcome,
}

impl Entry {
    /// The bytes this outcome is about: the once-held report's, or the input record's.
    pub fn bytes<'a>(&'a self, inputs: &'a [Input<'_>]) -> &'a [u8] {
        match &self.held {
            Some(report) => report.as_bytes(),
            None => inputs[self.input].bytes,
        }
    }
}

/// Everything one batch did: the outcomes, the state of the regions it changed (empty unless
/// the engine keeps a changelog), and its counts.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub entries: Vec<Entry>,
    /// One per changed region, in region order, with the last input that touched it (the
    /// changelog writes a region's records in the partition of its input).
    pub changes: Vec<(usize, RegionChanges)>,
    pub counts: Counts,
}

impl BatchOutcome {
    /// The alerts of the batch, in order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.entries.iter().flat_map(|e| match &e.outcome {
            Outcome::Accepted { alerts, .. } => alerts.as_slice(),
            _ => &[],
        })
    }
}

/// Counts of outcomes: the one tally behind the engine's running totals, a batch's metrics and
/// every run summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub accepted: u64,
    /// Of the accepted, those behind their region's watermark (within lateness).
    pub late: u64,
    pub duplicates: u64,
    /// Of the duplicates, those that repeat another report under a new id.
    pub near_duplicates: u64,
    /// Reports held as suspect (released ones are also counted as accepted, or rejected).
    pub held: u64,
    /// Held reports released by corroboration.
    pub released: u64,
    pub rejected: FxHashMap<RejectReason, u64>,
    /// Alert records.
    pub alerts: u64,
}

impl Counts {
    /// Counts one outcome.
    pub(crate) fn record(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Accepted { late, alerts, .. } => {
                self.accepted += 1;
                self.late += u64::from(*late);
                self.alerts += alerts.len() as u64;
            }
            Outcome::Duplicate { of, .. } => {
                self.duplicates += 1;
                self.near_duplicates += u64::from(of.is_some());
            }
            Outcome::Held { .. } => self.held += 1,
            Outcome::Rejected(e) => *self.rejected.entry(e.reason).or_default() += 1,
        }
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, o: &Counts) {
        self.accepted += o.accepted;
        self.late += o.late;
        self.duplicates += o.duplicates;
        self.near_duplicates += o.near_duplicates;
        self.held += o.held;
        self.released += o.released;
        self.alerts += o.alerts;
        for (r, n) in &o.rejected {
            *self.rejected.entry(*r).or_default() += n;
        }
    }

    /// Takes an earlier tally of the same counter away from this one.
    pub(crate) fn subtract(&mut self, o: &Counts) {
        self.accepted -= o.accepted;
        self.late -= o.late;
        self.duplicates -= o.duplicates;
        self.near_duplicates -= o.near_duplicates;
        self.held -= o.held;
        self.released -= o.released;
        self.alerts -= o.alerts;
        for (r, n) in &o.rejected {
            if let Some(m) = self.rejected.get_mut(r) {
                *m -= n;
            }
        }
        self.rejected.retain(|_, n| *n > 0);
    }

    /// Rejected records of every reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}
