//! Alert episodes and their lifecycle, alert identity, and the alert record (DESIGN "Alert").
//!
//! An [`EpisodeTracker`] exists per (rule, region). It steps a small state machine over the
//! rule's closed windows in event-time order: an episode opens (`firing`) when a window crosses
//! a threshold, rises (`escalated`) when a higher severity is crossed, and closes (`resolved`)
//! after a full window of quiet hops (hysteresis: one quiet hop does not resolve). The window
//! that is still open fires early, so an alert never waits for its window to close.
//!
//! A late report can change windows already evaluated. The tracker keeps a checkpoint per closed
//! window inside the lateness horizon, rewinds to the one before the first changed window,
//! re-runs the machine and publishes only the difference from what it published before. An
//! episode that the re-run no longer contains (a late report moved its start earlier) is
//! published once more as `resolved` with `superseded_by`. The latest record per alert id, less
//! superseded ones, is therefore a function of the reports alone, not of their arrival order.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::rules::{Evaluation, Rule, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Escalated,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Firing, Status::Escalated, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Escalated => "escalated",
            Status::Resolved => "resolved",
        }
    }
}

/// An episode's identity: the window-length period (aligned to the epoch) in which its first
/// crossing window ended. Late reports that move the first crossing a few hops earlier leave it
/// unchanged, so subscribers keep one alert id per crisis; two episodes of one rule can never
/// share it, because an episode needs a full quiet window to resolve before the next can open.
fn episode_start(first_crossing_end: i64, rule: &Rule) -> i64 {
    (first_crossing_end - 1).div_euclid(rule.window_secs) * rule.window_secs
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct OpenEpisode {
    /// See [`episode_start`].
    start: i64,
    severity: Severity,
    /// Consecutive closed quiet windows.
    quiet: u32,
    /// End of the first window that crossed.
    first_seen: i64,
}

impl OpenEpisode {
    /// The episode opened by the window ending at `end`.
    fn first_crossing(end: i64, severity: Severity, rule: &Rule) -> OpenEpisode {
        OpenEpisode {
            start: episode_start(end, rule),
            severity,
            quiet: 0,
            first_seen: end,
        }
    }
}

/// The state machine's state between windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    open: Option<OpenEpisode>,
}

impl Lifecycle {
    /// Steps over a closed window. Returns true when the state changed in a way that publishes.
    fn step_closed(&mut self, end: i64, ev: &Evaluation, rule: &Rule) -> bool {
        match (&mut self.open, ev.level) {
            (None, Some(severity)) => {
                self.open = Some(OpenEpisode::first_crossing(end, severity, rule));
                true
            }
            (None, None) => false,
            (Some(open), level) => {
                let escalated = level.is_some_and(|l| l > open.severity);
                if let Some(l) = level.filter(|_| escalated) {
                    open.severity = l;
                }
                if ev.quiet {
                    open.quiet += 1;
                    // Resolve after a full window of quiet hops.
                    if i64::from(open.quiet) * rule.hop_secs >= rule.window_secs {
                        self.open = None;
                        return true;
                    }
                } else {
                    open.quiet = 0;
                }
                escalated
            }
        }
    }

    /// Steps over the still-open window: it may fire or escalate, never resolve.
    fn step_partial(&mut self, end: i64, ev: &Evaluation, rule: &Rule) -> bool {
        match (&mut self.open, ev.level) {
            (None, Some(severity)) => {
                self.open = Some(OpenEpisode::first_crossing(end, severity, rule));
                true
            }
            (Some(open), Some(l)) if l > open.severity => {
                open.severity = l;
                true
            }
            _ => false,
        }
    }
}

/// What was published for one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Published {
    severity: Severity,
    status: Status,
    first_seen: i64,
    /// End of the window whose evaluation last changed it.
    updated: i64,
    superseded: bool,
}

