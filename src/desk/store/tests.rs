//! The store's tests: alert episodes, tags and the region picture, reviews, silences, the
//! audit trail and the event log, each against what was applied.

use super::*;
use crate::alert::Status;
use crate::delivery::test_support::alert;
use crate::rules::Severity;
use std::collections::BTreeMap;

fn bytes(id: &str, region: &str, severity: Severity, status: Status, at: &str) -> Vec<u8> {
    let mut a = alert(id, region, "threat:abduction", severity, status);
    a.updated_at = at.into();
    serde_json::to_vec(&a).unwrap()
}

fn all() -> Vec<String> {
    vec!["*".to_string()]
}

fn q() -> AlertQuery {
    AlertQuery {
        limit: 100,
        ..AlertQuery::default()
    }
}

#[test]
fn a_batch_read_twice_adds_nothing_and_the_offsets_move_with_the_rows() {
    let mut s = Store::in_memory().unwrap();
    let r1 = bytes(
        "a",
        "NG-BO",
        Severity::Warning,
        Status::Firing,
        "2026-03-06T00:00:00Z",
    );
    let batch = [
        Old {
            partition: 0,
            offset: 0,
            value: &r1,
            received_ms: 10,
        },
        Old {
            partition: 0,
            offset: 1,
            value: b"not an alert",
            received_ms: 11,
        },
    ];
    assert_eq!(s.apply(&reads(&batch)).unwrap().len(), 1);
    assert_eq!(s.offsets("alerts").unwrap(), BTreeMap::from([(0, 2)]));
    assert!(s.apply(&reads(&batch)).unwrap().is_empty());
    assert_eq!(s.alerts(&q(), &all()).unwrap()[0].records.len(), 1);
    assert!(s.offsets("other").unwrap().is_empty());
}

#[test]
fn episodes_filter_by_state_scope_region_and_time_and_page() {
    let mut s = Store::in_memory().unwrap();
    let recs = [
        bytes(
            "a",
            "NG-BO",
            Severity::Warning,
            Status::Firing,
            "2026-03-06T00:00:00Z",
        ),
        bytes(
            "b",
            "ML-MO",
            Severity::Critical,
            Status::Firing,
            "2026-03-07T00:00:00Z",
        ),
        bytes(
            "a",
            "NG-BO",
            Severity::Critical,
            Status::Escalated,
            "2026-03-08T00:00:00Z",
        ),
        bytes(
            "b",
            "ML-MO",
            Severity::Critical,
            Status::Resolved,
            "2026-03-09T00:00:00Z",
        ),
        bytes(
            "c",
            "NG-YO",
            Severity::Watch,
            Status::Firing,
            "2026-03-10T00:00:00Z",
        ),
    ];
    let batch: Vec<Old> = recs
        .iter()
        .enumerate()
        .map(|(i, v)| Old {
            partition: (i % 2) as i32,
            offset: i as i64,
            value: v,
            received_ms: 100 * i as i64,
        })
        .collect();
    s.apply(&reads(&batch)).unwrap();
    let ids = |q: &AlertQuery, scope: &[String]| -> Vec<String> {
        s.alerts(q, scope)
            .unwrap()
            .into_iter()
            .map(|e| e.alert_id)
            .collect()
    };
    assert_eq!(ids(&q(), &all()), ["c", "b", "a"], "latest updated first");
    let open = AlertQuery {
        open: Some(true),
        ..q()
    };
    assert_eq!(ids(&open, &all()), ["c", "a"]);
    let closed = AlertQuery {
        open: Some(false),
        ..q()
    };
    assert_eq!(ids(&closed, &all()), ["b"]);
    // A national focal point sees its own country only; a region filter narrows further.
    assert_eq!(ids(&q(), &["NG-*".to_string()]), ["c", "a"]);
    let bo = AlertQuery {
        regions: vec!["NG-BO".into()],
        ..q()
    };
    assert_eq!(ids(&bo, &["NG-*".to_string()]), ["a"]);
    assert!(ids(&q(), &[]).is_empty(), "no scope, nothing");
    // As of before b resolved and a escalated: both open, a still a warning.
    let then = AlertQuery {
        as_of_ms: Some(150),
        ..q()
    };
    let eps = s.alerts(&then, &all()).unwrap();
    assert_eq!(
        eps.iter()
            .map(|e| (e.alert_id.as_str(), e.status.as_str(), e.severity.as_str()))
            .collect::<Vec<_>>(),
        [("b", "firing", "critical"), ("a", "firing", "warning")]
    );
    assert_eq!(eps[1].records.len(), 1);
    // Paging and the latest record's severity.
    let page = AlertQuery {
        limit: 1,
        offset: 1,
        ..q()
    };
    assert_eq!(ids(&page, &all()), ["b"]);
    let critical = AlertQuery {
        severity: Some("critical".into()),
        ..q()
    };
    assert_eq!(ids(&critical, &all()), ["b", "a"]);
    let a = &s
        .alerts(
            &AlertQuery {
                rule: Some("abduction_cluster".into()),
                ..q()
            },
            &all(),
        )
        .unwrap()[2];
    assert_eq!(
        a.records.len(),
        2,
        "every record of the episode, in arrival order"
    );
    let second: serde_json::Value = serde_json::from_str(a.records[1].get()).unwrap();
    assert_eq!(second["status"], "escalated");
}

