//! Compiling `[[rule]]` tables: defaults, spans on the pane grid, signals, thresholds, labels and
//! evidence, and every finding at its field path.

use super::*;
use crate::rules::compile::DEFAULT_CRITICAL_MIN_SOURCES;
use crate::rules::{Metric, RuleKind};

#[test]
fn the_shipped_rules_compile_and_use_the_three_kinds() {
    let taxonomy: Taxonomy = toml::from_str(
        &std::fs::read_to_string("config/taxonomy.toml").expect("config/taxonomy.toml"),
    )
    .expect("shipped taxonomy parses");
    let file: RulesFile =
        toml::from_str(&std::fs::read_to_string("config/rules.toml").expect("config/rules.toml"))
            .expect("shipped rules parse");
    let rules = file.compile(&taxonomy, H).expect("shipped rules compile");
    assert_eq!(rules.len(), 10);
    let kinds = |k| rules.iter().filter(|r| r.kind == k).count();
    assert_eq!(
        (
            kinds(RuleKind::Threshold),
            kinds(RuleKind::Spike),
            kinds(RuleKind::CoOccurrence)
        ),
        (8, 1, 1)
    );
    // Single-incident rules are threshold rules on a per-report maximum, not a fourth kind.
    let incident = rules
        .iter()
        .find(|r| r.name == "mass_abduction_incident")
        .expect("shipped rule");
    assert_eq!(
        (incident.kind, incident.metric),
        (RuleKind::Threshold, Metric::MaxReportAbducted)
    );
    let fourth: Result<RulesFile, _> = toml::from_str(
        "[[rule]]\nname = \"r\"\nkind = \"single_incident\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 1\n",
    );
    assert!(fourth.is_err(), "there are three kinds");
}

#[test]
fn defaults_fill_in_what_a_rule_leaves_out() {
    let r = rule(
        r#"kind = "threshold"
signal = "threat:abduction"
window = "24h"
warning = 5
critical = 10"#,
    );
    assert_eq!(r.metric, Metric::Reports);
    assert_eq!((r.window_secs, r.hop_secs, r.baseline_secs), (D, H, 0));
    assert_eq!((r.floor, r.min_baseline, r.min_reports), (1.0, 1.0, 1));
    assert_eq!(
        r.thresholds,
        vec![(Severity::Warning, 5.0), (Severity::Critical, 10.0)]
    );
    assert_eq!(r.resolve_below, 5.0, "the lowest threshold");
    assert_eq!((r.min_sources, r.critical_min_sources), (1, 2));
    assert_eq!(r.critical_min_sources, DEFAULT_CRITICAL_MIN_SOURCES);
    assert!(r.regions.is_empty());
    assert_eq!(r.threshold_for(Severity::Watch), 0.0, "absent severity");
    assert_eq!(r.threshold_for(Severity::Critical), 10.0);
}

#[test]
fn critical_min_sources_is_never_below_min_sources() {
    let with = |extra: &str| {
        let r = rule(&format!(
            "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 1\n{extra}"
        ));
        (r.min_sources, r.critical_min_sources)
    };
    assert_eq!(with("min_sources = 3"), (3, 3));
    assert_eq!(with("min_sources = 2\ncritical_min_sources = 1"), (2, 2));
    assert_eq!(with("critical_min_sources = 1"), (1, 1));
    assert_eq!(with("critical_min_sources = 4"), (1, 4));
}