/// One change to publish for an episode of a tracker's rule and region.
#[derive(Debug, Clone)]
pub struct Change {
    pub episode_start: i64,
    pub status: Status,
    pub severity: Severity,
    pub first_seen: i64,
    /// End of the window whose evaluation produced the change.
    pub window_end: i64,
    pub evaluation: Evaluation,
    /// For a superseded episode: the start of the episode that replaces it.
    pub superseded_by: Option<i64>,
}

/// The latest view of an episode during one re-run.
struct View {
    severity: Severity,
    resolved: bool,
    first_seen: i64,
    /// The evaluation and window end of its latest change, if it changed in this re-run.
    changed: Option<(i64, Evaluation)>,
}

impl View {
    fn of(episode: OpenEpisode, resolved: bool, changed: Option<(i64, Evaluation)>) -> View {
        View {
            severity: episode.severity,
            resolved,
            first_seen: episode.first_seen,
            changed,
        }
    }
}

/// Lifecycle state of one (rule, region).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeTracker {
    /// State after window `base_end`; windows up to it are final.
    base: Lifecycle,
    base_end: Option<i64>,
    /// State after each closed window later than `base_end`, ascending. Serialised as runs of
    /// equal states (mostly idle), which keeps the changelog's region records small.
    #[serde(with = "history_runs")]
    history: VecDeque<(i64, Lifecycle)>,
    /// The last closed window evaluated.
    last_closed: Option<i64>,
    published: BTreeMap<i64, Published>,
}

impl EpisodeTracker {
    /// Brings the tracker up to `watermark`, re-running from the first window that contains
    /// `dirty_at` (the event time of a report just added) when that window was already evaluated.
    ///
    /// `next_data(t)` gives the start of the first pane at or after `t` that holds data for the
    /// rule. With no episode open, a window without data that crosses no threshold leaves the
    /// machine where it is, and so does every window up to the first one that contains the next
    /// data: those are skipped without evaluation or checkpoints, so that a jump of the watermark
    /// costs work in proportion to the windows that hold data, never to the length of the jump
    /// (a report dated a century ahead would otherwise step through 876,000 hourly windows).
    pub fn reconcile(
        &mut self,
        rule: &Rule,
        evaluate: &mut dyn FnMut(i64) -> Evaluation,
        next_data: &mut dyn FnMut(i64) -> Option<i64>,
        dirty_at: Option<i64>,
        watermark: i64,
        lateness_secs: i64,
    ) -> Vec<Change> {
        let hop = rule.hop_secs;
        let closed_upto = watermark.div_euclid(hop) * hop;
        let partial_end = closed_upto + hop;
        let dirty_from = dirty_at.map(|t| t.div_euclid(hop) * hop + hop);
        let from = match (self.last_closed, dirty_from) {
            (Some(last), Some(d)) => (last + hop).min(d),
            (Some(last), None) => last + hop,
            (None, Some(d)) => d,
            (None, None) => partial_end,
        };

        // Rewind to the state after the last window before `from`.
        while self.history.back().is_some_and(|&(e, _)| e >= from) {
            self.history.pop_back();
        }
        let mut state = self.history.back().map_or(self.base, |&(_, s)| s);

        let mut views: BTreeMap<i64, View> = BTreeMap::new();
        if let Some(open) = state.open {
            views.insert(open.start, View::of(open, false, None));
        }
        let mut end = from;
        while end <= closed_upto {
            let ev = evaluate(end);
            if state.open.is_none() && ev.level.is_none() {
                let next = next_data(end - rule.window_secs);
                if next.is_none_or(|p| p >= end) {
                    // No data in this window: skip to the first window holding the next pane
                    // (the first hop-aligned end after its start), or past the closed range.
                    end = next.map_or(closed_upto + hop, |p| {
                        (p.div_euclid(hop) * hop + hop).max(end + hop)
                    });
                    continue;
                }
            }
            let before = state.open;
            if state.step_closed(end, &ev, rule) {
                record(&mut views, before, state.open, end, ev);
            }
            self.history.push_back((end, state));
            end += hop;
        }
        self.last_closed = Some(closed_upto.max(self.last_closed.unwrap_or(i64::MIN)));
        let ev = evaluate(partial_end);
        let before = state.open;
        if state.step_partial(partial_end, &ev, rule) {
            record(&mut views, before, state.open, partial_end, ev);
        }

        let changes = self.diff(views, from, partial_end, evaluate);
        self.prune(watermark - lateness_secs);
        changes
    }

