//! Alert rules (`config/rules.toml`) and their evaluation over one window of a region.
//!
//! Four kinds, all evaluated on hop-aligned sliding windows `[end - window, end)`:
//! - `threshold`: a metric of one signal (reports, distinct sources, casualty sums, score, or the
//!   largest single corroborated report) against per-severity thresholds;
//! - `spike`: the window's report count against the region's own baseline (mean per window over
//!   the preceding `baseline` span), with an absolute floor;
//! - `co_occurrence`: how many of several signals reach `min_reports` in the same window;
//! - single-incident rules are threshold rules on `max_report_killed` / `max_report_abducted`.

use serde::{Deserialize, Serialize};

use crate::tag::taxonomy::Taxonomy;
use crate::window::{RegionWindows, Signal, SourceCount, Want, WindowAggregate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Watch,
    Warning,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Watch, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Watch => "watch",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Threshold,
    Spike,
    CoOccurrence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    #[default]
    Reports,
    Sources,
    Score,
    Killed,
    Injured,
    Abducted,
    Missing,
    Displaced,
    SexualViolence,
    /// killed + injured + abducted + missing + sexual_violence.
    Casualties,
    MaxReportKilled,
    MaxReportAbducted,
}

impl Metric {
    fn of(self, a: &WindowAggregate) -> f64 {
        let c = &a.casualties;
        (match self {
            Metric::Reports => a.reports,
            Metric::Sources => a.sources,
            Metric::Score => return a.score,
            Metric::Killed => c[0],
            Metric::Injured => c[1],
            Metric::Abducted => c[2],
            Metric::Missing => c[3],
            Metric::Displaced => c[4],
            Metric::SexualViolence => c[5],
            Metric::Casualties => c[0] + c[1] + c[2] + c[3] + c[5],
            Metric::MaxReportKilled => a.max_killed_corroborated,
            Metric::MaxReportAbducted => a.max_abducted_corroborated,
        }) as f64
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

/// One `[[rule]]` table as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub kind: RuleKind,
    /// `threat:<code>` or `risk:RF<n>` (threshold, spike).
    #[serde(default)]
    pub signal: Option<String>,
    /// Several signals (co_occurrence).
    #[serde(default)]
    pub signals: Vec<String>,
    #[serde(default)]
    pub metric: Metric,
    /// Window length, e.g. `24h`.
    pub window: String,
    /// Slide between windows, e.g. `1h`.
    #[serde(default = "default_hop")]
    pub hop: String,
    /// Spike: the span before the window whose mean is the baseline, e.g. `28d`.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Spike: the least window count that may fire at all.
    #[serde(default)]
    pub floor: Option<f64>,
    /// Spike: the smallest baseline mean used, so a silent history does not divide by zero.
    #[serde(default)]
    pub min_baseline: Option<f64>,
    /// Co-occurrence: reports each signal needs in the window to count as present.
    #[serde(default)]
    pub min_reports: Option<u64>,
    pub watch: Option<f64>,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    /// The value under which a window counts as quiet; an episode resolves after a full window
    /// of quiet hops. Defaults to the lowest threshold.
    #[serde(default)]
    pub resolve_below: Option<f64>,
    /// Distinct sources needed before the rule may fire (corroboration).
    #[serde(default)]
    pub min_sources: Option<u64>,
    /// Distinct sources needed for `critical` (default 2: one source alone, however many times
    /// it reports, reaches `warning` at most).
    #[serde(default)]
    pub critical_min_sources: Option<u64>,
    /// Only these regions (empty: every region).
    #[serde(default)]
    pub regions: Vec<String>,
}

fn default_hop() -> String {
    "1h".into()
}

/// Distinct sources a `critical` level needs unless a rule says otherwise.
pub const DEFAULT_CRITICAL_MIN_SOURCES: u64 = 2;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    pub signals: Vec<Signal>,
    /// `threat:abduction`, `risk:RF7` or `combo:siege+abduction`.
    pub signal_label: String,
    pub metric: Metric,
    pub window_secs: i64,
    pub hop_secs: i64,
    pub baseline_secs: i64,
    pub floor: f64,
    pub min_baseline: f64,
    pub min_reports: u64,
    /// Ascending by severity; absent severities are skipped.
    pub thresholds: Vec<(Severity, f64)>,
    pub resolve_below: f64,
    pub min_sources: u64,
    /// Distinct sources needed for `critical`; never below `min_sources`.
    pub critical_min_sources: u64,
    pub regions: Vec<String>,
    /// Risk factors the rule's signals evidence, for the alert.
    pub risk_factors: Vec<String>,
    /// Framework indicators behind the rule's signals, for the alert's evidence.
    pub indicators: Vec<String>,
}

