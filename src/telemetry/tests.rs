//! Tests of the metrics: Prometheus naming, and a committed batch counted once with its labels.

use super::metrics::*;
use super::tally::Tally;

fn metrics() -> Metrics {
    Metrics::new(
        &["abduction".to_string(), "siege".to_string()],
        &["abduction_cluster".to_string()],
        &["NG-BO".to_string()],
    )
    .unwrap()
}

#[test]
fn names_follow_prometheus_conventions_and_render() {
    let m = metrics();
    m.batch_aborted();
    m.partition_lag(3, 42);
    m.set_ready(true);
    let text = m.render();
    assert!(text.contains("vigil_reports_rejected_total{reason=\"too_late\"} 0"));
    assert!(text.contains("vigil_transaction_aborts_total 1"));
    assert!(text.contains("vigil_consumer_lag_records{partition=\"3\"} 42"));
    assert!(text.contains("vigil_ready 1"));
    assert!(text.contains("vigil_build_info{version="));
    for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(name.starts_with("vigil_"), "{name}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "{name}");
        }
        if kind == "histogram" {
            assert!(name.ends_with("_seconds"), "{name}");
        }
    }
    m.partition_revoked(3);
    assert!(
        !m.render()
            .contains("vigil_consumer_lag_records{partition=\"3\"}")
    );
}

#[test]
fn a_batch_counts_only_once_committed_and_unlisted_regions_are_other() {
    let loaded = crate::config::load(std::path::Path::new("config")).unwrap();
    let threats = loaded.taxonomy.threat_codes();
    let m = Metrics::new(
        &threats,
        &["abduction_cluster".to_string()],
        &["NG-BO".to_string()],
    )
    .unwrap();
    let mut engine = loaded.engine().unwrap();
    // Three reports from three sources (so none is a near-duplicate of another), the third
    // an hour behind its region's watermark, and one record that is not JSON.
    let report = |id: &str, region: &str, t: &str| {
        format!(
            r#"{{"id":"{id}","event_time":"2026-03-05T{t}:00Z","region":"{region}","source":{{"id":"s-{id}","reliability":"B","credibility":2}},"text":"Gunmen abducted five farmers; the town is under siege."}}"#
        )
    };
    let lines = [
        report("a", "NG-BO", "10:00"),
        report("b", "XX-YY", "10:00"),
        report("c", "NG-BO", "09:00"),
        "{not json".to_string(),
    ];
    let inputs: Vec<crate::engine::Input<'_>> = lines
        .iter()
        .map(|l| crate::engine::Input {
            bytes: l.as_bytes(),
            received_at: Some(1_772_706_000 + 30),
        })
        .collect();
    let outcome = engine.process_batch(&inputs);
    let tally = Tally::of(&m, &outcome, 4, [now_millis()].into_iter());
    assert!(m.render().contains("vigil_reports_ingested_total 0"));
    m.batch_committed(&tally, 0.01, Some(0.005), &engine.gauges());
    let text = m.render();
    for expected in [
        "vigil_records_consumed_total 4",
        "vigil_reports_ingested_total 3",
        "vigil_reports_late_total 1",
        "vigil_reports_rejected_total{reason=\"malformed_json\"} 1",
        "vigil_dlq_records_total{reason=\"malformed_json\"} 1",
        "vigil_tags_total{code=\"abduction\",kind=\"threat\"} 3",
        "vigil_region_signal_reports_total{region=\"NG-BO\",signal=\"abduction\"} 2",
        "vigil_region_signal_reports_total{region=\"other\",signal=\"abduction\"} 1",
        "vigil_event_time_lag_seconds_count 3",
        "vigil_record_latency_seconds_count 1",
        "vigil_transaction_commit_duration_seconds_count 1",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(!text.contains("XX-YY"));
    assert!(text.contains(
        "vigil_region_alerts_total{region=\"other\",severity=\"critical\",status=\"resolved\"} 0"
    ));
    assert!(text.contains(
        "vigil_alerts_total{rule=\"abduction_cluster\",severity=\"watch\",status=\"firing\"} 0"
    ));
}