    /// Publishes the difference between the re-run's episodes and what was published. An episode
    /// the re-run did not change may still differ from its publication (an earlier re-run, on
    /// less data, resolved it); its record then carries the latest window's evaluation.
    fn diff(
        &mut self,
        mut views: BTreeMap<i64, View>,
        from: i64,
        latest_end: i64,
        evaluate: &mut dyn FnMut(i64) -> Evaluation,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for (&start, view) in views.iter_mut() {
            let prev = self.published.get(&start).copied();
            let stale = match prev {
                None => true,
                Some(p) => {
                    (p.status == Status::Resolved) != view.resolved || view.severity > p.severity
                }
            };
            if !stale {
                continue;
            }
            let (end, ev) = view
                .changed
                .get_or_insert_with(|| (latest_end, evaluate(latest_end)));
            let change = |status, severity| Change {
                episode_start: start,
                status,
                severity,
                first_seen: view.first_seen,
                window_end: *end,
                evaluation: ev.clone(),
                superseded_by: None,
            };
            let severity = prev.map_or(view.severity, |p| view.severity.max(p.severity));
            match prev {
                None => {
                    changes.push(change(Status::Firing, view.severity));
                    if view.resolved {
                        changes.push(change(Status::Resolved, severity));
                    }
                }
                Some(p) if !view.resolved => {
                    if p.status == Status::Resolved {
                        // A late report kept the episode open: it fires again under its id.
                        changes.push(change(Status::Firing, severity));
                    } else if severity > p.severity {
                        changes.push(change(Status::Escalated, severity));
                    }
                }
                Some(p) => {
                    // Resolved now; publish the resolution, or a corrected peak severity.
                    if p.status != Status::Resolved || severity > p.severity {
                        changes.push(change(Status::Resolved, severity));
                    }
                }
            }
            if let Some(last) = changes.last().filter(|c| c.episode_start == start) {
                self.published.insert(
                    start,
                    Published {
                        severity: last.severity,
                        status: last.status,
                        first_seen: view.first_seen,
                        updated: *end,
                        superseded: false,
                    },
                );
            }
        }
        // Episodes first seen inside the re-run range that the re-run no longer contains.
        let replaced: Vec<i64> = self
            .published
            .iter()
            .filter(|(start, p)| {
                !p.superseded && p.first_seen >= from && !views.contains_key(start)
            })
            .map(|(&start, _)| start)
            .collect();
        for start in replaced {
            let by = views
                .range(..=start)
                .next_back()
                .or_else(|| views.iter().next())
                .map(|(&s, _)| s);
            let p = self.published.get_mut(&start).expect("listed above");
            p.superseded = true;
            p.status = Status::Resolved;
            changes.push(Change {
                episode_start: start,
                status: Status::Resolved,
                severity: p.severity,
                first_seen: p.first_seen,
                window_end: p.updated,
                evaluation: Evaluation::default(),
                superseded_by: by,
            });
        }
        changes
    }

    /// Folds checkpoints no report can reach any more into the base state.
    fn prune(&mut self, final_upto: i64) {
        while self.history.front().is_some_and(|&(e, _)| e <= final_upto) {
            if let Some((e, s)) = self.history.pop_front() {
                self.base = s;
                self.base_end = Some(e);
            }
        }
        self.published
            .retain(|_, p| p.status != Status::Resolved || p.updated > final_upto);
    }

    /// True when no episode is open or published as open: the rule's windows can then only
    /// shrink until a report touches its signals again.
    pub fn is_idle(&self) -> bool {
        let state = self.history.back().map_or(self.base, |&(_, s)| s);
        state.open.is_none()
            && self
                .published
                .values()
                .all(|p| p.status == Status::Resolved)
    }

