//! `rules.toml` as written ([`RulesFile`], [`RuleConfig`]) and its compilation into [`Rule`]s:
//! durations to seconds on the pane grid, signals resolved against the taxonomy, defaults filled
//! in, and every problem found reported at its field path (`rule[3].window`), not just the first.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Metric, Rule, RuleKind, Severity};
use crate::tag::taxonomy::{Taxonomy, risk_factor_number};
use crate::window::Signal;

/// The whole `rules.toml`: a list of `[[rule]]` tables.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesFile {
    #[serde(rename = "rule")]
    pub(crate) rules: Vec<RuleConfig>,
}

/// One `[[rule]]` table as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleConfig {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) kind: RuleKind,
    /// `threat:<code>` or `risk:RF<n>` (threshold, spike).
    #[serde(default)]
    pub(crate) signal: Option<String>,
    /// Several signals (co_occurrence).
    #[serde(default)]
    pub(crate) signals: Vec<String>,
    #[serde(default)]
    pub(crate) metric: Metric,
    /// Window length, e.g. `24h`.
    pub(crate) window: String,
    /// Slide between windows, e.g. `1h`.
    #[serde(default = "default_hop")]
    pub(crate) hop: String,
    /// Spike: the span before the window whose mean is the baseline, e.g. `28d`.
    #[serde(default)]
    pub(crate) baseline: Option<String>,
    /// Spike: the least window count that may fire at all.
    #[serde(default)]
    pub(crate) floor: Option<f64>,
    /// Spike: the smallest baseline mean used, so a silent history does not divide by zero.
    #[serde(default)]
    pub(crate) min_baseline: Option<f64>,
    /// Co-occurrence: reports each signal needs in the window to count as present.
    #[serde(default)]
    pub(crate) min_reports: Option<u64>,
    pub(crate) watch: Option<f64>,
    pub(crate) warning: Option<f64>,
    pub(crate) critical: Option<f64>,
    /// The value under which a window counts as quiet; an episode resolves after a full window
    /// of quiet hops. Defaults to the lowest threshold.
    #[serde(default)]
    pub(crate) resolve_below: Option<f64>,
    /// Distinct sources needed before the rule may fire (corroboration).
    #[serde(default)]
    pub(crate) min_sources: Option<u64>,
    /// Distinct sources needed for `critical` (default 2: one source alone, however many times
    /// it reports, reaches `warning` at most).
    #[serde(default)]
    pub(crate) critical_min_sources: Option<u64>,
    /// Only these regions, by exact region code (empty: every region).
    #[serde(default)]
    pub(crate) regions: Vec<String>,
}

fn default_hop() -> String {
    "1h".into()
}

/// Distinct sources a `critical` level needs unless a rule says otherwise.
pub(crate) const DEFAULT_CRITICAL_MIN_SOURCES: u64 = 2;

/// A problem in `rules.toml`, at a field path such as `rule[3].window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleFinding {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// The findings of one `[[rule]]` table, which prefix their field with `rule[<index>].`.
struct Findings<'a> {
    index: usize,
    list: &'a mut Vec<RuleFinding>,
}

impl Findings<'_> {
    fn bad(&mut self, field: &str, message: impl Into<String>) {
        self.list.push(RuleFinding {
            path: format!("rule[{}].{field}", self.index),
            message: message.into(),
        });
    }
}

/// A positive whole number of seconds (`24h`, `28d`), or None.
fn parse_duration_secs(s: &str) -> Option<i64> {
    humantime::parse_duration(s)
        .ok()
        .map(|d| d.as_secs() as i64)
        .filter(|&d| d > 0)
}

/// `threat:<code>` (a threat of the taxonomy) or `risk:RF<n>` (a risk factor of the Framework,
/// RF1–RF14), or None.
fn parse_signal(taxonomy: &Taxonomy, s: &str) -> Option<Signal> {
    if let Some(code) = s.strip_prefix("threat:") {
        taxonomy
            .threat_index(code)
            .and_then(|i| u8::try_from(i).ok())
            .map(Signal::Threat)
    } else if let Some(rf) = s.strip_prefix("risk:") {
        risk_factor_number(rf).map(Signal::Risk)
    } else {
        None
    }
}

/// The signal as written in rules and alerts: `threat:<code>` or `risk:RF<n>`.
fn signal_label(taxonomy: &Taxonomy, s: Signal) -> String {
    match s {
        Signal::Threat(t) => format!("threat:{}", taxonomy.threats[t as usize].code),
        Signal::Risk(n) => format!("risk:RF{n}"),
    }
}

impl RulesFile {
    /// Compiles every rule against `taxonomy`, with every span a multiple of `pane_secs`; or
    /// lists every problem found, in file order.
    pub(crate) fn compile(
        &self,
        taxonomy: &Taxonomy,
        pane_secs: i64,
    ) -> Result<Vec<Rule>, Vec<RuleFinding>> {
        let mut findings = Vec::new();
        let mut rules = Vec::new();
        let mut names = BTreeSet::new();
        for (index, rc) in self.rules.iter().enumerate() {
            let mut found = Findings {
                index,
                list: &mut findings,
            };
            if !names.insert(rc.name.as_str()) {
                found.bad("name", format!("duplicate rule name {}", rc.name));
            }
            rules.push(rc.compile(taxonomy, pane_secs, &mut found));
        }
        if findings.is_empty() {
            Ok(rules)
        } else {
            Err(findings)
        }
    }
}

