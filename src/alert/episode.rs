//! The episode state machine of one (rule, region): [`EpisodeTracker`] steps a [`Lifecycle`]
//! over the rule's windows, keeps checkpoints inside the lateness horizon so that a late report
//! can rewind and re-run it, and yields the [`Change`]s to publish (see the module doc of
//! `alert` for the lifecycle itself).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::record::Status;
use crate::rules::{Evaluation, Rule, Severity};

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
pub(super) struct Lifecycle {
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
pub(crate) struct Change {
    pub(crate) episode_start: i64,
    pub(crate) status: Status,
    pub(crate) severity: Severity,
    pub(crate) first_seen: i64,
    /// End of the window whose evaluation produced the change.
    pub(crate) window_end: i64,
    pub(crate) evaluation: Evaluation,
    /// For a superseded episode: the start of the episode that replaces it.
    pub(crate) superseded_by: Option<i64>,
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

/// Lifecycle state of one (rule, region): the machine's state, its checkpoints inside the
/// lateness horizon, and what was published per episode. It travels with the region's state
/// in the changelog, so its serialised form is part of the state's format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeTracker {
    /// State after window `base_end`; windows up to it are final.
    base: Lifecycle,
    base_end: Option<i64>,
    /// State after each closed window later than `base_end`, ascending. Serialised as runs of
    /// equal states (mostly idle), which keeps the changelog's region records small.
    #[serde(with = "super::history_runs")]
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
    pub(crate) fn reconcile(
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
    pub(crate) fn is_idle(&self) -> bool {
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
    pub(crate) fn skip_idle(&mut self, rule: &Rule, watermark: i64) {
        debug_assert!(self.is_idle());
        let closed_upto = watermark.div_euclid(rule.hop_secs) * rule.hop_secs;
        if self.last_closed.is_some_and(|l| l < closed_upto) {
            self.last_closed = Some(closed_upto);
        }
    }

    /// Episodes currently open (firing or escalated), with severity.
    pub(crate) fn open_episodes(&self) -> impl Iterator<Item = (i64, Severity)> + '_ {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rules::{Metric, RuleKind};
    use crate::window::{Admission, Contribution, RegionWindows, Signal, WindowSettings};

    const H: i64 = 3600;

    /// Abduction reports in 4 h windows, hop 1 h: watch at 2, critical at 4, any one source.
    fn rule() -> Rule {
        Rule {
            name: "r".into(),
            kind: RuleKind::Threshold,
            signals: vec![Signal::Threat(0)],
            signal_label: "threat:abduction".into(),
            metric: Metric::Reports,
            window_secs: 4 * H,
            hop_secs: H,
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

    /// Reports at `report_hours`, one at a time, each added to the region's windows and
    /// reconciled at its own hour with the rule's own evaluation, as the engine does: the
    /// changes published and the number of windows evaluated.
    fn feed(
        rule: &Rule,
        t: &mut EpisodeTracker,
        report_hours: &[i64],
    ) -> (Vec<(Status, Severity, i64)>, usize) {
        let settings = WindowSettings::default();
        let mut windows = RegionWindows::new(false);
        let (mut seen, mut evaluations) = (Vec::new(), 0);
        for (n, &h) in report_hours.iter().enumerate() {
            let at = h * H;
            let Admission::Accepted { id, .. } =
                windows.admit(&format!("report-{n}"), at, &settings, || None)
            else {
                panic!("report {n} at hour {h} was not admitted");
            };
            let id: Arc<str> = id;
            let contribution = Contribution {
                report_id: &id,
                source_id: "source",
                score_milli: 1000,
                casualties: [0; 6],
                civilians_killed: 0,
                corroborated: false,
            };
            windows.add(rule.signals[0], at, &contribution, &settings);
            let mut evaluate = |end| {
                evaluations += 1;
                rule.evaluate(&windows, end, false)
            };
            let mut next_data = |t| windows.next_pane_start(&rule.signals, t);
            let changes = t.reconcile(
                rule,
                &mut evaluate,
                &mut next_data,
                Some(at),
                windows.watermark,
                settings.allowed_lateness_secs,
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
    fn one_quiet_hop_short_of_a_window_does_not_resolve() {
        let rule = rule();
        // The windows ending at 7, 8, 9 and 10 h are the first quiet ones (below 2 reports).
        let (short, _) = feed(&rule, &mut EpisodeTracker::default(), &[0, 1, 1, 2, 2, 9]);
        assert_eq!(
            short.last(),
            Some(&(Status::Escalated, Severity::Critical, 0)),
            "three quiet hops of a four-hour window"
        );
        let (full, _) = feed(&rule, &mut EpisodeTracker::default(), &[0, 1, 1, 2, 2, 10]);
        assert_eq!(
            full.last(),
            Some(&(Status::Resolved, Severity::Critical, 0))
        );
    }

    #[test]
    fn a_century_jump_evaluates_only_the_windows_that_hold_data() {
        let rule = rule();
        let century = 100 * 365 * 24;
        let mut t = EpisodeTracker::default();
        let (seen, evaluations) = feed(&rule, &mut t, &[0, 0, 1, century, century, century + 1]);
        // Each crisis fires and resolves as if it stood alone: the gap between them is skipped.
        let later = episode_start(century * H + H, &rule);
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
}