    /// Advances an idle tracker to `watermark` without evaluating: windows without new data
    /// cannot rise from below every threshold (sums, maxima and distinct counts only shrink as
    /// the window slides), so the skipped windows are idle. Checkpoints are not needed for them:
    /// a rewind into the skipped range starts from the last checkpoint, which is idle too.
    pub fn skip_idle(&mut self, rule: &Rule, watermark: i64) {
        debug_assert!(self.is_idle());
        let closed_upto = watermark.div_euclid(rule.hop_secs) * rule.hop_secs;
        if self.last_closed.is_some_and(|l| l < closed_upto) {
            self.last_closed = Some(closed_upto);
        }
    }

    /// Episodes currently open (firing or escalated), with severity.
    pub fn open_episodes(&self) -> impl Iterator<Item = (i64, Severity)> + '_ {
        self.published
            .iter()
            .filter(|(_, p)| p.status != Status::Resolved)
            .map(|(&s, p)| (s, p.severity))
    }
}

fn record(
    views: &mut BTreeMap<i64, View>,
    before: Option<OpenEpisode>,
    after: Option<OpenEpisode>,
    end: i64,
    ev: Evaluation,
) {
    match (before, after) {
        (_, Some(open)) => {
            views.insert(open.start, View::of(open, false, Some((end, ev))));
        }
        (Some(closed), None) => {
            views.insert(closed.start, View::of(closed, true, Some((end, ev))));
        }
        (None, None) => {}
    }
}

/// Run-length encoding of a tracker's checkpoints: `(first, step, n, state)` per run of equal
/// states at evenly spaced window ends.
mod history_runs {
    use std::collections::VecDeque;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Lifecycle;

    #[derive(Serialize, Deserialize)]
    struct Run {
        first: i64,
        step: i64,
        n: u32,
        state: Lifecycle,
    }

    pub fn serialize<S: Serializer>(
        history: &VecDeque<(i64, Lifecycle)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut runs: Vec<Run> = Vec::new();
        for &(end, state) in history {
            if let Some(run) = runs.last_mut()
                && run.state == state
                && (run.n == 1 || end == run.first + run.step * i64::from(run.n))
            {
                if run.n == 1 {
                    run.step = end - run.first;
                }
                run.n += 1;
                continue;
            }
            runs.push(Run {
                first: end,
                step: 0,
                n: 1,
                state,
            });
        }
        runs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<VecDeque<(i64, Lifecycle)>, D::Error> {
        let runs = Vec::<Run>::deserialize(d)?;
        Ok(runs
            .into_iter()
            .flat_map(|r| (0..r.n).map(move |i| (r.first + r.step * i64::from(i), r.state)))
            .collect())
    }
}

/// The alert record published on `vigil.alerts` (key: `alert_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub status: Status,
    pub rule: String,
    pub severity: Severity,
    pub region: String,
    pub signal: String,
    pub window: TimeRange,
    pub observed: Observed,
    pub threshold: f64,
    pub risk_factors: Vec<String>,
    pub evidence: AlertEvidence,
    /// Event time at which the episode was first detected (end of its first crossing window).
    pub first_seen: String,
    /// Event time of the window evaluation that produced this record.
    pub updated_at: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub reports: u64,
    pub distinct_sources: u64,
    pub casualties: Casualty,
    /// Reliability-weighted score (Admiralty code × tag weight).
    pub score: f64,
    /// The value the rule compared with its thresholds.
    pub value: f64,
    /// Spike rules: the region's mean per window over the baseline span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Casualty {
    pub killed: u64,
    pub injured: u64,
    pub abducted: u64,
    pub missing: u64,
    pub displaced: u64,
    pub sexual_violence: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvidence {
    pub report_ids: Vec<String>,
    pub indicators: Vec<String>,
}

/// Namespace for alert ids (UUID v5 of rule, region, signal and episode start).
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_9a8e_7b2d_4c61_a0e3_2b9d_84f7_1c06);