#[test]
fn spans_are_seconds_on_the_pane_grid_and_reach_covers_the_baseline() {
    let spike = rule(
        r#"kind = "spike"
signal = "threat:abduction"
window = "1d"
hop = "2h"
baseline = "28d"
watch = 3"#,
    );
    assert_eq!(
        (spike.window_secs, spike.hop_secs, spike.baseline_secs),
        (D, 2 * H, 28 * D)
    );
    assert_eq!(spike.reach_secs(), 29 * D);
    let threshold = rule(
        "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"72h\"\nbaseline = \"28d\"\nwatch = 1",
    );
    assert_eq!(threshold.baseline_secs, 0, "only spikes have a baseline");
    assert_eq!(threshold.reach_secs(), 72 * H);

    let bad = |window: &str, hop: &str| {
        findings(&format!(
            "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"{window}\"\nhop = \"{hop}\"\nwatch = 1"
        ))
    };
    assert_eq!(
        bad("90m", "1h"),
        vec![finding(
            "rule[0].window",
            "must be a multiple of window.pane_secs (3600 s)"
        )]
    );
    assert_eq!(
        bad("soon", "1h"),
        vec![finding(
            "rule[0].window",
            "expected a duration such as 24h or 28d, got \"soon\""
        )]
    );
    assert_eq!(
        bad("24h", "0h"),
        vec![finding(
            "rule[0].hop",
            "expected a duration such as 24h or 28d, got \"0h\""
        )]
    );
    assert_eq!(
        bad("24h", "48h"),
        vec![finding("rule[0].hop", "hop must not exceed the window")]
    );
    let whole = rule(
        "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nhop = \"24h\"\nwatch = 1",
    );
    assert_eq!(whole.hop_secs, D, "a hop as long as the window is fine");
}

#[test]
fn spike_rules_need_a_baseline_and_a_floor_of_at_least_one_report() {
    let spike = "kind = \"spike\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 3";
    assert_eq!(
        findings(spike),
        vec![finding(
            "rule[0].baseline",
            "spike rules need a baseline span"
        )]
    );
    assert_eq!(
        findings(&format!("{spike}\nbaseline = \"28d\"\nfloor = 0.5")),
        vec![finding(
            "rule[0].floor",
            "spike floors must be at least 1 report"
        )]
    );
    assert_eq!(
        rule(&format!("{spike}\nbaseline = \"28d\"\nfloor = 1")).floor,
        1.0
    );
}

#[test]
fn signals_resolve_against_the_taxonomy() {
    let threshold = |signal: &str| {
        format!("kind = \"threshold\"\nsignal = \"{signal}\"\nwindow = \"24h\"\nwatch = 1")
    };
    assert_eq!(rule(&threshold("threat:siege")).signals, vec![SIEGE]);
    assert_eq!(rule(&threshold("risk:RF1")).signals, vec![Signal::Risk(1)]);
    assert_eq!(
        rule(&threshold("risk:RF14")).signals,
        vec![Signal::Risk(14)]
    );
    for unknown in [
        "risk:RF0",
        "risk:RF15",
        "threat:flood",
        "abduction",
        "indicator:7.8",
    ] {
        assert_eq!(
            findings(&threshold(unknown)),
            vec![finding(
                "rule[0].signal",
                &format!("unknown signal {unknown:?} (want threat:<code> or risk:RF<n>)")
            )],
            "{unknown}"
        );
    }
    assert_eq!(
        findings("kind = \"spike\"\nwindow = \"24h\"\nbaseline = \"28d\"\nwatch = 1"),
        vec![finding(
            "rule[0].signal",
            "required for threshold and spike rules"
        )]
    );
    let co = |signals: &str| {
        format!("kind = \"co_occurrence\"\nsignals = [{signals}]\nwindow = \"24h\"\nwatch = 1")
    };
    assert_eq!(
        rule(&co("\"threat:siege\", \"risk:RF9\"")).signals,
        vec![SIEGE, Signal::Risk(9)]
    );
    assert_eq!(
        findings(&co("\"threat:siege\"")),
        vec![finding(
            "rule[0].signals",
            "co_occurrence needs at least two signals"
        )]
    );
    assert_eq!(
        findings(&co("\"threat:siege\", \"threat:flood\"")),
        vec![finding(
            "rule[0].signals[1]",
            "unknown signal \"threat:flood\" (want threat:<code> or risk:RF<n>)"
        )]
    );
}

