//! Evaluating rules over small windows: levels at their thresholds, corroboration by distinct
//! sources, window bounds, what `detail` adds, each metric, spikes, co-occurrence and regions.

use super::*;

/// watch 3, warning 6, critical 12 on abduction reports in 24 h.
fn graded(extra: &str) -> Rule {
    rule(&format!(
        "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 3\nwarning = 6\ncritical = 12\n{extra}"
    ))
}

#[test]
fn a_level_begins_exactly_at_its_threshold() {
    let r = graded("critical_min_sources = 1");
    let cases = [
        (2.999, None),
        (3.0, Some(Severity::Watch)),
        (5.999, Some(Severity::Watch)),
        (6.0, Some(Severity::Warning)),
        (11.999, Some(Severity::Warning)),
        (12.0, Some(Severity::Critical)),
        (1e9, Some(Severity::Critical)),
    ];
    for (value, level) in cases {
        assert_eq!(r.level(value, 1), level, "value {value}");
    }
    // The same boundaries through windows of whole reports.
    for (n, level) in [
        (2, None),
        (3, Some(Severity::Watch)),
        (5, Some(Severity::Watch)),
        (6, Some(Severity::Warning)),
        (11, Some(Severity::Warning)),
        (12, Some(Severity::Critical)),
        (13, Some(Severity::Critical)),
    ] {
        assert_eq!(
            Region::new().distinct(n, ABDUCTION).level(&r),
            level,
            "{n} reports"
        );
    }
}

#[test]
fn one_source_reaches_warning_at_most_by_default() {
    let r = graded("");
    let mut region = Region::new();
    for _ in 0..20 {
        region.report(END - H, "one-monitor", &[ABDUCTION]);
    }
    assert_eq!(region.level(&r), Some(Severity::Warning));
    region.report(END - 2 * H, "second-monitor", &[ABDUCTION]);
    assert_eq!(region.level(&r), Some(Severity::Critical));

    // Pure level decisions: critical falls to the highest level below it that the value reaches.
    assert_eq!(r.level(20.0, 1), Some(Severity::Warning));
    assert_eq!(r.level(20.0, 2), Some(Severity::Critical));
    let no_warning = rule(
        "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 3\ncritical = 12",
    );
    assert_eq!(no_warning.level(20.0, 1), Some(Severity::Watch));
    let critical_only = rule(
        "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\ncritical = 12",
    );
    assert_eq!(critical_only.level(20.0, 1), None);
    assert_eq!(critical_only.level(20.0, 2), Some(Severity::Critical));
    let three = graded("critical_min_sources = 3");
    assert_eq!(three.level(12.0, 2), Some(Severity::Warning));
    assert_eq!(three.level(12.0, 3), Some(Severity::Critical));
}

#[test]
fn min_sources_counts_distinct_sources_across_the_window() {
    let pair = graded("min_sources = 2");
    assert_eq!(pair.level(30.0, 1), None);
    assert_eq!(pair.level(3.0, 2), Some(Severity::Watch));
    let mut repeated = Region::new();
    for hour in 1..=8 {
        repeated.report(END - hour * H, "one-monitor", &[ABDUCTION]);
    }
    assert_eq!(
        repeated.level(&pair),
        None,
        "one source eight times is one source"
    );

    let r = graded("min_sources = 3\ncritical_min_sources = 3");
    assert_eq!(r.level(3.0, 2), None);
    assert_eq!(r.level(3.0, 3), Some(Severity::Watch));

    let mut region = Region::new();
    // Two sources, each reporting in several panes: still two.
    for hour in 1..=5 {
        region.report(END - hour * H, "a", &[ABDUCTION]);
        region.report(END - hour * H, "b", &[ABDUCTION]);
    }
    // A third source just outside the window does not count.
    region.report(END - D - H, "c", &[ABDUCTION]);
    // Nor does a third source on another signal.
    region.report(END - H, "c", &[SIEGE]);
    assert_eq!(region.level(&r), None);
    assert_eq!(r.evaluate(&region.windows, END, true).aggregate.sources, 2);
    region.report(END - D, "c", &[ABDUCTION]);
    assert_eq!(region.level(&r), Some(Severity::Warning));
    assert_eq!(r.evaluate(&region.windows, END, true).aggregate.sources, 3);
}