#[test]
fn a_store_on_disk_keeps_its_rows_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite");
    let r = bytes(
        "a",
        "NG-BO",
        Severity::Warning,
        Status::Firing,
        "2026-03-06T00:00:00Z",
    );
    {
        let mut s = Store::open(&path).unwrap();
        s.apply(&reads(&[Old {
            partition: 3,
            offset: 41,
            value: &r,
            received_ms: 1,
        }]))
        .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.offsets("alerts").unwrap(), BTreeMap::from([(3, 42)]));
    // It holds report text: its owner's only, and its write-ahead log too.
    #[cfg(unix)]
    for file in [path.clone(), dir.path().join("desk.sqlite-wal")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    assert_eq!(s.alerts(&q(), &all()).unwrap().len(), 1);
}

/// An alerts-topic record, as the first tests wrote them.
struct Old<'a> {
    partition: i32,
    offset: i64,
    value: &'a [u8],
    received_ms: i64,
}

fn reads<'a>(batch: &'a [Old<'a>]) -> Vec<Read<'a>> {
    batch
        .iter()
        .map(|o| Read {
            source: Source::Alerts,
            topic: "alerts",
            partition: o.partition,
            offset: o.offset,
            key: b"",
            value: Some(o.value),
            received_ms: o.received_ms,
        })
        .collect()
}

fn tagged(
    id: &str,
    region: &str,
    event_time: &str,
    threats: &[&str],
    rf: &[(&str, &str)],
) -> Vec<u8> {
    let tags: Vec<serde_json::Value> = rf
        .iter()
        .map(|(code, ind)| {
            serde_json::json!({"code": code, "kind": "risk_factor", "indicator": ind,
                "rule": "lexicon", "evidence": [{"field": "text", "start": 0, "end": 4, "phrase": "word"}],
                "weight": 1.0})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "region": region, "event_time": event_time, "id": id, "threats": threats,
        "risk_factors": rf.iter().map(|(c, _)| *c).collect::<Vec<_>>(), "tags": tags,
    }))
    .unwrap()
}

fn read<'a>(source: Source, offset: i64, value: &'a [u8], received_ms: i64) -> Read<'a> {
    Read {
        source,
        topic: match source {
            Source::Alerts => "alerts",
            Source::Tagged => "tagged",
            Source::Reports => "reports",
            Source::Reviews => "reviews",
            Source::Silences => "silences",
            Source::Erasures => "erasures",
        },
        partition: 0,
        offset,
        key: b"",
        value: Some(value),
        received_ms,
    }
}

fn factors() -> Vec<(String, String)> {
    (1..=14)
        .map(|i| (format!("RF{i}"), format!("factor {i}")))
        .collect()
}

