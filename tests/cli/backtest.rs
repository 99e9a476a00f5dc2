//! `vigil tag` and `vigil backtest` on JSON lines: tags with evidence spans, the summary's exact
//! counts (duplicates and near-duplicates of a file built for them, the demo's), and environment
//! overrides reaching the core.

use super::{between, demo_file, run, summary_line, vigil};

#[test]
fn tag_writes_one_line_per_report_with_evidence_spans() {
    let input = concat!(
        r#"{"id":"a","event_time":"2026-03-01T10:00:00Z","region":"NG-BO","source":{"id":"s"},"text":"Gunmen abducted 12 girls. No rapes were reported.","categories":["siege"]}"#,
        "\n",
        "not json\n",
        r#"{"id":"b","event_time":"2026-03-01T10:00:00Z","region":"ML-MO","source":{"id":"s"},"text":"La ville est assiégée."}"#,
        "\n"
    );
    let mut child = vigil()
        .args(["tag", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(
        lines[0]["threats"],
        serde_json::json!(["siege", "abduction"])
    );
    assert_eq!(
        lines[0]["disagreement"]["declared_only"],
        serde_json::json!(["siege"])
    );
    let tag = lines[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "abduction" && t["rule"] == "lexicon")
        .unwrap();
    assert_eq!(tag["evidence"][0]["start"], 7);
    assert_eq!(tag["evidence"][0]["end"], 15);
    assert!(
        lines[0]["risk_factors"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("RF7"))
    );
    assert_eq!(lines[1]["threats"], serde_json::json!(["siege"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: malformed_json"), "{stderr}");
    assert!(
        stderr.contains(
            "tagged 2 reports (0 near-duplicates, with duplicate_of), skipped 1 bad lines"
        ),
        "{stderr}"
    );
}

#[test]
fn backtest_is_deterministic_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let a = run(vigil().arg("backtest").arg(&demo));
    let b = run(vigil().arg("backtest").arg(&demo));
    assert_eq!(a.stdout, b.stdout);
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&a.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The demo is deterministic: these are its counts (30 duplicates from the generator's
    // 1 %, 9 bad records, 127 reports behind their region's watermark).
    let stderr = String::from_utf8_lossy(&a.stderr);
    assert_eq!(
        summary_line(&stderr),
        "3000 records in Xs: 2961 accepted (127 late), 30 duplicates, 9 rejected \
         [bad_time=3 malformed_json=3 missing_field=1 negative_count=2], 97 alert records; \
         active alerts watch/warning/critical = [13, 8, 6]"
    );
    assert_eq!(alerts.len(), 97, "one stdout line per alert record counted");
    assert!(alerts.iter().any(|x| x["rule"] == "abduction_cluster"
        && x["region"] == "NG-BO"
        && x["severity"] == "critical"));
    assert!(
        alerts
            .iter()
            .any(|x| x["rule"] == "mass_abduction_incident")
    );
    assert!(alerts.iter().any(|x| x["status"] == "resolved"));
    for x in &alerts {
        for key in [
            "alert_id",
            "status",
            "rule",
            "severity",
            "region",
            "signal",
            "window",
            "observed",
            "threshold",
            "risk_factors",
            "evidence",
            "first_seen",
            "updated_at",
            "summary",
        ] {
            assert!(x.get(key).is_some(), "{key} missing in {x}");
        }
    }
    // Report text never reaches alerts.
    assert!(!String::from_utf8_lossy(&a.stdout).contains("Armed men"));
    assert!(stderr.contains("line 4: missing_field: source"), "{stderr}");
}

/// One report as a JSON line: `id`, event time, region, source id and text.
fn report(id: &str, time: &str, region: &str, source: &str, text: &str) -> String {
    serde_json::json!({"id": id, "event_time": time, "region": region,
        "source": {"id": source}, "text": text})
    .to_string()
}

// One scenario, read top-down: the input, then every count and the evidence it must give.
#[test]
fn backtest_counts_exactly_the_duplicates_its_input_holds() {
    // Six distinct reports, three exact re-sends (one of a2, two of a4) and one near-duplicate:
    // a6 repeats a1's message under a new id from a1's source. a7 says the same from another
    // source, which is corroboration, not a duplicate.
    let abducted = "Gunmen abducted 12 farmers near Pulka on Monday.";
    let originals = [
        report("a1", "2026-03-01T08:00:00Z", "NG-BO", "s1", abducted),
        report(
            "a2",
            "2026-03-01T09:00:00Z",
            "NG-BO",
            "s1",
            "Armed men besieged Gwoza; no food has entered the town for two weeks.",
        ),
        report(
            "a3",
            "2026-03-01T10:00:00Z",
            "ML-MO",
            "s2",
            "Les habitants de Boni sont assiégés depuis un mois.",
        ),
        report(
            "a4",
            "2026-03-01T11:00:00Z",
            "NG-BO",
            "s3",
            "Foreign fighters from across the border were seen in Bama.",
        ),
        report(
            "a5",
            "2026-03-01T12:00:00Z",
            "NG-BO",
            "s1",
            "Unknown gunmen abducted 3 women near Ngoshe.",
        ),
    ];
    let mut lines = originals.to_vec();
    lines.extend([
        originals[1].clone(),
        originals[3].clone(),
        originals[3].clone(),
    ]);
    lines.push(report(
        "a6",
        "2026-03-01T08:05:00Z",
        "NG-BO",
        "s1",
        abducted,
    ));
    lines.push(report(
        "a7",
        "2026-03-01T08:10:00Z",
        "NG-BO",
        "s9",
        abducted,
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dups.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = run(vigil().arg("backtest").arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        summary_line(&stderr),
        "10 records in Xs: 6 accepted (1 late), 4 duplicates, 0 rejected [], 1 alert records; \
         active alerts watch/warning/critical = [1, 0, 0]"
    );
    assert!(
        stderr.contains(
            "near_duplicate: 1 of the duplicates repeat another report of their source under a new id"
        ),
        "{stderr}"
    );
    // The one alert counts each message once: a1, a5 and a7's corroboration, not a6.
    let alert: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(alert["rule"], "abduction_cluster");
    assert_eq!(
        alert["evidence"]["report_ids"],
        serde_json::json!(["a1", "a5", "a7"])
    );
    assert_eq!(alert["observed"]["reports"], 3);

    // `tag` tags every line it can read and marks the near-duplicate with its original.
    let out = run(vigil().arg("tag").arg(&path));
    let tagged: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let marked: Vec<(&str, &str)> = tagged
        .iter()
        .filter_map(|t| Some((t["id"].as_str()?, t["duplicate_of"].as_str()?)))
        .collect();
    assert_eq!(marked, [("a6", "a1")]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "tagged 10 reports (1 near-duplicates, with duplicate_of), skipped 0 bad lines"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn environment_overrides_reach_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let out = run(vigil()
        .arg("backtest")
        .arg(&demo)
        .env("VIGIL__WINDOW__ALLOWED_LATENESS_SECS", "0"));
    // No lateness: the 127 reports the default run accepts late are refused too_late, and so
    // are the 24 of its 30 duplicates that arrive behind the watermark (151).
    let default = run(vigil().arg("backtest").arg(&demo));
    assert_eq!(
        between(
            &summary_line(&String::from_utf8_lossy(&default.stderr)),
            ": ",
            ","
        ),
        "2961 accepted (127 late)"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        between(&summary_line(&stderr), ": ", " alert records"),
        "2834 accepted (0 late), 6 duplicates, 160 rejected \
         [bad_time=3 malformed_json=3 missing_field=1 negative_count=2 too_late=151], 96"
    );
}