#[test]
fn thresholds_must_be_given_positive_and_rising() {
    let with = |levels: &str| {
        format!("kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\n{levels}")
    };
    assert_eq!(
        findings(&with("")),
        vec![finding(
            "rule[0].watch",
            "at least one of watch, warning, critical is required"
        )]
    );
    let rise = "thresholds must rise from watch to warning to critical";
    assert_eq!(
        findings(&with("watch = 5\nwarning = 5")),
        vec![finding("rule[0].warning", rise)]
    );
    assert_eq!(
        findings(&with("watch = 5\ncritical = 4")),
        vec![finding("rule[0].critical", rise)]
    );
    assert_eq!(
        findings(&with("watch = 0")),
        vec![finding("rule[0].watch", "thresholds must be positive")]
    );
    assert_eq!(
        findings(&with("watch = 5\nresolve_below = 5.5")),
        vec![finding(
            "rule[0].resolve_below",
            "must not exceed the lowest threshold"
        )]
    );
    let r = rule(&with(
        "watch = 5\nwarning = 6\ncritical = 7\nresolve_below = 5",
    ));
    assert_eq!(r.resolve_below, 5.0);
    assert_eq!(r.thresholds.len(), 3);
}

#[test]
fn every_problem_is_listed_at_its_rule_index() {
    let found = compile(
        r#"[[rule]]
name = "a"
kind = "threshold"
signal = "threat:abduction"
window = "24h"
watch = 1

[[rule]]
name = "a"
kind = "threshold"
signal = "threat:flood"
window = "1.5h"
watch = 2
warning = 1
"#,
    )
    .expect_err("refused");
    let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "rule[1].name",
            "rule[1].window",
            "rule[1].signal",
            "rule[1].warning"
        ]
    );
    assert_eq!(found[0].message, "duplicate rule name a");
}

#[test]
fn labels_risk_factors_and_indicators_follow_the_signals() {
    let abduction =
        rule("kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 1");
    assert_eq!(abduction.signal_label, "threat:abduction");
    // By risk-factor number (RF7 before RF13, unlike text order), once each.
    assert_eq!(abduction.risk_factors, vec!["RF7", "RF13"]);
    assert_eq!(abduction.indicators, vec!["13.8", "7.9", "7.8"]);

    let risk = rule("kind = \"threshold\"\nsignal = \"risk:RF7\"\nwindow = \"24h\"\nwatch = 1");
    assert_eq!(
        (risk.signal_label.as_str(), risk.risk_factors.clone()),
        ("risk:RF7", vec!["RF7".to_string()])
    );
    assert!(risk.indicators.is_empty());

    let combo = rule(
        "kind = \"co_occurrence\"\nsignals = [\"threat:siege\", \"threat:abduction\", \"risk:RF2\"]\nwindow = \"24h\"\nwatch = 2",
    );
    assert_eq!(combo.signal_label, "combo:siege+abduction+RF2");
    assert_eq!(combo.risk_factors, vec!["RF2", "RF7", "RF9", "RF13"]);
}

#[test]
fn metrics_are_spelled_as_rules_toml_spells_them_and_casualties_by_their_report_field() {
    use crate::report::CasualtyKind;
    let parse = |name: &str| -> Result<Metric, String> {
        toml::from_str::<std::collections::BTreeMap<String, Metric>>(&format!("m = \"{name}\""))
            .map(|m| m["m"])
            .map_err(|e| e.to_string())
    };
    for (name, metric) in [
        ("reports", Metric::Reports),
        ("sources", Metric::Sources),
        ("score", Metric::Score),
        ("killed", Metric::Casualty(CasualtyKind::Killed)),
        (
            "sexual_violence",
            Metric::Casualty(CasualtyKind::SexualViolence),
        ),
        ("casualties", Metric::Casualties),
        ("max_report_abducted", Metric::MaxReportAbducted),
    ] {
        assert_eq!(parse(name), Ok(metric), "{name}");
        assert_eq!(metric.name(), name);
    }
    for kind in CasualtyKind::ALL {
        assert_eq!(parse(kind.name()), Ok(Metric::Casualty(kind)));
    }
    let refused = parse("deaths").unwrap_err();
    assert!(
        refused.contains("unknown metric `deaths`") && refused.contains("displaced"),
        "{refused}"
    );
}