#[test]
fn detail_counts_sources_and_maxima_but_the_decision_counts_only_what_it_needs() {
    let corroborated = Detail {
        casualties: [4, 0, 9, 0, 0, 0],
        corroborated: true,
        score_milli: 1000,
    };
    let mut region = Region::new();
    for source in ["a", "b", "c"] {
        region.report_with(END - H, source, &[ABDUCTION], corroborated);
    }
    let plain = graded("");
    let lean = plain.evaluate(&region.windows, END, false);
    let full = plain.evaluate(&region.windows, END, true);
    assert_eq!((lean.value, lean.level), (3.0, Some(Severity::Watch)));
    assert_eq!(lean.aggregate.sources, 0, "no bar above 1: not counted");
    assert_eq!(lean.aggregate.max_abducted_corroborated, 0);
    assert_eq!(full.level, lean.level);
    assert_eq!(full.aggregate.sources, 3);
    assert_eq!(
        (
            full.aggregate.max_killed_corroborated,
            full.aggregate.max_abducted_corroborated
        ),
        (4, 9)
    );

    let two = graded("min_sources = 2");
    let lean = two.evaluate(&region.windows, END, false);
    assert_eq!(lean.level, Some(Severity::Watch));
    assert_eq!(lean.aggregate.sources, 2, "counted up to the bar");
}

#[test]
fn quiet_is_below_resolve_below_not_below_the_lowest_level() {
    let r = graded("resolve_below = 2");
    let mut region = Region::new();
    region.distinct(1, ABDUCTION);
    let ev = r.evaluate(&region.windows, END, false);
    assert_eq!((ev.value, ev.level, ev.quiet), (1.0, None, true));
    region.distinct(1, ABDUCTION);
    let ev = r.evaluate(&region.windows, END, false);
    assert_eq!((ev.value, ev.level, ev.quiet), (2.0, None, false));
}

#[test]
fn a_window_holds_the_panes_from_end_minus_window_up_to_end() {
    let r = rule("kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"4h\"\nwatch = 1");
    let mut region = Region::new();
    region
        .report(END - 4 * H, "a", &[ABDUCTION]) // first second of the window
        .report(END - 4 * H + 1800, "b", &[ABDUCTION]) // same first pane
        .report(END - 1, "c", &[ABDUCTION]) // last second
        .report(END, "d", &[ABDUCTION]) // the next window's
        .report(END - 4 * H - 1, "e", &[ABDUCTION]); // the pane before
    assert_eq!(r.evaluate(&region.windows, END, false).value, 3.0);
    // One hop later the first pane has left and the report at END has entered.
    assert_eq!(r.evaluate(&region.windows, END + H, false).value, 2.0);
}

// ---- metrics and kinds ------------------------------------------------------------------------

#[test]
fn each_metric_reads_its_own_figure() {
    let mut region = Region::new();
    region.report_with(
        END - H,
        "a",
        &[ABDUCTION],
        Detail {
            casualties: [2, 1, 3, 1, 100, 1],
            corroborated: true,
            score_milli: 1500,
        },
    );
    region.report_with(
        END - 2 * H,
        "b",
        &[ABDUCTION],
        Detail {
            casualties: [5, 0, 4, 0, 0, 0],
            corroborated: false,
            score_milli: 250,
        },
    );
    let cases = [
        ("reports", 2.0),
        ("sources", 2.0),
        ("score", 1.75),
        ("killed", 7.0),
        ("injured", 1.0),
        ("abducted", 7.0),
        ("missing", 1.0),
        ("displaced", 100.0),
        ("sexual_violence", 1.0),
        // Displaced people are not casualties.
        ("casualties", 7.0 + 1.0 + 7.0 + 1.0 + 1.0),
        // Only corroborated reports: the uncorroborated 5 killed and 4 abducted do not count.
        ("max_report_killed", 2.0),
        ("max_report_abducted", 3.0),
    ];
    for (metric, value) in cases {
        let r = rule(&format!(
            "kind = \"threshold\"\nsignal = \"threat:abduction\"\nmetric = \"{metric}\"\nwindow = \"24h\"\nwatch = 1"
        ));
        assert_eq!(
            r.evaluate(&region.windows, END, false).value,
            value,
            "{metric}"
        );
    }
}

