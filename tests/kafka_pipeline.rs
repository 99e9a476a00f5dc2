//! The streaming pipeline on a real Kafka broker: stream = backtest, and poison messages.

mod support;

use std::process::Stdio;

use support::{
    Names, backtest_keys, broker, committed_alert_keys, create_topics, output_ok, produce,
    read_all, replay_file, vigil, write_lines,
};
use vigil::input::generator::{GenOptions, generate};

fn run_until(bootstrap: &str, names: &Names, records: u64) -> std::process::Output {
    let mut run = vigil(bootstrap, names);
    run.args(["run", "--json", "--max-records", &records.to_string()])
        // Info level for the run-finished summary event.
        .env("VIGIL__LOG__LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    output_ok(&mut run, "vigil run")
}

#[test]
fn stream_equals_backtest_on_the_demo_and_a_larger_stream() {
    let bootstrap = broker();
    let dir = tempfile::tempdir().unwrap();
    let larger = GenOptions {
        seed: 99,
        count: 8000,
        regions: 12,
        rate_per_hour: 30.0,
        threat_rate: 0.2,
        late_fraction: 0.08,
        duplicate_fraction: 0.02,
        invalid_fraction: 0.002,
        escalation: true,
        ..GenOptions::default()
    };
    for (name, opts) in [("demo", GenOptions::demo()), ("larger", larger)] {
        let lines: Vec<String> = generate(&opts).collect();
        let file = write_lines(dir.path(), &format!("{name}.jsonl"), &lines);
        let expected = backtest_keys(&file);
        assert!(!expected.is_empty());
        let names = Names::new(name);
        replay_file(bootstrap, &names, &file);
        let out = run_until(bootstrap, &names, lines.len() as u64);
        // What the process printed after each commit, and what a read_committed consumer sees.
        let mut printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(support::alert_key)
            .collect();
        printed.sort();
        assert_eq!(
            printed, expected,
            "{name}: printed alerts differ from backtest"
        );
        assert_eq!(
            committed_alert_keys(bootstrap, &names.alerts),
            expected,
            "{name}: committed alerts differ"
        );
    }
}

#[test]
fn poison_messages_go_to_the_dlq_and_the_partition_keeps_flowing() {
    let bootstrap = broker();
    let names = Names::new("poison");
    let good = |i: usize| {
        format!(
            r#"{{"id":"good-{i}","event_time":"2026-03-01T0{h}:00:00Z","region":"NG-BO","source":{{"id":"s{i}","reliability":"A","credibility":1}},"text":"Gunmen abducted {n} villagers.","casualties":{{"abducted":{n}}}}}"#,
            h = i % 10,
            n = 30 + i
        )
        .into_bytes()
    };
    let mut big = br#"{"id":"big","event_time":"2026-03-01T00:00:00Z","region":"NG-BO","source":{"id":"s"},"text":""#.to_vec();
    big.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    big.extend(br#""}"#);
    let records: Vec<(Option<&str>, Vec<u8>)> = vec![
        (Some("NG-BO"), good(0)),
        (Some("NG-BO"), b"{\"id\": \"broken".to_vec()),
        (Some("NG-BO"), good(1)),
        (
            Some("NG-BO"),
            br#"{"id":"typed","event_time":true,"region":"NG-BO","source":{"id":"s"},"text":"x"}"#
                .to_vec(),
        ),
        (Some("NG-BO"), good(2)),
        (Some("NG-BO"), big),
        (Some("NG-BO"), good(3)),
        (
            Some("NG-BO"),
            b"{\"id\":\"\xff\xfe\",\"text\":\"x\"}".to_vec(),
        ),
        (Some("NG-BO"), good(4)),
    ];
    // Create the topics through the pipeline's own admin path, then produce.
    create_topics(bootstrap, &names);
    produce(bootstrap, &names.input, &records);
    let out = run_until(bootstrap, &names, records.len() as u64);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dlq=4"), "{stderr}");

    let dlq = read_all(bootstrap, &names.dlq);
    let mut reasons: Vec<String> = dlq
        .iter()
        .map(|(_, _, h)| {
            h.iter()
                .find(|(k, _)| k == "vigil.reason")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["bad_type", "invalid_utf8", "malformed_json", "too_large"]
    );
    for (key, payload, headers) in &dlq {
        assert_eq!(key.as_deref(), Some(&b"NG-BO"[..]));
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("vigil.source.topic"), Some(names.input.as_str()));
        let offset: usize = header("vigil.source.offset").unwrap().parse().unwrap();
        let original = &records[offset].1;
        assert_eq!(
            header("vigil.original_bytes"),
            Some(original.len().to_string().as_str())
        );
        if header("vigil.reason") == Some("too_large") {
            // 2 MB does not fit a DLQ record: its first bytes are kept and marked.
            assert_eq!(header("vigil.truncated"), Some("true"));
            assert_eq!(payload.as_slice(), &original[..payload.len()]);
            assert!(payload.len() < original.len());
        } else {
            // The original bytes, untouched.
            assert_eq!(header("vigil.truncated"), Some("false"));
            assert_eq!(payload, original);
        }
    }
    // The good reports around the poison were all processed: the mass-abduction rule fired.
    let alerts = committed_alert_keys(bootstrap, &names.alerts);
    assert!(!alerts.is_empty());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("mass_abduction_incident"), "{printed}");
}

#[test]
fn tagged_reports_are_published_in_the_transaction_when_asked() {
    let bootstrap = broker();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = generate(&GenOptions {
        seed: 5,
        count: 600,
        regions: 4,
        threat_rate: 0.3,
        duplicate_fraction: 0.05,
        invalid_fraction: 0.01,
        ..GenOptions::default()
    })
    .collect();
    let file = write_lines(dir.path(), "tagged.jsonl", &lines);
    let names = Names::new("tagged");
    let tagged_topic = format!("{}-tagged", names.input);
    replay_file(bootstrap, &names, &file);
    let out = output_ok(
        vigil(bootstrap, &names)
            .args(["run", "--max-records", &lines.len().to_string()])
            .env("VIGIL__KAFKA__PUBLISH_TAGGED", "true")
            .env("VIGIL__KAFKA__TAGGED_TOPIC", &tagged_topic)
            .env("VIGIL__LOG__LEVEL", "info"),
        "vigil run",
    );
    // What `vigil tag` says about each report, by id.
    let tag = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("tag")
        .arg(&file)
        .output()
        .unwrap();
    let offline: std::collections::BTreeMap<String, serde_json::Value> =
        String::from_utf8_lossy(&tag.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["id"].as_str().unwrap().to_string(), v)
            })
            .collect();
    // Each report's region and event time, as given.
    let given: std::collections::BTreeMap<String, (String, i64)> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let t = chrono::DateTime::parse_from_rfc3339(v["event_time"].as_str()?).ok()?;
            Some((
                v["id"].as_str()?.to_string(),
                (v["region"].as_str()?.to_string(), t.timestamp()),
            ))
        })
        .collect();
    let records = read_all(bootstrap, &tagged_topic);
    // One record per accepted report: duplicates and rejects have none. Each is `vigil tag`'s
    // record with the report's region and event time (which the desk counts by).
    let ids: std::collections::BTreeSet<String> = records
        .iter()
        .map(|(_, payload, _)| {
            let mut v: serde_json::Value = serde_json::from_slice(payload).unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            let fields = v.as_object_mut().unwrap();
            let region = fields.remove("region").unwrap();
            let event_time = fields.remove("event_time").unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(event_time.as_str().unwrap()).unwrap();
            assert_eq!(
                given.get(&id),
                Some(&(region.as_str().unwrap().to_string(), at.timestamp())),
                "{id}: region or event time"
            );
            assert_eq!(
                Some(&v),
                offline.get(&id),
                "stream and `vigil tag` differ on {id}"
            );
            id
        })
        .collect();
    assert_eq!(ids.len(), records.len(), "a report was published twice");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dlq: usize = stderr
        .split("dlq=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("run summary");
    assert!(
        dlq > 0 && ids.len() < lines.len() - dlq,
        "{} {dlq}",
        ids.len()
    );
    // No report text travels with the tags.
    for (_, payload, _) in &records {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
        let id = v["id"].as_str().unwrap();
        let original = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["id"] == id)
            .unwrap();
        let text: String = original["text"]
            .as_str()
            .unwrap()
            .chars()
            .take(30)
            .collect();
        assert!(!String::from_utf8_lossy(payload).contains(&text));
    }
}