impl RuleConfig {
    /// This table's rule; what is wrong goes to `found` (the rule is then discarded).
    fn compile(&self, taxonomy: &Taxonomy, pane_secs: i64, found: &mut Findings<'_>) -> Rule {
        let window_secs = duration(found, pane_secs, "window", &self.window);
        let hop_secs = duration(found, pane_secs, "hop", &self.hop);
        let baseline_secs = match (&self.baseline, self.kind) {
            (Some(b), RuleKind::Spike) => duration(found, pane_secs, "baseline", b),
            (None, RuleKind::Spike) => {
                found.bad("baseline", "spike rules need a baseline span");
                0
            }
            _ => 0,
        };
        if window_secs > 0 && hop_secs > window_secs {
            found.bad("hop", "hop must not exceed the window");
        }
        let signals = self.signals(taxonomy, found);
        let thresholds = self.thresholds(found);
        let lowest = thresholds.first().map_or(1.0, |&(_, v)| v);
        let resolve_below = self.resolve_below.unwrap_or(lowest);
        if resolve_below > lowest {
            found.bad("resolve_below", "must not exceed the lowest threshold");
        }
        let floor = self.floor.unwrap_or(1.0);
        if self.kind == RuleKind::Spike && floor < 1.0 {
            found.bad("floor", "spike floors must be at least 1 report");
        }
        let (risk_factors, indicators) = evidence(taxonomy, &signals);
        let min_sources = self.min_sources.unwrap_or(1);
        Rule {
            name: self.name.clone(),
            kind: self.kind,
            signal_label: self.label(taxonomy, &signals),
            signals,
            metric: self.metric,
            window_secs,
            hop_secs,
            baseline_secs,
            floor,
            min_baseline: self.min_baseline.unwrap_or(1.0),
            min_reports: self.min_reports.unwrap_or(1),
            thresholds,
            resolve_below,
            min_sources,
            critical_min_sources: self
                .critical_min_sources
                .unwrap_or(DEFAULT_CRITICAL_MIN_SOURCES)
                .max(min_sources),
            regions: self.regions.clone(),
            risk_factors,
            indicators,
        }
    }

    /// The signals as written (`signals` for co-occurrence, `signal` otherwise), resolved.
    fn signals(&self, taxonomy: &Taxonomy, found: &mut Findings<'_>) -> Vec<Signal> {
        let raw: Vec<&String> = match self.kind {
            RuleKind::CoOccurrence => {
                if self.signals.len() < 2 {
                    found.bad("signals", "co_occurrence needs at least two signals");
                }
                self.signals.iter().collect()
            }
            _ => match &self.signal {
                Some(s) => vec![s],
                None => {
                    found.bad("signal", "required for threshold and spike rules");
                    vec![]
                }
            },
        };
        let mut signals = Vec::new();
        for (j, s) in raw.iter().enumerate() {
            match parse_signal(taxonomy, s) {
                Some(sig) => signals.push(sig),
                None => found.bad(
                    &if self.kind == RuleKind::CoOccurrence {
                        format!("signals[{j}]")
                    } else {
                        "signal".into()
                    },
                    format!("unknown signal {s:?} (want threat:<code> or risk:RF<n>)"),
                ),
            }
        }
        signals
    }

    /// The thresholds given, ascending by severity; they must be positive and rise.
    fn thresholds(&self, found: &mut Findings<'_>) -> Vec<(Severity, f64)> {
        let mut thresholds: Vec<(Severity, f64)> = Vec::new();
        for (sev, v) in [
            (Severity::Watch, self.watch),
            (Severity::Warning, self.warning),
            (Severity::Critical, self.critical),
        ] {
            if let Some(v) = v {
                if thresholds.last().is_some_and(|&(_, prev)| v <= prev) {
                    found.bad(
                        sev.as_str(),
                        "thresholds must rise from watch to warning to critical",
                    );
                }
                if v <= 0.0 {
                    found.bad(sev.as_str(), "thresholds must be positive");
                }
                thresholds.push((sev, v));
            }
        }
        if thresholds.is_empty() {
            found.bad(
                "watch",
                "at least one of watch, warning, critical is required",
            );
        }
        thresholds
    }

    /// `combo:<code>+<code>…` for co-occurrence, else the one signal's label.
    fn label(&self, taxonomy: &Taxonomy, signals: &[Signal]) -> String {
        if self.kind == RuleKind::CoOccurrence {
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
        }
    }
}

/// A span field in seconds: a duration on the pane grid, or 0 with a finding.
fn duration(found: &mut Findings<'_>, pane_secs: i64, field: &str, v: &str) -> i64 {
    match parse_duration_secs(v) {
        Some(d) if d % pane_secs == 0 => d,
        Some(_) => {
            found.bad(
                field,
                format!("must be a multiple of window.pane_secs ({pane_secs} s)"),
            );
            0
        }
        None => {
            found.bad(
                field,
                format!("expected a duration such as 24h or 28d, got {v:?}"),
            );
            0
        }
    }
}

/// The risk factors (`RF<n>`, in number order, once each) and Framework indicators (taxonomy
/// order) that `signals` evidence: a threat's indicators `n.m` name risk factor `n`.
fn evidence(taxonomy: &Taxonomy, signals: &[Signal]) -> (Vec<String>, Vec<String>) {
    let mut risk_factors = Vec::new();
    let mut indicators = Vec::new();
    for &s in signals {
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
    // `dedup` drops adjacent repeats only: an indicator that two co-occurring threats share
    // apart from each other is listed twice. Kept so: alerts must not change in a restructure.
    indicators.dedup();
    (risk_factors, indicators)
}