#[test]
fn the_profile_counts_reports_and_indicators_per_window_and_reads_the_same_as_of_now() {
    let mut s = Store::in_memory().unwrap();
    // Latest event day: 2026-03-31. One report on each of the last 3 days with RF7 (two
    // indicators on one of them); one 20 days back with RF7 and RF1; one 60 days back; one
    // 100 days back (outside every window); one elsewhere.
    let recs = [
        tagged(
            "a",
            "NG-BO",
            "2026-03-31T10:00:00Z",
            &["abduction"],
            &[("RF7", "7.8"), ("RF7", "7.9")],
        ),
        tagged(
            "b",
            "NG-BO",
            "2026-03-30T10:00:00Z",
            &["abduction"],
            &[("RF7", "7.8")],
        ),
        tagged("c", "NG-BO", "2026-03-29T10:00:00Z", &[], &[("RF7", "7.8")]),
        tagged(
            "d",
            "NG-BO",
            "2026-03-11T10:00:00Z",
            &[],
            &[("RF7", "7.8"), ("RF1", "1.1")],
        ),
        tagged("e", "NG-BO", "2026-01-30T10:00:00Z", &[], &[("RF7", "7.8")]),
        tagged("f", "NG-BO", "2025-12-21T10:00:00Z", &[], &[("RF7", "7.8")]),
        tagged("g", "ML-MO", "2026-03-31T11:00:00Z", &[], &[("RF1", "1.1")]),
    ];
    let batch: Vec<Read> = recs
        .iter()
        .enumerate()
        .map(|(i, v)| read(Source::Tagged, i as i64, v, 1_000 + i as i64))
        .collect();
    s.apply(&batch).unwrap();
    // Read twice: nothing doubles.
    s.apply(&batch).unwrap();
    let p = s
        .profile("NG-BO", &factors(), &["abduction".into()], None)
        .unwrap();
    assert_eq!(p.latest_event_time.as_deref(), Some("2026-03-31T11:00:00Z"));
    let rf7 = &p.risk_factors[6];
    assert_eq!(rf7.code, "RF7");
    assert_eq!(
        rf7.windows["7d"],
        Window {
            reports: 3,
            indicators: 4
        }
    );
    assert_eq!(
        rf7.windows["30d"],
        Window {
            reports: 4,
            indicators: 5
        }
    );
    assert_eq!(
        rf7.windows["90d"],
        Window {
            reports: 5,
            indicators: 6
        }
    );
    assert_eq!(rf7.evidence, ["a", "b", "c", "d", "e"]);
    assert_eq!(rf7.indicators_seen[0].code, "7.8");
    assert_eq!(rf7.indicators_seen[0].reports, 5);
    // Baseline: 2 reports in the 83 days before the last 7 → 0.17 per 7 days; 3 now: rising.
    assert_eq!(rf7.baseline_per_7d, 0.17);
    assert_eq!(rf7.trend, "rising");
    assert_eq!(
        p.risk_factors[0].windows["30d"].reports, 1,
        "RF1 of NG-BO only"
    );
    assert_eq!(
        p.risk_factors[0].trend, "falling",
        "one report 20 days back, none since"
    );
    assert_eq!(p.risk_factors[1].trend, "none");
    let series = &p.threats[0].series;
    assert_eq!(series.len(), 30);
    assert_eq!(series.last().unwrap().day, "2026-03-31");
    assert_eq!(series.iter().map(|d| d.reports).sum::<u64>(), 2);
    // The as-of path (from hits) answers as the daily counts do, now.
    let now = s
        .profile("NG-BO", &factors(), &["abduction".into()], Some(i64::MAX))
        .unwrap();
    assert_eq!(now, p);
    // As of before `a`..`c` were received: the latest day is then ML-MO's? No: `g` came
    // last; as of 1_002 the store had a, b, c.
    let then = s
        .profile("NG-BO", &factors(), &["abduction".into()], Some(1_001))
        .unwrap();
    assert_eq!(then.risk_factors[6].windows["90d"].reports, 2);
    assert_eq!(then.risk_factors[6].evidence, ["a", "b"]);
    // The overview: every region, RF counts over 30 days.
    let regions = s
        .regions(
            &factors().into_iter().map(|f| f.0).collect::<Vec<_>>(),
            None,
        )
        .unwrap();
    assert_eq!(
        regions.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["ML-MO", "NG-BO"]
    );
    assert_eq!(regions[1].reports_30d, 4);
    assert_eq!(regions[1].risk_factors["RF7"], 4);
    assert_eq!(regions[1].risk_factors["RF1"], 1);
    assert_eq!(regions[0].risk_factors["RF1"], 1);
    let as_of_now = s
        .regions(
            &factors().into_iter().map(|f| f.0).collect::<Vec<_>>(),
            Some(i64::MAX),
        )
        .unwrap();
    assert_eq!(as_of_now, regions);
}

