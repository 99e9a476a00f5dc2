//! Property tests of the core's event-time semantics: any arrival order of the same reports
//! (all within allowed lateness) yields the same window aggregates and the same final alert
//! state, and replaying a report (same id) changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use vigil::alert::{Alert, Status};
use vigil::config;
use vigil::engine::Engine;
use vigil::rules::Severity;

const START: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z

fn engine() -> Engine {
    config::load(Path::new("config"))
        .expect("shipped config loads")
        .engine()
        .expect("engine builds")
}

#[derive(Debug, Clone)]
struct Spec {
    id: usize,
    region: usize,
    /// Seconds after START; all within 60 h, inside the 72 h lateness.
    offset: i64,
    kind: usize,
    source: usize,
    count: u32,
}

fn report_json(s: &Spec) -> String {
    let text = match s.kind {
        0 => format!("Armed men abducted {} villagers near the market.", s.count),
        1 => "The town has been under siege and residents are cut off from food.".to_string(),
        2 => "Health workers treated women who were raped during the raid.".to_string(),
        3 => "Foreign fighters were seen arriving from across the border.".to_string(),
        _ => "No abductions were reported; the market reopened.".to_string(),
    };
    // A reference number per report: these reports are distinct incidents, not copies of one
    // message (near-duplicates count once, and which copy counts follows arrival order).
    let text = format!("{text} Ref {}.", s.id);
    let abducted = if s.kind == 0 { s.count } else { 0 };
    let region = ["NG-BO", "ML-MO"][s.region];
    let reliability = ["A", "C"][s.source % 2];
    serde_json::json!({
        "id": format!("r{}", s.id),
        "event_time": vigil::alert::rfc3339(START + s.offset),
        "region": region,
        "source": {"id": format!("s{}", s.source), "reliability": reliability, "credibility": 1 + (s.source % 3) as i64},
        "text": text,
        "casualties": {"abducted": abducted},
    })
    .to_string()
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0usize..2,
        0i64..60 * 3600,
        0usize..5,
        0usize..5,
        prop_oneof![3 => 1u32..10, 1 => 20u32..80],
    )
        .prop_map(|(region, offset, kind, source, count)| Spec {
            id: 0,
            region,
            offset,
            kind,
            source,
            count,
        })
}

/// The final state of every alert id: open or resolved, and severity. Superseded episodes are
/// withdrawn and left out.
fn final_state(alerts: &[Alert]) -> BTreeMap<String, (bool, Severity)> {
    let mut out = BTreeMap::new();
    for a in alerts {
        if a.superseded_by.is_some() {
            out.remove(&a.alert_id);
            continue;
        }
        out.insert(
            a.alert_id.clone(),
            (a.status != Status::Resolved, a.severity),
        );
    }
    out
}

fn run(lines: &[String]) -> (Engine, Vec<Alert>) {
    let mut e = engine();
    let mut alerts = Vec::new();
    for l in lines {
        alerts.extend(e.process_alerts(l.as_bytes(), None));
    }
    (e, alerts)
}

fn scenario() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    prop::collection::vec(spec(), 5..60).prop_flat_map(|specs| {
        let lines: Vec<String> = specs
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                s.id = i;
                report_json(&s)
            })
            .collect();
        let mut in_order = lines.clone();
        in_order.sort_by_key(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_time"].as_str().unwrap().to_string()
        });
        (Just(in_order), Just(lines).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arrival_order_does_not_change_aggregates_or_final_alerts((in_order, shuffled) in scenario()) {
        let (a, alerts_a) = run(&in_order);
        let (b, alerts_b) = run(&shuffled);
        for region in ["NG-BO", "ML-MO"] {
            prop_assert_eq!(
                a.region_state(region).map(|s| &s.windows),
                b.region_state(region).map(|s| &s.windows),
                "window state of {} differs", region
            );
        }
        prop_assert_eq!(final_state(&alerts_a), final_state(&alerts_b));
    }

    #[test]
    fn replaying_reports_changes_nothing((in_order, shuffled) in scenario()) {
        let (a, alerts_a) = run(&in_order);
        let mut replayed = in_order.clone();
        // Every report sent again, in another order, after the originals.
        replayed.extend(shuffled);
        let (b, alerts_b) = run(&replayed);
        prop_assert_eq!(b.counts().duplicates as usize, in_order.len());
        for region in ["NG-BO", "ML-MO"] {
            prop_assert_eq!(a.region_state(region), b.region_state(region));
        }
        prop_assert_eq!(alerts_a, alerts_b);
    }
}

#[test]
fn a_scenario_with_late_reports_does_fire() {
    // Guards the properties above against passing vacuously: the generator's reports do fire.
    let lines: Vec<String> = (0..12)
        .map(|i| {
            report_json(&Spec {
                id: i,
                region: 0,
                offset: (11 - i as i64) * 1800,
                kind: 0,
                source: i % 5,
                count: 3,
            })
        })
        .collect();
    let (_, alerts) = run(&lines);
    let state = final_state(&alerts);
    assert!(
        state
            .values()
            .any(|&(open, sev)| open && sev == Severity::Critical),
        "{state:?}"
    );
}