/// The deterministic id of an episode.
pub fn alert_id(rule: &str, region: &str, signal: &str, episode_start: i64) -> String {
    let name = format!("{rule}\u{1f}{region}\u{1f}{signal}\u{1f}{episode_start}");
    Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes()).to_string()
}

pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hours(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{} d", secs / 86_400)
    } else {
        format!("{} h", secs / 3600)
    }
}

impl Alert {
    /// Builds the record for one change of an episode of `rule` in `region`.
    pub fn from_change(rule: &Rule, region: &str, change: &Change, evidence: Vec<String>) -> Alert {
        let ev = &change.evaluation;
        let agg = &ev.aggregate;
        let start = change.episode_start;
        let window_start = change.window_end - rule.window_secs;
        let threshold = rule.threshold_for(change.severity);
        let superseded_by = change
            .superseded_by
            .map(|s| alert_id(&rule.name, region, &rule.signal_label, s));
        let summary = match (&superseded_by, change.status) {
            (Some(_), _) => format!(
                "{} alert for {} in {} replaced by an earlier episode after late reports.",
                rule.name, rule.signal_label, region
            ),
            (None, status) => format!(
                "{} {}: {} in {} reached {} (threshold {}) over {} with {} reports from {} sources{}.",
                capitalise(change.severity.as_str()),
                status.as_str(),
                rule.signal_label,
                region,
                trim_float(ev.value),
                trim_float(threshold),
                hours(rule.window_secs),
                agg.reports,
                agg.sources,
                if status == Status::Resolved {
                    "; now below the resolve level for a full window"
                } else {
                    ""
                },
            ),
        };
        Alert {
            alert_id: alert_id(&rule.name, region, &rule.signal_label, start),
            status: change.status,
            rule: rule.name.clone(),
            severity: change.severity,
            region: region.to_string(),
            signal: rule.signal_label.clone(),
            window: TimeRange {
                start: rfc3339(window_start),
                end: rfc3339(change.window_end),
            },
            observed: Observed {
                reports: agg.reports,
                distinct_sources: agg.sources,
                casualties: Casualty {
                    killed: agg.casualties[0],
                    injured: agg.casualties[1],
                    abducted: agg.casualties[2],
                    missing: agg.casualties[3],
                    displaced: agg.casualties[4],
                    sexual_violence: agg.casualties[5],
                },
                score: (agg.score * 1000.0).round() / 1000.0,
                value: (ev.value * 1000.0).round() / 1000.0,
                baseline: ev.baseline.map(|b| (b * 1000.0).round() / 1000.0),
            },
            threshold,
            risk_factors: rule.risk_factors.clone(),
            evidence: AlertEvidence {
                report_ids: evidence,
                indicators: rule.indicators.clone(),
            },
            first_seen: rfc3339(change.first_seen),
            updated_at: rfc3339(change.window_end),
            summary,
            superseded_by,
        }
    }

    /// One readable line for a terminal.
    pub fn line(&self) -> String {
        format!(
            "{:<9} {:<8} {:<8} {:<28} {:<10} {}  {}",
            self.status.as_str(),
            self.severity.as_str(),
            self.region,
            self.signal,
            &self.alert_id[..8],
            self.updated_at,
            self.summary
        )
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Metric, RuleKind};
    use crate::window::{Signal, WindowAggregate};

    fn rule() -> Rule {
        Rule {
            name: "r".into(),
            kind: RuleKind::Threshold,
            signals: vec![Signal::Threat(0)],
            signal_label: "threat:abduction".into(),
            metric: Metric::Reports,
            window_secs: 4 * 3600,
            hop_secs: 3600,
            baseline_secs: 0,
            floor: 1.0,
            min_baseline: 1.0,
            min_reports: 1,
            thresholds: vec![(Severity::Watch, 2.0), (Severity::Critical, 4.0)],
            resolve_below: 2.0,
            min_sources: 1,
            critical_min_sources: 1,
            regions: vec![],
            risk_factors: vec!["RF7".into()],
            indicators: vec!["7.8".into()],
        }
    }

