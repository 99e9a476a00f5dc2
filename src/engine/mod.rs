//! The deterministic core: decode → tag → window → rules → alert, with no I/O.
//!
//! `vigil run` (streaming) and `vigil backtest` (offline) both feed raw report bytes to
//! [`Engine::process`] (or a batch of them to [`Engine::process_batch`]) and hand what it
//! returns to their sinks, so they emit the same alerts for the same input. All state is per
//! region ([`RegionState`]) and depends only on the order of that region's reports, so
//! partitioning and scale-out do not change results.
//!
//! Files: this one admits a report to its region (decode, bounds, suspect holds);
//! `aggregate.rs` counts an admitted report and runs the rules; `outcome.rs` is what the core
//! returns; `region.rs` is the per-region state and its restore.

mod aggregate;
mod outcome;
mod region;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

pub use outcome::{BatchOutcome, Counts, Entry, Input, Outcome, Released};
pub use region::{RegionChanges, RegionMeta, RegionState, RestoredRegion};

use crate::alert::{Alert, EpisodeTracker};
use crate::report::{Limits, RejectError, RejectReason, ValidReport, decode};
use crate::rules::Rule;
use crate::tag::{Scratch, Tagger};
use crate::window::suspect::{HeldReport, is_jump, time_jump};
use crate::window::{RegionWindows, Signal, WindowSettings};

/// Panes of event time between evictions of a region's old panes and ids.
const EVICT_EVERY_PANES: i64 = 24;

/// The core. Built from a loaded configuration (`config::Loaded::engine`).
pub struct Engine {
    limits: Limits,
    window: WindowSettings,
    tagger: Tagger,
    rules: Vec<Rule>,
    /// Rules that read each signal.
    rules_by_signal: FxHashMap<Signal, Vec<usize>>,
    /// How far back any rule reads, in seconds.
    retention_secs: i64,
    /// The latest event time whose windows all end within year 9999: later reports are refused
    /// `bad_time`, so that every time an alert carries has a four-digit-year RFC 3339 (and CAP)
    /// form. A window ends at most one hop after the latest event time it holds.
    latest_event_time: i64,
    regions: FxHashMap<Arc<str>, RegionState>,
    /// Rules a report's signals touch; kept to reuse its allocation.
    touched: Vec<usize>,
    scratch: Scratch,
    counts: Counts,
    /// What the last `process` released, in order; see [`Engine::take_released`].
    released: Vec<Released>,
    /// Record each region's changes for a changelog ([`Engine::with_changelog`]).
    track_changes: bool,
    /// Render each accepted report's full tag detail ([`Engine::with_tag_detail`]).
    tag_detail: bool,
}

impl Engine {
    pub fn new(limits: Limits, window: WindowSettings, tagger: Tagger, rules: Vec<Rule>) -> Engine {
        let mut rules_by_signal: FxHashMap<Signal, Vec<usize>> = FxHashMap::default();
        for (i, r) in rules.iter().enumerate() {
            for &s in &r.signals {
                rules_by_signal.entry(s).or_default().push(i);
            }
        }
        let retention_secs =
            rules.iter().map(Rule::reach_secs).max().unwrap_or(0) + window.pane_secs;
        let longest_hop = rules
            .iter()
            .map(|r| r.hop_secs)
            .max()
            .unwrap_or(0)
            .max(window.pane_secs);
        let latest_event_time = crate::report::timestamp::MAX_SECONDS - longest_hop;
        Engine {
            limits,
            window,
            tagger,
            rules,
            rules_by_signal,
            retention_secs,
            latest_event_time,
            regions: FxHashMap::default(),
            touched: Vec::new(),
            scratch: Scratch::default(),
            counts: Counts::default(),
            released: Vec::new(),
            track_changes: false,
            tag_detail: false,
        }
    }

    /// Records what each report changes, for [`Engine::take_changes`] and the `changes` of
    /// [`Engine::process_batch`]. The Kafka pipeline (also behind `vigil run`'s embedded
    /// default) keeps its state in a changelog and turns this on; `backtest` and `bench` have no
    /// changelog and leave it off (untaken changes would only accumulate).
    pub fn with_changelog(mut self) -> Engine {
        self.track_changes = true;
        self
    }

    /// Renders every accepted report's full tag detail into its outcome (for `vigil.tagged`),
    /// from the decode the core already made.
    pub fn with_tag_detail(mut self) -> Engine {
        self.tag_detail = true;
        self
    }

