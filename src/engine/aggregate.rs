//! Aggregation of one admitted report: admission to its region's windows (dedup, lateness,
//! near-duplicates), its contribution to the pane of every signal it carries, and the rules and
//! episodes that the change can move. This is the engine's per-report hot path.

use std::sync::Arc;

use crate::alert::Alert;
use crate::report::{RejectError, RejectReason, ValidReport};
use crate::rules::{Rule, RuleKind};
use crate::tag::taxonomy::{risk_factors_in, threats_in};
use crate::window::near_duplicate::Fingerprint;
use rustc_hash::FxHashMap;

use crate::tag::{TagSet, Tagger, civilians_killed};
use crate::window::{Admission, Contribution, RegionWindows, Signal, WindowSettings};

use super::{EVICT_EVERY_PANES, Engine, Outcome, RegionState};

impl Engine {
    /// Admission (dedup, lateness), tags, panes and rules for one report of `region_key`.
    pub(super) fn aggregate(&mut self, report: &ValidReport<'_>, region_key: Arc<str>) -> Outcome {
        let region_code: &str = &region_key;
        // Tags first: only a report that carries a signal can change a window, so only such a
        // report is fingerprinted for near-duplicates (four in five reports carry none, and the
        // fingerprint's word pass would cost them a third of the core's time).
        let tags = self.tagger.tag(report, &mut self.scratch);
        let signals = tags.threats() != 0 || tags.risk_factors != 0;
        let Some(region) = self.regions.get_mut(region_code) else {
            unreachable!("process creates a region's state before it aggregates")
        };
        let (late, id) = match region.windows.admit(
            &report.report.id,
            report.event_time,
            &self.window,
            || signals.then(|| Fingerprint::of(report)),
        ) {
            Admission::Accepted { late, id } => (late, id),
            Admission::Duplicate => {
                return Outcome::Duplicate {
                    region: region_key,
                    of: None,
                };
            }
            Admission::NearDuplicate { of } => {
                return Outcome::Duplicate {
                    region: region_key,
                    of: Some(of),
                };
            }
            Admission::TooLate => {
                let lag = region.windows.watermark - report.event_time;
                return Outcome::Rejected(RejectError::new(
                    RejectReason::TooLate,
                    "event_time",
                    format!(
                        "{lag} s behind the region's watermark, beyond window.allowed_lateness_secs = {}",
                        self.window.allowed_lateness_secs
                    ),
                ));
            }
        };

        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        contribute(
            &mut region.windows,
            report,
            &id,
            &tags,
            &self.tagger,
            &self.rules_by_signal,
            &self.window,
            &mut touched,
        );
        // Every rule advances when the region's watermark enters a new pane (windows close and
        // may resolve); rules whose signals this report carries re-run from its pane.
        let pane = region.windows.watermark.div_euclid(self.window.pane_secs);
        let new_pane = region.meta.last_pane != Some(pane);
        region.meta.last_pane = Some(pane);
        touched.sort_unstable();
        touched.dedup();
        let run = RuleRun {
            region: region_code,
            touched: &touched,
            new_pane,
            event_time: report.event_time,
            settings: &self.window,
        };
        let alerts = run_rules(&self.rules, region, &run);
        // Eviction walks every id and pane of the region: once a day of event time is plenty.
        if region
            .meta
            .last_evict
            .is_none_or(|p| pane - p >= EVICT_EVERY_PANES)
        {
            region.meta.last_evict = Some(pane);
            region.windows.evict(self.retention_secs, &self.window);
        }
        self.touched = touched;
        Outcome::Accepted {
            region: region_key,
            event_time: report.event_time,
            late,
            detail: self
                .tag_detail
                .then(|| Box::new(self.tagger.render(report, &tags))),
            tags,
            alerts,
        }
    }
}

/// Adds an admitted report to the pane of every signal it carries, and lists in `touched` the
/// rules that read those signals.
#[allow(clippy::too_many_arguments)] // the engine's fields a report's contribution reads, split
// out of `aggregate` so that it borrows them apart from the region's state.
fn contribute(
    windows: &mut RegionWindows,
    report: &ValidReport<'_>,
    id: &Arc<str>,
    tags: &TagSet,
    tagger: &Tagger,
    rules_by_signal: &FxHashMap<Signal, Vec<usize>>,
    settings: &WindowSettings,
    touched: &mut Vec<usize>,
) {
    let mut contribution = Contribution {
        report_id: id,
        source_id: &report.report.source.id,
        score_milli: 0,
        casualties: report.casualties.counts().map(|v| v as u64),
        civilians_killed: civilians_killed(report, tags) as u64,
        corroborated: report.corroborated,
    };
    let reliability = u64::from(report.reliability_milli);
    for t in threats_in(tags.threats()) {
        contribution.score_milli = (reliability as f64 * tagger.threat_weight(t)) as u64;
        let signal = Signal::Threat(t as u8);
        windows.add(signal, report.event_time, &contribution, settings);
        touched.extend(rules_by_signal.get(&signal).into_iter().flatten());
    }
    for rf in risk_factors_in(tags.risk_factors) {
        contribution.score_milli = reliability;
        let signal = Signal::Risk(rf);
        windows.add(signal, report.event_time, &contribution, settings);
        touched.extend(rules_by_signal.get(&signal).into_iter().flatten());
    }
}

/// What a report's rule pass needs to know besides the rules and the region's state.
struct RuleRun<'a> {
    region: &'a str,
    /// Indices of the rules whose signals the report carries, sorted.
    touched: &'a [usize],
    /// The region's watermark entered a new pane with this report.
    new_pane: bool,
    event_time: i64,
    settings: &'a WindowSettings,
}

/// Reconciles the episodes of every rule the report can move: those it touched, and on a new
/// pane every rule of the region (windows close and may resolve). Returns the alert records.
fn run_rules(rules: &[Rule], region: &mut RegionState, run: &RuleRun<'_>) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let dirty = run.touched.binary_search(&i).is_ok();
        if !(dirty || run.new_pane) || !rule.applies_to(run.region) {
            continue;
        }
        let tracker = &mut region.meta.trackers[i];
        // An idle threshold or co-occurrence rule that this report does not touch cannot fire
        // as its windows slide; spike rules can (their baseline shrinks too), so they run.
        if !dirty && rule.kind != RuleKind::Spike && tracker.is_idle() {
            tracker.skip_idle(rule, region.windows.watermark);
            continue;
        }
        let windows = &region.windows;
        let mut evaluate = |end| rule.evaluate(windows, end, false);
        let mut next_data = |t| windows.next_pane_start(&rule.signals, t);
        let changes = region.meta.trackers[i].reconcile(
            rule,
            &mut evaluate,
            &mut next_data,
            dirty.then_some(run.event_time),
            windows.watermark,
            run.settings.allowed_lateness_secs,
        );
        for mut change in changes {
            let start = change.window_end - rule.window_secs;
            let evidence = if change.superseded_by.is_some() {
                Vec::new()
            } else {
                change.evaluation = rule.evaluate(windows, change.window_end, true);
                windows.evidence(
                    &rule.signals,
                    start,
                    change.window_end,
                    run.settings.max_evidence_ids,
                )
            };
            let alert = Alert::from_change(rule, run.region, &change, evidence);
            alerts.push(alert);
        }
    }
    alerts
}
