//! Tests of the core: changelog round trips, holds, near-duplicates and the year-9999 bound.

use std::path::Path;

use super::*;
use crate::input::generator::{GenOptions, generate};
use crate::state::changelog;

/// Replays a log of changelog records (in order) and rebuilds an engine from them.
fn restore_from(log: &[changelog::Record]) -> Engine {
    let mut rebuild = changelog::Rebuild::default();
    for (key, value) in log {
        rebuild.apply(key.clone(), value.clone());
    }
    let mut restored = engine();
    for region in rebuild.finish().unwrap() {
        restored.restore_region(region);
    }
    restored
}

#[test]
fn region_state_survives_the_delta_changelog() {
    let mut engine = engine();
    // Batches of 1,000 reports, each writing the changed regions' records, as the pipeline
    // does; then a rebuild from the whole log.
    let lines: Vec<String> = generate(&GenOptions::demo()).collect();
    let mut log = Vec::new();
    let mut batches = 0;
    for chunk in lines.chunks(1000) {
        let inputs: Vec<Input<'_>> = chunk
            .iter()
            .map(|l| Input {
                bytes: l.as_bytes(),
                received_at: None,
            })
            .collect();
        for (_, changes) in engine.process_batch(&inputs).changes {
            log.extend(changelog::encode(&changes).unwrap());
        }
        batches += 1;
    }
    assert_eq!(batches, 3);
    let restored = restore_from(&log);
    assert!(!engine.regions().is_empty());
    assert_eq!(restored.regions(), engine.regions());
    for region in engine.regions() {
        assert_eq!(
            restored.region_state(region),
            engine.region_state(region),
            "{region}"
        );
    }
}

fn dated(id: &str, date: &str, source: &str) -> String {
    format!(
        r#"{{"id":"{id}","event_time":"{date}:00:00Z","region":"ML-MO","source":{{"id":"{source}","reliability":"B","credibility":2}},"text":"Gunmen kidnapped five farmers near the market."}}"#
    )
}

fn engine() -> Engine {
    crate::config::load(Path::new("config"))
        .unwrap()
        .engine()
        .unwrap()
        .with_changelog()
}

fn alerts_of(engine: &mut Engine, lines: &[String]) -> Vec<String> {
    let alerts = lines
        .iter()
        .flat_map(|l| engine.process_alerts(l.as_bytes(), None));
    alerts.map(|a| serde_json::to_string(&a).unwrap()).collect()
}

#[test]
fn one_mistyped_date_does_not_silence_its_region() {
    let honest: Vec<String> = (1..=4)
        .map(|i| {
            dated(
                &format!("h{i}"),
                &format!("2025-03-01T0{i}"),
                &format!("s{i}"),
            )
        })
        .collect();
    let alone = alerts_of(&mut engine(), &honest);
    assert!(!alone.is_empty());
    // The typo after the region's first report, and later, ahead of its clock.
    for at in [1, 3] {
        let mut lines = honest.clone();
        lines.insert(at, dated("typo", "2025-09-05T08", "s0"));
        let mut e = engine();
        assert_eq!(alerts_of(&mut e, &lines), alone, "typo at {at}");
        assert_eq!((e.counts().held, e.gauges().held), (1, 1));
    }
    // A far-future first report is refused by the clock, in backtest as in a stream.
    let mut lines = honest.clone();
    lines.insert(0, dated("typo", "2062-03-01T08", "s0"));
    let mut e = engine();
    let now = chrono::Utc::now().timestamp();
    let alerts = lines
        .iter()
        .flat_map(|l| e.process_alerts(l.as_bytes(), Some(now)));
    let alerts: Vec<String> = alerts.map(|a| serde_json::to_string(&a).unwrap()).collect();
    assert_eq!(alerts, alone);
    assert_eq!(e.counts().rejected.get(&RejectReason::BadTime), Some(&1));
}

fn sv(id: &str, minute: u32, source: &str, village: &str) -> String {
    format!(
        r#"{{"id":"{id}","event_time":"2025-03-01T10:{minute:02}:00Z","reported_at":"2025-03-01T12:00:00Z","region":"NG-BO","source":{{"id":"{source}","reliability":"B","credibility":2}},"text":"Soldiers raped women in {village} last night, residents said."}}"#
    )
}