#[test]
fn a_spike_compares_the_window_with_the_mean_window_before_it() {
    // Four windows of baseline; floor 3 reports; mean at least 1.5.
    let r = rule(
        r#"kind = "spike"
signal = "threat:abduction"
window = "24h"
baseline = "4d"
floor = 3
min_baseline = 1.5
watch = 2
warning = 4"#,
    );
    let start = END - D;
    let mut region = Region::new();
    // Silent history: the count is divided by min_baseline, and the raw mean is reported.
    region.distinct(3, ABDUCTION);
    let ev = r.evaluate(&region.windows, END, false);
    assert_eq!(
        (ev.value, ev.baseline, ev.level),
        (2.0, Some(0.0), Some(Severity::Watch))
    );
    // Eight reports over the four days before: a mean of 2, from the first second of the
    // baseline on; a report one second earlier is outside it.
    region.report(start - 4 * D, "h", &[ABDUCTION]);
    for day in 1..4 {
        region.report(start - day * D, "h", &[ABDUCTION]);
    }
    for _ in 0..4 {
        region.report(start - 1, "h", &[ABDUCTION]);
    }
    region.report(start - 4 * D - 1, "h", &[ABDUCTION]);
    let ev = r.evaluate(&region.windows, END, false);
    assert_eq!((ev.value, ev.baseline, ev.level), (1.5, Some(2.0), None));
    region.distinct(5, ABDUCTION);
    let ev = r.evaluate(&region.windows, END, false);
    assert_eq!((ev.value, ev.level), (4.0, Some(Severity::Warning)));
    assert_eq!(ev.aggregate.reports, 8);

    // Below the floor the value is 0, however small the baseline.
    let mut sparse = Region::new();
    sparse.distinct(2, ABDUCTION);
    let ev = r.evaluate(&sparse.windows, END, false);
    assert_eq!((ev.value, ev.level, ev.quiet), (0.0, None, true));
}

#[test]
fn co_occurrence_counts_the_signals_present_and_takes_the_largest_of_each() {
    let r = rule(
        r#"kind = "co_occurrence"
signals = ["threat:abduction", "threat:siege", "threat:killing"]
window = "24h"
min_reports = 2
watch = 2
critical = 3"#,
    );
    let hurt = |killed| Detail {
        casualties: [killed, 0, 0, 0, 0, 0],
        ..PLAIN
    };
    let mut region = Region::new();
    region
        .report_with(END - H, "a", &[ABDUCTION], hurt(3))
        .report_with(END - H, "b", &[ABDUCTION], hurt(1))
        .report_with(END - H, "a", &[SIEGE], hurt(0))
        .report_with(END - 2 * H, "a", &[KILLING], hurt(2))
        .report_with(END - 2 * H, "b", &[KILLING], hurt(2))
        .report_with(END - 2 * H, "c", &[KILLING], hurt(2));
    let ev = r.evaluate(&region.windows, END, true);
    // Siege has one report, below min_reports.
    assert_eq!((ev.value, ev.level), (2.0, Some(Severity::Watch)));
    assert_eq!(ev.aggregate.reports, 6, "reports are summed");
    assert_eq!(
        ev.aggregate.sources, 3,
        "the most sources of any one signal"
    );
    assert_eq!(
        ev.aggregate.casualties[0], 6,
        "the largest signal's casualties, not a sum"
    );

    region.report(END - 3 * H, "b", &[SIEGE]);
    assert_eq!(region.level(&r), Some(Severity::Critical));

    // Critical needs two sources (the default) on some one signal.
    let mut lone = Region::new();
    for s in [ABDUCTION, SIEGE, KILLING] {
        lone.report(END - H, "a", &[s])
            .report(END - 2 * H, "a", &[s]);
    }
    assert_eq!(lone.level(&r), Some(Severity::Watch));
}

#[test]
fn a_rule_applies_to_the_region_codes_it_lists_exactly() {
    let body = "kind = \"threshold\"\nsignal = \"threat:abduction\"\nwindow = \"24h\"\nwatch = 1";
    let everywhere = rule(body);
    assert!(everywhere.applies_to("NG-BO") && everywhere.applies_to("anything"));
    let listed = rule(&format!("{body}\nregions = [\"NG-BO\", \"ML-MO\"]"));
    assert!(listed.applies_to("NG-BO"));
    assert!(listed.applies_to("ML-MO"));
    for other in ["NG-B", "NG-BOR", "ng-bo", " NG-BO", "ML"] {
        assert!(!listed.applies_to(other), "{other}");
    }
    // Codes are compared as written: no glob patterns.
    let pattern = rule(&format!("{body}\nregions = [\"NG-*\"]"));
    assert!(!pattern.applies_to("NG-BO"));
}