    /// Evaluates a window over a list of report hours.
    fn evaluator<'a>(rule: &'a Rule, hours: &'a [i64]) -> impl FnMut(i64) -> Evaluation + 'a {
        move |end| {
            let n = hours
                .iter()
                .filter(|&&h| h * 3600 >= end - rule.window_secs && h * 3600 < end)
                .count();
            let value = n as f64;
            Evaluation {
                value,
                level: rule
                    .thresholds
                    .iter()
                    .rev()
                    .find(|&&(_, t)| value >= t)
                    .map(|&(s, _)| s),
                quiet: value < rule.resolve_below,
                aggregate: WindowAggregate {
                    reports: n as u64,
                    ..Default::default()
                },
                baseline: None,
            }
        }
    }

    /// The first report hour at or after `t`, as a pane start.
    fn next_data(hours: &[i64]) -> impl FnMut(i64) -> Option<i64> + '_ {
        move |t| hours.iter().map(|h| h * 3600).filter(|&s| s >= t).min()
    }

    /// Reports at `report_hours`, one at a time, each reconciled at its own hour: the changes
    /// published and the number of windows evaluated.
    fn feed(
        rule: &Rule,
        t: &mut EpisodeTracker,
        report_hours: &[i64],
    ) -> (Vec<(Status, Severity, i64)>, usize) {
        let (mut seen, mut evaluations, mut hours) = (Vec::new(), 0, Vec::new());
        for &h in report_hours {
            hours.push(h);
            let mut inner = evaluator(rule, &hours);
            let mut ev = |end| {
                evaluations += 1;
                inner(end)
            };
            let mut next = next_data(&hours);
            let changes = t.reconcile(
                rule,
                &mut ev,
                &mut next,
                Some(h * 3600),
                h * 3600,
                72 * 3600,
            );
            seen.extend(
                changes
                    .iter()
                    .map(|c| (c.status, c.severity, c.episode_start)),
            );
        }
        (seen, evaluations)
    }

    #[test]
    fn fires_escalates_and_resolves_after_a_full_quiet_window() {
        let rule = rule();
        let mut t = EpisodeTracker::default();
        let (seen, _) = feed(&rule, &mut t, &[0, 1, 1, 2, 2, 30]);
        assert_eq!(
            seen,
            vec![
                (Status::Firing, Severity::Watch, 0),
                (Status::Escalated, Severity::Critical, 0),
                (Status::Resolved, Severity::Critical, 0),
            ]
        );
    }

    #[test]
    fn a_century_jump_evaluates_only_the_windows_that_hold_data() {
        let rule = rule();
        let century = 100 * 365 * 24;
        let mut t = EpisodeTracker::default();
        let (seen, evaluations) = feed(&rule, &mut t, &[0, 0, 1, century, century, century + 1]);
        // Each crisis fires and resolves as if it stood alone: the gap between them is skipped.
        let later = episode_start(century * 3600 + 3600, &rule);
        assert_eq!(
            seen,
            vec![
                (Status::Firing, Severity::Watch, 0),
                (Status::Resolved, Severity::Watch, 0),
                (Status::Firing, Severity::Watch, later),
            ]
        );
        // Windows that hold data or close an episode, not the 876,000 hours between.
        assert!(evaluations < 100, "{evaluations} evaluations");
        assert!(t.history.len() < 100, "{} checkpoints", t.history.len());
    }

    #[test]
    fn alert_ids_are_deterministic_and_distinct() {
        assert_eq!(
            alert_id("a", "NG-BO", "threat:siege", 0),
            alert_id("a", "NG-BO", "threat:siege", 0)
        );
        assert_ne!(
            alert_id("a", "NG-BO", "threat:siege", 0),
            alert_id("a", "NG-BO", "threat:siege", 3600)
        );
    }
}
