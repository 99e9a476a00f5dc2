//! Tests of the rules: `compilation.rs` (defaults, spans, signals, thresholds, findings) and
//! `evaluation.rs` (levels at their boundaries, corroboration, window bounds, each kind and
//! metric). This file holds what both share: a small taxonomy, rules compiled from TOML
//! snippets, and one region's windows filled through the window API.

mod compilation;
mod evaluation;

use std::sync::Arc;

use super::compile::{RuleFinding, RulesFile};
use super::{Rule, Severity};
use crate::tag::taxonomy::Taxonomy;
use crate::window::{Admission, Contribution, RegionWindows, Signal, WindowSettings};

const H: i64 = 3600;
const D: i64 = 86_400;
/// A window end well clear of zero, so that baselines before it have room.
const END: i64 = 1000 * H;

const ABDUCTION: Signal = Signal::Threat(0);
const SIEGE: Signal = Signal::Threat(1);
const KILLING: Signal = Signal::Threat(2);

/// Three threats; abduction's indicators are out of risk-factor order on purpose.
const TAXONOMY: &str = r#"
[[risk_factor]]
code = "RF7"
name = "Enabling circumstances"
indicators = [{ id = "7.8", label = "armed groups" }]

[[threat]]
code = "abduction"
name = "Abduction"
indicators = ["13.8", "7.9", "7.8"]

[[threat]]
code = "siege"
name = "Siege"
indicators = ["9.4"]

[[threat]]
code = "killing"
name = "Killing"
indicators = ["13.1"]
"#;

fn taxonomy() -> Taxonomy {
    toml::from_str(TAXONOMY).expect("test taxonomy parses")
}

/// Compiles a whole `rules.toml` on 1 h panes.
fn compile(text: &str) -> Result<Vec<Rule>, Vec<RuleFinding>> {
    let file: RulesFile = toml::from_str(text).expect("test rules parse");
    file.compile(&taxonomy(), H)
}

/// One rule named `r` from the body of its table; it must compile.
fn rule(body: &str) -> Rule {
    let mut rules = compile(&format!("[[rule]]\nname = \"r\"\n{body}")).expect("rule compiles");
    rules.remove(0)
}

/// The findings (path, message) of one rule named `r` that must not compile.
fn findings(body: &str) -> Vec<(String, String)> {
    let found = compile(&format!("[[rule]]\nname = \"r\"\n{body}")).expect_err("rule is refused");
    found.into_iter().map(|f| (f.path, f.message)).collect()
}

fn finding(path: &str, message: &str) -> (String, String) {
    (path.to_string(), message.to_string())
}

/// One region's windows, filled one report at a time.
struct Region {
    windows: RegionWindows,
    settings: WindowSettings,
    reports: usize,
}

/// A report's particulars beyond time, source and signals.
#[derive(Clone, Copy)]
struct Detail {
    /// killed, injured, abducted, missing, displaced, sexual_violence.
    casualties: [u64; 6],
    corroborated: bool,
    score_milli: u64,
}

const PLAIN: Detail = Detail {
    casualties: [0; 6],
    corroborated: false,
    score_milli: 1000,
};

impl Region {
    fn new() -> Region {
        Region {
            windows: RegionWindows::new(false),
            // Reports are added out of event-time order; none may be refused as too late.
            settings: WindowSettings {
                allowed_lateness_secs: 10_000 * D,
                ..WindowSettings::default()
            },
            reports: 0,
        }
    }

    /// A plain report at `at` from `source` carrying `signals`.
    fn report(&mut self, at: i64, source: &str, signals: &[Signal]) -> &mut Region {
        self.report_with(at, source, signals, PLAIN)
    }

    fn report_with(
        &mut self,
        at: i64,
        source: &str,
        signals: &[Signal],
        detail: Detail,
    ) -> &mut Region {
        self.reports += 1;
        let id = format!("report-{}", self.reports);
        let Admission::Accepted { id, .. } = self.windows.admit(&id, at, &self.settings, || None)
        else {
            panic!("report {id} at {at} was not admitted");
        };
        let id: Arc<str> = id;
        let contribution = Contribution {
            report_id: &id,
            source_id: source,
            score_milli: detail.score_milli,
            casualties: detail.casualties,
            civilians_killed: detail.casualties[0],
            corroborated: detail.corroborated,
        };
        for &s in signals {
            self.windows.add(s, at, &contribution, &self.settings);
        }
        self
    }

    /// `n` reports of `signal` in the hour before `END`, each from its own source.
    fn distinct(&mut self, n: usize, signal: Signal) -> &mut Region {
        for i in 0..n {
            self.report(END - H, &format!("source-{i}"), &[signal]);
        }
        self
    }

    fn level(&self, rule: &Rule) -> Option<Severity> {
        let lean = rule.evaluate(&self.windows, END, false);
        let detail = rule.evaluate(&self.windows, END, true);
        assert_eq!(lean.level, detail.level, "detail must not change the level");
        lean.level
    }
}