#[test]
fn a_report_shows_its_text_only_when_asked_and_the_text_is_purged_and_erased() {
    let mut s = Store::in_memory().unwrap();
    let tags = tagged(
        "r1",
        "NG-BO",
        "2026-03-31T10:00:00Z",
        &["abduction"],
        &[("RF7", "7.8")],
    );
    let text = br#"{"id":"r1","region":"NG-BO","title":"T","text":"Gunmen took two farmers"}"#;
    let text2 = br#"{"id":"r2","region":"NG-BO","text":"later"}"#;
    s.apply(&[
        read(Source::Tagged, 0, &tags, 10),
        read(Source::Reports, 0, text, 10),
        read(Source::Reports, 1, text2, 20),
        read(Source::Reports, 2, b"not json", 20),
    ])
    .unwrap();
    let v = s.report("r1").unwrap().unwrap();
    assert_eq!(v.text.as_deref(), Some("Gunmen took two farmers"));
    assert_eq!(v.threats, ["abduction"]);
    let bare = v.without_text();
    assert!(bare.text.is_none() && bare.title.is_none());
    assert!(
        !serde_json::to_string(&bare).unwrap().contains("word"),
        "no evidence phrase"
    );
    assert_eq!(s.purge_text(15).unwrap(), 1);
    assert!(s.report("r1").unwrap().unwrap().text.is_none());
    assert!(s.report("r2").unwrap().unwrap().text.is_some());
    assert!(s.erase_text("r2").unwrap());
    assert!(
        s.report("r2").unwrap().is_none(),
        "nothing else was known of r2"
    );
    assert!(s.report("nope").unwrap().is_none());
}