fn severities(alerts: &[String]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a.contains("sexual_violence_cluster"))
        .map(|a| serde_json::from_str::<serde_json::Value>(a).unwrap()["severity"].to_string())
        .collect()
}

#[test]
fn eight_reposts_of_one_message_count_once() {
    let reposts: Vec<String> = (0..8)
        .map(|i| sv(&format!("sms-{i}"), 5, "sms:+234", "Kukawa"))
        .collect();
    let mut e = engine();
    let alerts = alerts_of(&mut e, &reposts);
    assert_eq!((e.counts().accepted, e.counts().near_duplicates), (1, 7));
    assert!(severities(&alerts).is_empty(), "{alerts:?}");
}

#[test]
fn one_source_reaches_warning_at_most_and_a_second_source_makes_it_critical() {
    let villages = [
        "Kukawa", "Monguno", "Bama", "Gwoza", "Dikwa", "Marte", "Ngala", "Konduga", "Damboa",
    ];
    let one: Vec<String> = villages
        .iter()
        .enumerate()
        .map(|(i, v)| sv(&format!("fm-{i}"), i as u32, "fm-12", v))
        .collect();
    let alerts = alerts_of(&mut engine(), &one);
    assert_eq!(severities(&alerts), ["\"watch\"", "\"warning\""]);
    let mut two = one.clone();
    two.push(sv("ngo-1", 30, "ngo-7", "Mafa"));
    let alerts = alerts_of(&mut engine(), &two);
    assert_eq!(
        severities(&alerts),
        ["\"watch\"", "\"warning\"", "\"critical\""]
    );
}

#[test]
fn a_source_cannot_vouch_for_its_own_typo_and_a_full_hold_drops_its_oldest() {
    let mut e = engine();
    let mut lines = vec![dated("h1", "2025-06-01T08", "s1")];
    // A mistyped year, then a copy and another row of the same source, a year ahead.
    lines.push(dated("typo", "2026-06-01T08", "s2"));
    lines.push(dated("typo-copy", "2026-06-01T09", "s2"));
    lines.push(dated("typo-next", "2026-06-02T08", "s2"));
    for l in &lines {
        e.process(l.as_bytes(), None);
    }
    assert_eq!(e.gauges().held, 3);
    let honest = dated("h2", "2025-06-01T10", "s3");
    assert!(matches!(
        e.process(honest.as_bytes(), None),
        Outcome::Accepted { .. }
    ));
    // Sixteen more suspects of another source fill the hold: the oldest three leave,
    // refused time_jump, and the region keeps its clock.
    for i in 0..16 {
        let line = dated(
            &format!("far{i}"),
            &format!("2025-08-{:02}T08", 1 + i),
            "s4",
        );
        e.process(line.as_bytes(), None);
    }
    assert_eq!(e.gauges().held, 16);
    assert_eq!(e.counts().rejected.get(&RejectReason::TimeJump), Some(&3));
}

#[test]
fn a_counted_id_sent_again_far_ahead_is_a_duplicate_not_a_suspect() {
    let mut e = engine();
    let first = dated("a", "2025-03-01T08", "s1");
    assert!(matches!(
        e.process(first.as_bytes(), None),
        Outcome::Accepted { .. }
    ));
    let again = dated("a", "2026-03-01T08", "s1");
    assert!(matches!(
        e.process(again.as_bytes(), None),
        Outcome::Duplicate { .. }
    ));
    assert_eq!(e.gauges().held, 0);
}

#[test]
fn held_reports_survive_the_changelog_and_are_released_after_a_restore() {
    let mut e = engine();
    let start = dated("0", "2025-01-01T08", "s1");
    e.process(start.as_bytes(), None);
    let first = dated("a", "2025-03-01T08", "s1");
    assert!(matches!(
        e.process(first.as_bytes(), None),
        Outcome::Held { .. }
    ));
    let changes = e.take_changes("ML-MO").unwrap();
    let mut restored = restore_from(&changelog::encode(&changes).unwrap());
    assert_eq!(restored.gauges().held, 1);
    // A copy of the held report is a duplicate; a second report releases it.
    assert!(matches!(
        restored.process(first.as_bytes(), None),
        Outcome::Duplicate { .. }
    ));
    let second = dated("b", "2025-03-02T08", "s2");
    assert!(matches!(
        restored.process(second.as_bytes(), None),
        Outcome::Accepted { .. }
    ));
    let released = restored.take_released();
    assert_eq!(released.len(), 1);
    assert!(matches!(released[0].outcome, Outcome::Accepted { .. }));
    assert_eq!(restored.gauges().held, 0);
}

