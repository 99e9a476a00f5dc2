//! The streaming pipeline on a real Kafka broker: stream = backtest, and poison messages.

mod support;

use std::process::Stdio;

use support::{
    Names, backtest_keys, broker, committed_alert_keys, create_topics, produce, read_all, vigil,
    write_lines,
};
use vigil::generator::{GenOptions, generate};

fn run_until(bootstrap: &str, names: &Names, records: u64) -> std::process::Output {
    let out = vigil(bootstrap, names)
        .args(["run", "--json", "--max-records", &records.to_string()])
        // Info level for the run-finished summary event.
        .env("VIGIL__LOG__LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("vigil run");
    assert!(
        out.status.success(),
        "vigil run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
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
        let replay = vigil(bootstrap, &names)
            .arg("replay")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            replay.status.success(),
            "{}",
            String::from_utf8_lossy(&replay.stderr)
        );
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
            br#"{"id":"typed","event_time":12,"region":"NG-BO","source":{"id":"s"},"text":"x"}"#
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