/// The result of evaluating a rule on one window.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub value: f64,
    pub level: Option<Severity>,
    pub quiet: bool,
    pub aggregate: WindowAggregate,
    /// Spike rules: the baseline mean per window.
    pub baseline: Option<f64>,
}

/// A problem in `rules.toml`, at a field path such as `rule[3].window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFinding {
    pub path: String,
    pub message: String,
}

pub fn parse_duration_secs(s: &str) -> Option<i64> {
    humantime::parse_duration(s)
        .ok()
        .map(|d| d.as_secs() as i64)
        .filter(|&d| d > 0)
}

pub fn parse_signal(taxonomy: &Taxonomy, s: &str) -> Option<Signal> {
    if let Some(code) = s.strip_prefix("threat:") {
        taxonomy
            .threat_index(code)
            .and_then(|i| u8::try_from(i).ok())
            .map(Signal::Threat)
    } else if let Some(rf) = s.strip_prefix("risk:RF") {
        rf.parse::<u8>()
            .ok()
            .filter(|n| (1..=14).contains(n))
            .map(Signal::Risk)
    } else {
        None
    }
}

pub fn signal_label(taxonomy: &Taxonomy, s: Signal) -> String {
    match s {
        Signal::Threat(t) => format!("threat:{}", taxonomy.threats[t as usize].code),
        Signal::Risk(n) => format!("risk:RF{n}"),
    }
}

