//! Alert rules (`config/rules.toml`): their vocabulary and the compiled [`Rule`].
//!
//! Three kinds, all evaluated on hop-aligned sliding windows `[end - window, end)`:
//! - `threshold`: a metric of one signal (reports, distinct sources, casualty sums, score, or the
//!   largest single corroborated report) against per-severity thresholds; single-incident rules
//!   are threshold rules on `max_report_killed` / `max_report_abducted`;
//! - `spike`: the window's report count against the region's own baseline (mean per window over
//!   the preceding `baseline` span), with an absolute floor;
//! - `co_occurrence`: how many of several signals reach `min_reports` in the same window.
//!
//! `compile.rs` turns the `[[rule]]` tables into [`Rule`]s (or lists every problem, with its field
//! path); `evaluate.rs` evaluates a rule over one window of a region's panes and decides its
//! level. The episodes built from those evaluations live in `alert`.

mod compile;
mod evaluate;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::report::CasualtyKind;

use crate::window::Signal;

pub(crate) use compile::RulesFile;
pub(crate) use evaluate::Evaluation;

/// An alert's severity, lowest first (the order escalation follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Watch,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Watch, Severity::Warning, Severity::Critical];

    /// The name as written in `rules.toml` and in alerts: `watch`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Watch => "watch",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A rule's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RuleKind {
    Threshold,
    Spike,
    CoOccurrence,
}

/// What a threshold rule measures in its window (`metric`, default `reports`). Spike rules
/// always count reports; co-occurrence rules count signals present. Spelled in `rules.toml` as
/// `reports`, `sources`, `score`, a casualty kind's name (`killed`, …, `sexual_violence`, the
/// report's own field names), `casualties`, `max_report_killed`, `max_report_abducted` or
/// `max_report_civilians_killed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Metric {
    #[default]
    Reports,
    Sources,
    Score,
    /// The sum of one casualty kind.
    Casualty(CasualtyKind),
    /// People harmed: the sum of every casualty kind but `displaced`.
    Casualties,
    MaxReportKilled,
    MaxReportAbducted,
    /// The largest count of civilians killed in one corroborated report
    /// ([`crate::tag::civilians_killed`]): what an attack on civilians (RF11) is measured by.
    MaxReportCiviliansKilled,
}

impl Metric {
    /// The metrics that are not one casualty kind, by name.
    const OTHERS: [(&'static str, Metric); 7] = [
        ("reports", Metric::Reports),
        ("sources", Metric::Sources),
        ("score", Metric::Score),
        ("casualties", Metric::Casualties),
        ("max_report_killed", Metric::MaxReportKilled),
        ("max_report_abducted", Metric::MaxReportAbducted),
        (
            "max_report_civilians_killed",
            Metric::MaxReportCiviliansKilled,
        ),
    ];

    /// The name `rules.toml` uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Metric::Casualty(kind) => kind.name(),
            other => Self::OTHERS
                .iter()
                .find(|(_, m)| *m == other)
                .map_or("reports", |(name, _)| name),
        }
    }

    /// The metric of a name, if any.
    pub(crate) fn from_name(name: &str) -> Option<Metric> {
        let other = Self::OTHERS.iter().find(|(n, _)| *n == name);
        other
            .map(|(_, m)| *m)
            .or_else(|| CasualtyKind::from_name(name).map(Metric::Casualty))
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Metric, D::Error> {
        let name = String::deserialize(deserializer)?;
        Metric::from_name(&name).ok_or_else(|| {
            let mut names: Vec<&str> = Metric::OTHERS.iter().map(|(n, _)| *n).collect();
            names.extend(CasualtyKind::ALL.iter().map(|k| k.name()));
            serde::de::Error::custom(format!(
                "unknown metric `{name}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

/// A compiled rule: spans in seconds, signals resolved against the taxonomy, defaults filled in.
/// Built only by [`RulesFile::compile`].
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's `name`, unique in `rules.toml`.
    pub name: String,
    pub(crate) kind: RuleKind,
    /// One signal (threshold, spike) or several (co-occurrence).
    pub(crate) signals: Vec<Signal>,
    /// `threat:abduction`, `risk:RF7` or `combo:siege+abduction`.
    pub(crate) signal_label: String,
    pub(crate) metric: Metric,
    /// Window length, a multiple of the pane width.
    pub(crate) window_secs: i64,
    /// Slide between window ends, a multiple of the pane width, at most the window.
    pub(crate) hop_secs: i64,
    /// Spike: the span before the window whose mean per window is the baseline (0 otherwise).
    pub(crate) baseline_secs: i64,
    /// Spike: the least window count that may fire (default 1).
    pub(crate) floor: f64,
    /// Spike: the smallest baseline mean divided by (default 1).
    pub(crate) min_baseline: f64,
    /// Co-occurrence: reports a signal needs in the window to count as present (default 1).
    pub(crate) min_reports: u64,
    /// Ascending by severity; absent severities are skipped.
    pub(crate) thresholds: Vec<(Severity, f64)>,
    /// A window whose value is below this is quiet (default: the lowest threshold).
    pub(crate) resolve_below: f64,
    /// Distinct sources any level needs (default 1).
    pub(crate) min_sources: u64,
    /// Distinct sources needed for `critical`; never below `min_sources`.
    pub(crate) critical_min_sources: u64,
    /// Region codes the rule runs in, compared exactly (empty: every region).
    pub(crate) regions: Vec<String>,
    /// Risk factors the rule's signals evidence, for the alert.
    pub(crate) risk_factors: Vec<String>,
    /// Framework indicators behind the rule's signals, for the alert's evidence.
    pub(crate) indicators: Vec<String>,
}

impl Rule {
    /// The signal its alerts carry: `threat:abduction`, `risk:RF7` or `combo:siege+abduction`.
    pub fn signal_label(&self) -> &str {
        &self.signal_label
    }

    /// Whether the rule runs in `region` (a region code such as `NG-BO`).
    pub(crate) fn applies_to(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    /// Seconds of event time any evaluation of this rule can read behind the window end: the
    /// window and, for spikes, the baseline before it. Panes older than that can be evicted.
    pub(crate) fn reach_secs(&self) -> i64 {
        self.window_secs + self.baseline_secs
    }

    /// The threshold of `severity`, or 0 when the rule has none for it.
    pub(crate) fn threshold_for(&self, severity: Severity) -> f64 {
        self.thresholds
            .iter()
            .find(|&&(s, _)| s == severity)
            .map_or(0.0, |&(_, v)| v)
    }
}