    pub fn tagger(&self) -> &Tagger {
        &self.tagger
    }

    /// The limits the engine decodes with.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The `[window]` settings the engine runs with.
    pub(crate) fn window_settings(&self) -> &WindowSettings {
        &self.window
    }

    /// Counts of every outcome since the engine was built.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Decodes, validates, tags and aggregates one message, and returns the alerts it caused.
    /// `received_at` is the transport's receive time (Kafka record timestamp), if any.
    ///
    /// A report may release held reports (see `window/suspect.rs`); they are admitted before
    /// it, and [`Engine::take_released`] gives them with their outcomes. Callers publish those
    /// first.
    pub fn process(&mut self, bytes: &[u8], received_at: Option<i64>) -> Outcome {
        self.released.clear();
        let outcome = self.admit(bytes, received_at);
        for r in &self.released {
            self.counts.record(&r.outcome);
        }
        self.counts.record(&outcome);
        outcome
    }

    /// [`Engine::process`] over a batch: every outcome in order (released reports before the
    /// record that released them), and, with a changelog, the state of every region the batch
    /// changed.
    pub(crate) fn process_batch(&mut self, inputs: &[Input<'_>]) -> BatchOutcome {
        let before = self.counts.clone();
        let mut out = BatchOutcome::default();
        let mut changed: BTreeMap<Arc<str>, usize> = BTreeMap::new();
        for (i, input) in inputs.iter().enumerate() {
            let outcome = self.process(input.bytes, input.received_at);
            let released = self.released.drain(..).map(|r| Entry {
                input: i,
                held: Some(r.report),
                received_at: r.received_at,
                outcome: r.outcome,
            });
            let own = Entry {
                input: i,
                held: None,
                received_at: input.received_at,
                outcome,
            };
            for entry in released.chain(std::iter::once(own)) {
                if let Some(region) = entry.outcome.changed_region() {
                    changed.insert(Arc::clone(region), i);
                }
                out.entries.push(entry);
            }
        }
        if self.track_changes {
            for (region, input) in changed {
                if let Some(c) = self.take_changes(&region) {
                    out.changes.push((input, c));
                }
            }
        }
        out.counts = self.counts.clone();
        out.counts.subtract(&before);
        out
    }

    /// Held reports the last [`Engine::process`] released, in the order they were admitted
    /// (before the report that released them).
    pub fn take_released(&mut self) -> Vec<Released> {
        std::mem::take(&mut self.released)
    }

    /// [`Engine::process`], for callers that want only the alerts: those of the reports it
    /// released first, then its own.
    pub fn process_alerts(&mut self, bytes: &[u8], received_at: Option<i64>) -> Vec<Alert> {
        let outcome = self.process(bytes, received_at);
        let mut alerts = Vec::new();
        let released = self.take_released().into_iter().map(|r| r.outcome);
        for o in released.chain(std::iter::once(outcome)) {
            if let Outcome::Accepted { alerts: a, .. } = o {
                alerts.extend(a);
            }
        }
        alerts
    }

    /// Decodes a report and decides whether it is aggregated now, held as suspect (its event
    /// time jumps its region's clock) or refused; releases what it corroborates.
    fn admit(&mut self, bytes: &[u8], received_at: Option<i64>) -> Outcome {
        let report = match self.decode(bytes, received_at) {
            Ok(r) => r,
            Err(e) => return Outcome::Rejected(e),
        };
        let region_key = self.region_key(&report.report.region);
        let Some(region) = self.regions.get_mut(&region_key) else {
            unreachable!("region_key creates the region's state")
        };
        let (t, id) = (report.event_time, report.report.id.as_ref());
        if region.meta.held.contains(id) {
            return Outcome::Duplicate {
                region: region_key,
                of: None,
            };
        }
        let too_late = region.windows.is_too_late(t, &self.window);
        // A late or already counted report is refused by admission and corroborates nothing.
        // The id look-up is made only where a hold is involved: admission makes it anyway.
        let refused = |region: &RegionState| too_late || region.windows.has_seen(id);
        if too_late || (!region.meta.held.is_empty() && refused(region)) {
            return self.aggregate(&report, region_key);
        }
        let source = report.report.source.id.as_ref();
        for held in region.meta.held.release(t, source, &self.window) {
            self.counts.released += 1;
            let outcome = self.admit_released(&held, &region_key);
            self.released.push(Released {
                report: held.report,
                received_at: held.received_at,
                outcome,
            });
        }
        let Some(region) = self.regions.get_mut(&region_key) else {
            unreachable!("region_key creates the region's state")
        };
        let jumps = is_jump(
            t,
            report.reported_at,
            region.windows.watermark,
            &self.window,
        );
        if !jumps || refused(region) {
            return self.aggregate(&report, region_key);
        }
        let held = HeldReport {
            id: id.to_string(),
            source: source.to_string(),
            event_time: t,
            received_at,
            report: String::from_utf8_lossy(bytes).into_owned(),
        };
        let window = &self.window;
        let Ok(evicted) = region.meta.held.hold(held, window) else {
            return Outcome::Rejected(time_jump(window, "too large to hold"));
        };
        for old in evicted {
            self.released.push(Released {
                report: old.report,
                received_at: old.received_at,
                outcome: Outcome::Rejected(time_jump(
                    window,
                    "never corroborated while newer suspects filled the region's hold",
                )),
            });
        }
        Outcome::Held { region: region_key }
    }

    /// [`decode`] with the engine's limits, and the bound of [`Engine::latest_event_time`].
    fn decode<'a>(
        &self,
        bytes: &'a [u8],
        received_at: Option<i64>,
    ) -> Result<ValidReport<'a>, RejectError> {
        let report = decode(bytes, &self.limits, received_at)?;
        if report.event_time > self.latest_event_time {
            return Err(RejectError::new(
                RejectReason::BadTime,
                "event_time",
                format!(
                    "lies after {}: its windows would end after year 9999",
                    crate::alert::rfc3339(self.latest_event_time)
                ),
            ));
        }
        Ok(report)
    }

    /// The engine's key for a region, creating its state on first sight.
    fn region_key(&mut self, code: &str) -> Arc<str> {
        if let Some((key, _)) = self.regions.get_key_value(code) {
            return Arc::clone(key);
        }
        let key: Arc<str> = Arc::from(code);
        let state = RegionState {
            windows: RegionWindows::new(self.track_changes),
            meta: RegionMeta {
                trackers: vec![EpisodeTracker::default(); self.rules.len()],
                ..RegionMeta::default()
            },
        };
        self.regions.insert(Arc::clone(&key), state);
        key
    }

    /// Admits a released report: corroborated, so no jump check. It decoded when it was held;
    /// a configuration changed since then may refuse it now.
    fn admit_released(&mut self, held: &HeldReport, region_key: &Arc<str>) -> Outcome {
        match self.decode(held.report.as_bytes(), held.received_at) {
            Ok(report) if *report.report.region == **region_key => {
                self.aggregate(&report, Arc::clone(region_key))
            }
            Ok(_) => Outcome::Rejected(RejectError::new(
                RejectReason::BadValue,
                "region",
                "changed since the report was held",
            )),
            Err(e) => Outcome::Rejected(e),
        }
    }

    /// Regions with state, sorted.
    pub fn regions(&self) -> Vec<&str> {
        let mut r: Vec<&str> = self.regions.keys().map(AsRef::as_ref).collect();
        r.sort_unstable();
        r
    }

    /// Sizes of the state and open episodes now, for gauges and summaries.
    pub fn gauges(&self) -> Gauges {
        let mut g = Gauges::default();
        for (region, r) in &self.regions {
            g.panes += r.windows.pane_count();
            g.window_keys += r.windows.signals().count();
            g.held += r.meta.held.len();
            let mut open = [0u64; 3];
            for t in &r.meta.trackers {
                for (_, sev) in t.open_episodes() {
                    open[sev as usize] += 1;
                }
            }
            if open.iter().any(|n| *n > 0) {
                g.open_by_region.push((Arc::clone(region), open));
            }
            for (o, n) in g.open.iter_mut().zip(open) {
                *o += n;
            }
        }
        g
    }
}

/// The size of the core's state and its open episodes at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    /// Non-empty panes across all regions and signals.
    pub panes: usize,
    /// Window keys (region, signal) that hold panes.
    pub window_keys: usize,
    /// Reports held as suspect, across all regions.
    pub held: usize,
    /// Open episodes by severity (watch, warning, critical).
    pub open: [u64; 3],
    /// Open episodes of each region that has any, by severity.
    pub open_by_region: Vec<(Arc<str>, [u64; 3])>,
}