impl RulesFile {
    /// Compiles every rule, or lists every problem found.
    pub fn compile(
        &self,
        taxonomy: &Taxonomy,
        pane_secs: i64,
    ) -> Result<Vec<Rule>, Vec<RuleFinding>> {
        let mut findings = Vec::new();
        let mut rules = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, rc) in self.rules.iter().enumerate() {
            let mut bad = |field: &str, message: String| {
                findings.push(RuleFinding {
                    path: format!("rule[{i}].{field}"),
                    message,
                })
            };
            if !names.insert(rc.name.as_str()) {
                bad("name", format!("duplicate rule name {}", rc.name));
            }
            let mut duration = |field: &str, v: &str| match parse_duration_secs(v) {
                Some(d) if d % pane_secs == 0 => d,
                Some(_) => {
                    bad(
                        field,
                        format!("must be a multiple of window.pane_secs ({pane_secs} s)"),
                    );
                    0
                }
                None => {
                    bad(
                        field,
                        format!("expected a duration such as 24h or 28d, got {v:?}"),
                    );
                    0
                }
            };
            let window_secs = duration("window", &rc.window);
            let hop_secs = duration("hop", &rc.hop);
            let baseline_secs = match (&rc.baseline, rc.kind) {
                (Some(b), RuleKind::Spike) => duration("baseline", b),
                (None, RuleKind::Spike) => {
                    bad("baseline", "spike rules need a baseline span".into());
                    0
                }
                _ => 0,
            };
            if window_secs > 0 && hop_secs > window_secs {
                bad("hop", "hop must not exceed the window".into());
            }
            let raw_signals: Vec<&String> = match rc.kind {
                RuleKind::CoOccurrence => {
                    if rc.signals.len() < 2 {
                        bad("signals", "co_occurrence needs at least two signals".into());
                    }
                    rc.signals.iter().collect()
                }
                _ => match &rc.signal {
                    Some(s) => vec![s],
                    None => {
                        bad("signal", "required for threshold and spike rules".into());
                        vec![]
                    }
                },
            };
            let mut signals = Vec::new();
            for (j, s) in raw_signals.iter().enumerate() {
                match parse_signal(taxonomy, s) {
                    Some(sig) => signals.push(sig),
                    None => bad(
                        &if rc.kind == RuleKind::CoOccurrence {
                            format!("signals[{j}]")
                        } else {
                            "signal".into()
                        },
                        format!("unknown signal {s:?} (want threat:<code> or risk:RF<n>)"),
                    ),
                }
            }
            let mut thresholds = Vec::new();
            for (sev, v) in [
                (Severity::Watch, rc.watch),
                (Severity::Warning, rc.warning),
                (Severity::Critical, rc.critical),
            ] {
                if let Some(v) = v {
                    if thresholds.last().is_some_and(|&(_, prev)| v <= prev) {
                        bad(
                            sev.as_str(),
                            "thresholds must rise from watch to warning to critical".into(),
                        );
                    }
                    if v <= 0.0 {
                        bad(sev.as_str(), "thresholds must be positive".into());
                    }
                    thresholds.push((sev, v));
                }
            }
            if thresholds.is_empty() {
                bad(
                    "watch",
                    "at least one of watch, warning, critical is required".into(),
                );
            }
            let lowest = thresholds.first().map_or(1.0, |&(_, v)| v);
            let resolve_below = rc.resolve_below.unwrap_or(lowest);
            if resolve_below > lowest {
                bad(
                    "resolve_below",
                    "must not exceed the lowest threshold".into(),
                );
            }
            let floor = rc.floor.unwrap_or(1.0);
            if rc.kind == RuleKind::Spike && floor < 1.0 {
                bad("floor", "spike floors must be at least 1 report".into());
            }

            let mut risk_factors = Vec::new();
            let mut indicators = Vec::new();
            for &s in &signals {
                match s {
                    Signal::Threat(t) => {
                        let threat = &taxonomy.threats[t as usize];
                        for ind in &threat.indicators {
                            indicators.push(ind.clone());
                            if let Some((rf, _)) = ind.split_once('.') {
                                risk_factors.push(format!("RF{rf}"));
                            }
                        }
                    }
                    Signal::Risk(n) => risk_factors.push(format!("RF{n}")),
                }
            }
            risk_factors.sort_by_key(|rf| rf[2..].parse::<u32>().unwrap_or(0));
            risk_factors.dedup();
            indicators.dedup();
            let signal_label = if rc.kind == RuleKind::CoOccurrence {
                let codes: Vec<String> = signals
                    .iter()
                    .map(|&s| {
                        signal_label(taxonomy, s)
                            .split_once(':')
                            .map(|(_, c)| c.to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                format!("combo:{}", codes.join("+"))
            } else {
                signals
                    .first()
                    .map(|&s| signal_label(taxonomy, s))
                    .unwrap_or_default()
            };
            rules.push(Rule {
                name: rc.name.clone(),
                kind: rc.kind,
                signals,
                signal_label,
                metric: rc.metric,
                window_secs,
                hop_secs,
                baseline_secs,
                floor,
                min_baseline: rc.min_baseline.unwrap_or(1.0),
                min_reports: rc.min_reports.unwrap_or(1),
                thresholds,
                resolve_below,
                min_sources: rc.min_sources.unwrap_or(1),
                critical_min_sources: rc
                    .critical_min_sources
                    .unwrap_or(DEFAULT_CRITICAL_MIN_SOURCES)
                    .max(rc.min_sources.unwrap_or(1)),
                regions: rc.regions.clone(),
                risk_factors,
                indicators,
            });
        }
        if findings.is_empty() {
            Ok(rules)
        } else {
            Err(findings)
        }
    }
}

impl Rule {
    pub fn applies_to(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    /// Panes any evaluation of this rule can read, behind the window end.
    pub fn reach_secs(&self) -> i64 {
        self.window_secs + self.baseline_secs
    }

    pub fn threshold_for(&self, severity: Severity) -> f64 {
        self.thresholds
            .iter()
            .find(|&&(s, _)| s == severity)
            .map_or(0.0, |&(_, v)| v)
    }

    /// Evaluates the window `[end - window, end)`. With `detail`, distinct sources and the spike
    /// baseline are always computed (for the alert record); without, only when the decision
    /// needs them, which keeps the per-report path cheap. The level is the same either way.
    pub fn evaluate(&self, state: &RegionWindows, end: i64, detail: bool) -> Evaluation {
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
                    Metric::MaxReportKilled | Metric::MaxReportAbducted
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
        let level = self
            .thresholds
            .iter()
            .rev()
            .find(|&&(_, t)| eval.value >= t)
            .map(|&(s, _)| s);
        let bar = match level {
            Some(Severity::Critical) => self.critical_min_sources,
            _ => self.min_sources,
        };
        if level.is_some() && bar > 1 && !exact_sources {
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
        // One source is what any non-zero value already implies; only a higher bar is checked.
        let sources = eval.aggregate.sources;
        let corroborated = self.min_sources <= 1 || sources >= self.min_sources;
        eval.level = level.filter(|_| corroborated).and_then(|l| {
            if l == Severity::Critical && self.critical_min_sources > 1 && sources < bar {
                // Critical needs more sources than it has: the highest level below it.
                self.thresholds
                    .iter()
                    .rev()
                    .find(|&&(s, t)| s < Severity::Critical && eval.value >= t)
                    .map(|&(s, _)| s)
            } else {
                Some(l)
            }
        });
        eval.quiet = eval.value < self.resolve_below;
        eval
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