use crate::report::timestamp::MAX_SECONDS;

fn abduction(id: usize, event_time: &str) -> String {
    serde_json::json!({
        "id": format!("r{id}"),
        "event_time": event_time,
        "region": "NG-BO",
        "source": {"id": format!("s{id}"), "reliability": "A", "credibility": 1},
        "text": "Gunmen abducted twenty villagers from the market.",
        "casualties": {"abducted": 30},
    })
    .to_string()
}

/// Every time an alert carries has the four-digit-year RFC 3339 form CAP and Alertmanager
/// need, even for reports at the last accepted instants of year 9999: a report whose
/// windows would end after 9999 is refused as `bad_time` (the shipped rules hop by the
/// hour, so the last hour of 9999 is refused).
#[test]
fn alerts_at_the_end_of_year_9999_keep_four_digit_years() {
    let mut engine = crate::config::load(Path::new("config"))
        .unwrap()
        .engine()
        .unwrap();
    let mut alerts = Vec::new();
    for i in 0..20 {
        let line = abduction(i, &format!("9999-12-31T22:{:02}:00Z", 40 + i));
        alerts.extend(engine.process_alerts(line.as_bytes(), None));
    }
    assert!(!alerts.is_empty());
    for a in &alerts {
        for t in [&a.first_seen, &a.updated_at, &a.window.start, &a.window.end] {
            let parsed = chrono::DateTime::parse_from_rfc3339(t);
            assert!(parsed.is_ok_and(|p| p.timestamp() <= MAX_SECONDS), "{t}");
            assert!(t.starts_with("9999-12-"), "{t}");
        }
    }
    for t in ["9999-12-31T23:00:00Z", "9999-12-31T23:59:59Z"] {
        match engine.process(abduction(99, t).as_bytes(), None) {
            Outcome::Rejected(e) => {
                assert_eq!(
                    (e.reason, e.field.as_str()),
                    (RejectReason::BadTime, "event_time")
                );
                assert!(e.detail.contains("9999-12-31T22:59:59Z"), "{e}");
            }
            other => panic!("{t}: {other:?}"),
        }
    }
}

/// A corroborated report of thirty dead in Borno, with `text` and extra `casualties` fields.
fn thirty_dead(id: &str, text: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","event_time":"2026-05-01T10:00:00Z","region":"NG-BO","source":{{"id":"s1","reliability":"A","credibility":1}},"text":"{text}","casualties":{{"killed":30{extra}}}}}"#
    )
}

/// The rules of the alerts raised by `line` alone, in a fresh engine.
fn rules_raised(line: &str) -> Vec<String> {
    let alerts = alerts_of(&mut engine(), &[line.to_string()]);
    let rules = alerts.iter().map(|a| {
        let v: serde_json::Value = serde_json::from_str(a).unwrap();
        v["rule"].as_str().unwrap_or_default().to_string()
    });
    rules.collect()
}

#[test]
fn combatants_killed_in_battle_are_not_an_attack_on_civilians() {
    let battle = "The air force struck a gathering of insurgents, killing thirty of them.";
    let massacre = "Gunmen attacked the village of Kwari at dawn, killing thirty villagers.";
    let mass_killing = "mass_killing_incident".to_string();
    assert!(!rules_raised(&thirty_dead("b1", battle, "")).contains(&mass_killing));
    assert!(rules_raised(&thirty_dead("m1", massacre, "")).contains(&mass_killing));
    // The source's own count of civilians decides before the text: none here...
    let counted = thirty_dead("m2", massacre, r#","killed_civilians":0"#);
    assert!(!rules_raised(&counted).contains(&mass_killing));
    // ...and twelve there, whatever the text says of fighters.
    let counted = thirty_dead("b2", battle, r#","killed_civilians":12"#);
    assert!(rules_raised(&counted).contains(&mass_killing));
    // A text that does not say who died is not taken for a battle.
    let unsaid = thirty_dead("u1", "Thirty people died in the attack on Kwari.", "");
    assert!(rules_raised(&unsaid).contains(&mass_killing));
}