#[test]
fn an_erased_report_loses_its_text_in_the_file_and_never_takes_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.sqlite");
    let words = "Gunmen took two farmers from Kawuri";
    let text = format!(r#"{{"id":"r1","region":"NG-BO","text":"{words}"}}"#);
    let other = br#"{"id":"r2","region":"NG-BO","text":"kept"}"#;
    let file_holds = |needle: &str| {
        ["", "-wal"].iter().any(|suffix| {
            std::fs::read(format!("{}{suffix}", path.display()))
                .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
    };
    let mut s = Store::open(&path).unwrap();
    s.apply(&[
        read(Source::Reports, 0, text.as_bytes(), 10),
        read(Source::Reports, 1, other, 10),
    ])
    .unwrap();
    assert!(file_holds(words), "the text was stored");
    // The erasure as read from the erasures topic (keyed by report id).
    let mut erasure = read(Source::Erasures, 0, br#"{"report_id":"r1"}"#, 20);
    erasure.key = b"r1";
    s.apply(&[erasure]).unwrap();
    assert!(s.is_erased("r1").unwrap());
    assert!(s.report("r1").unwrap().is_none());
    assert_eq!(
        s.report("r2").unwrap().unwrap().text.as_deref(),
        Some("kept")
    );
    // Read again (a rebuilt store, or another partition's copy): not taken.
    let mut again = read(Source::Reports, 0, text.as_bytes(), 30);
    again.topic = "reports-again";
    s.apply(&[again]).unwrap();
    assert!(s.report("r1").unwrap().is_none());
    // secure_delete and a checkpoint: the words are gone from the file and its log while the
    // store is still open, not left in free pages or in the log's older copy of the page.
    assert!(!file_holds(words), "the erased text is still in the file");
    drop(s);
    assert!(!file_holds(words), "the erased text came back in the file");
    // A store opened again still knows the erasure.
    let s = Store::open(&path).unwrap();
    assert!(s.is_erased("r1").unwrap());
}

fn review(id: &str, alert_id: &str, region: &str) -> Review {
    Review {
        review_id: id.into(),
        alert_id: alert_id.into(),
        verdict: Verdict::Acknowledged,
        note: "seen".into(),
        author: "ana".into(),
        at: format!("2026-11-30T10:00:0{}Z", id.len()),
        region: region.into(),
        rule: "abduction_cluster".into(),
    }
}

#[test]
fn a_review_is_taken_once_whichever_way_it_comes_and_is_audited_and_streamed() {
    let mut s = Store::in_memory().unwrap();
    let a = bytes(
        "a",
        "NG-BO",
        Severity::Critical,
        Status::Firing,
        "2026-03-06T00:00:00Z",
    );
    let events = s.apply(&[read(Source::Alerts, 0, &a, 1)]).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "alert");
    let r = review("r1", "a", "NG-BO");
    // Written by this desk: taken at once; read back from the topic: nothing more.
    let added = s
        .take_local(Source::Reviews, b"r1", &serde_json::to_vec(&r).unwrap(), 5)
        .unwrap();
    assert_eq!(added.len(), 1);
    let bytes_r = serde_json::to_vec(&r).unwrap();
    assert!(
        s.apply(&[read(Source::Reviews, 0, &bytes_r, 6)])
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.reviews("a").unwrap(), std::slice::from_ref(&r));
    let ep = &s.alerts(&q(), &all()).unwrap()[0];
    assert_eq!(ep.reviews, std::slice::from_ref(&r));
    let audit = s.audit(&all(), 10, 0).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].target.as_str()),
        ("review", "a")
    );
    assert!(
        s.audit(&["ML-*".into()], 10, 0).unwrap().is_empty(),
        "out of scope"
    );
    // The event log: both events after 0, only the review after the alert, none out of scope.
    let all_events = s.events_after(0, &all(), 10).unwrap();
    assert_eq!(
        all_events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        ["alert", "review"]
    );
    let after = s.events_after(all_events[0].seq, &all(), 10).unwrap();
    assert_eq!(after.len(), 1);
    assert!(s.events_after(0, &["ML-*".into()], 10).unwrap().is_empty());
    assert_eq!(s.events_after(0, &all(), 1).unwrap().len(), 1, "limit");
    assert_eq!(
        s.episode_of("a").unwrap(),
        Some(("NG-BO".into(), "abduction_cluster".into()))
    );
}

#[test]
fn silences_are_listed_in_scope_and_their_adding_and_expiry_audited() {
    use crate::delivery::silence::Silence;
    let mut s = Store::in_memory().unwrap();
    let mut silence = Silence {
        id: "s1".into(),
        regions: vec!["NG-BO".into()],
        signals: vec![],
        rules: vec![],
        starts_at: "2026-11-30T10:00:00Z".parse().unwrap(),
        ends_at: "2026-11-30T12:00:00Z".parse().unwrap(),
        created_by: "ana".into(),
        comment: "known".into(),
        expired_by: None,
    };
    let v1 = serde_json::to_vec(&silence).unwrap();
    silence.expire("2026-11-30T11:00:00Z".parse().unwrap(), "bo");
    let v2 = serde_json::to_vec(&silence).unwrap();
    let mut r1 = read(Source::Silences, 0, &v1, 1);
    r1.key = b"s1";
    let mut r2 = read(Source::Silences, 1, &v2, 2);
    r2.key = b"s1";
    s.apply(&[r1, r2]).unwrap();
    let listed = s.silences(&all()).unwrap();
    assert_eq!(listed, [silence]);
    assert!(s.silences(&["ML-*".into()]).unwrap().is_empty());
    let audit = s.audit(&all(), 10, 0).unwrap();
    assert_eq!(
        audit
            .iter()
            .map(|a| (a.action.as_str(), a.author.as_str()))
            .collect::<Vec<_>>(),
        [("silence_expire", "bo"), ("silence_add", "ana")]
    );
    // A tombstone removes it.
    let mut gone = read(Source::Silences, 2, b"", 3);
    gone.key = b"s1";
    gone.value = None;
    s.apply(&[gone]).unwrap();
    assert!(s.silences(&all()).unwrap().is_empty());
}
