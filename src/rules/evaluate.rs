//! A rule evaluated over one window of a region: the value it compares with its thresholds and
//! the level that value reaches once corroboration (distinct sources) is taken into account.

use super::{Metric, Rule, RuleKind, Severity};
use crate::report::CasualtyKind;
use crate::window::{RegionWindows, SourceCount, Want, WindowAggregate};

/// The result of evaluating a rule on one window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evaluation {
    /// What the rule compares with its thresholds: the metric (threshold), count over baseline
    /// mean (spike, 0 below the floor) or signals present (co-occurrence).
    pub(crate) value: f64,
    /// The level reached, corroboration included; None below every threshold.
    pub(crate) level: Option<Severity>,
    /// `value` is below the rule's `resolve_below`.
    pub(crate) quiet: bool,
    /// The window's sums. `sources` is exact only when asked for `detail` or the metric is
    /// `sources`; otherwise it is counted only as far as a level's bar needs (or not at all).
    pub(crate) aggregate: WindowAggregate,
    /// Spike rules: the baseline mean per window (before `min_baseline` applies).
    pub(crate) baseline: Option<f64>,
}

impl Metric {
    /// This metric of a window's aggregate.
    fn of(self, a: &WindowAggregate) -> f64 {
        let c = |kind: CasualtyKind| a.casualties[kind.index()];
        (match self {
            Metric::Reports => a.reports,
            Metric::Sources => a.sources,
            Metric::Score => return a.score,
            Metric::Casualty(kind) => c(kind),
            // People harmed: every kind but displacement, which is counted apart.
            Metric::Casualties => CasualtyKind::ALL
                .into_iter()
                .filter(|k| *k != CasualtyKind::Displaced)
                .map(c)
                .sum(),
            Metric::MaxReportKilled => a.max_killed_corroborated,
            Metric::MaxReportAbducted => a.max_abducted_corroborated,
            Metric::MaxReportCiviliansKilled => a.max_civilians_killed_corroborated,
        }) as f64
    }
}

impl Rule {
    /// Evaluates the window `[end - window, end)` (event-time seconds; `end` is a window end on
    /// the hop grid). With `detail`, distinct sources and the largest single corroborated
    /// reports are always computed (for the alert record); without, only as far as the metric
    /// and the level's source bar need them, which keeps the per-report path cheap. The value
    /// and level are the same either way.
    pub(crate) fn evaluate(&self, state: &RegionWindows, end: i64, detail: bool) -> Evaluation {
        let start = end - self.window_secs;
        let exact_sources = detail || self.metric == Metric::Sources;
        let want = Want {
            sources: if exact_sources {
                SourceCount::Exact
            } else {
                SourceCount::Skip
            },
            maxima: detail
                || matches!(
                    self.metric,
                    Metric::MaxReportKilled
                        | Metric::MaxReportAbducted
                        | Metric::MaxReportCiviliansKilled
                ),
        };
        let mut eval = Evaluation::default();
        match self.kind {
            RuleKind::Threshold => {
                eval.aggregate = state.aggregate(self.signals[0], start, end, want);
                eval.value = self.metric.of(&eval.aggregate);
            }
            RuleKind::Spike => {
                eval.aggregate = state.aggregate(self.signals[0], start, end, want);
                let count = eval.aggregate.reports as f64;
                let history =
                    state.count(self.signals[0], start - self.baseline_secs, start) as f64;
                let windows = self.baseline_secs as f64 / self.window_secs as f64;
                let mean = (history / windows).max(self.min_baseline);
                eval.baseline = Some(history / windows);
                eval.value = if count >= self.floor {
                    count / mean
                } else {
                    0.0
                };
            }
            RuleKind::CoOccurrence => {
                let (combined, present) = self.co_occurrence(state, start, end, want);
                eval.aggregate = combined;
                eval.value = f64::from(present);
            }
        }
        // A level needs corroboration: count distinct sources now if they were not counted.
        let bar = self
            .reached(eval.value)
            .map_or(0, |l| self.sources_needed(l));
        if bar > 1 && !exact_sources {
            // Only whether the bar is met matters here (the alert's detail counts them all).
            let only_sources = Want {
                sources: SourceCount::UpTo(bar),
                maxima: false,
            };
            eval.aggregate.sources = match self.kind {
                RuleKind::CoOccurrence => {
                    self.co_occurrence(state, start, end, only_sources)
                        .0
                        .sources
                }
                _ => {
                    state
                        .aggregate(self.signals[0], start, end, only_sources)
                        .sources
                }
            };
        }
        eval.level = self.level(eval.value, eval.aggregate.sources);
        eval.quiet = eval.value < self.resolve_below;
        eval
    }

    /// The level of a window whose value is `value` and whose signals come from `sources`
    /// distinct sources: the highest severity whose threshold `value` reaches, if the window has
    /// `min_sources`; a `critical` without `critical_min_sources` falls to the highest level
    /// below it that `value` reaches. `sources` matters only where a bar above 1 applies (any
    /// non-zero value already implies one source), so a count capped at the bar suffices.
    pub(crate) fn level(&self, value: f64, sources: u64) -> Option<Severity> {
        let reached = self.reached(value)?;
        if self.min_sources > 1 && sources < self.min_sources {
            return None;
        }
        if reached == Severity::Critical
            && self.critical_min_sources > 1
            && sources < self.critical_min_sources
        {
            return self
                .thresholds
                .iter()
                .rev()
                .find(|&&(s, t)| s < Severity::Critical && value >= t)
                .map(|&(s, _)| s);
        }
        Some(reached)
    }

    /// The highest severity whose threshold `value` reaches, sources aside.
    fn reached(&self, value: f64) -> Option<Severity> {
        self.thresholds
            .iter()
            .rev()
            .find(|&&(_, t)| value >= t)
            .map(|&(s, _)| s)
    }

    /// Distinct sources `severity` needs.
    fn sources_needed(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical_min_sources,
            _ => self.min_sources,
        }
    }

    /// A co-occurrence window's combined aggregate: summed reports and scores, the largest
    /// casualty figure and source count of any one signal (the same incident is often tagged
    /// with several threats, so sums would count it twice); and how many of the signals reach
    /// `min_reports`.
    fn co_occurrence(
        &self,
        state: &RegionWindows,
        start: i64,
        end: i64,
        want: Want,
    ) -> (WindowAggregate, u32) {
        let mut combined = WindowAggregate::default();
        let mut present = 0;
        for &s in &self.signals {
            let a = state.aggregate(s, start, end, want);
            present += u32::from(a.reports >= self.min_reports);
            combined.reports += a.reports;
            combined.sources = combined.sources.max(a.sources);
            combined.score += a.score;
            for (sum, v) in combined.casualties.iter_mut().zip(a.casualties) {
                *sum = (*sum).max(v);
            }
        }
        (combined, present)
    }
}
