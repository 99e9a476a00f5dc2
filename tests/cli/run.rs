//! `vigil run` on the embedded cluster: the backtest's alerts, JSON logs without report content,
//! and `/healthz`, `/readyz` and `/metrics` with every count compared with what `backtest` and
//! `tag` count on the same demo.

use std::collections::BTreeMap;

use super::support::http_get;
use super::{between, demo_file, run, summary_line, vigil};

/// The samples of a Prometheus text exposition: series as written (name and labels) → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            let value = value.parse().unwrap_or_else(|e| panic!("{l}: {e}"));
            (series.to_string(), value)
        })
        .collect()
}

/// Asserts that the series of `family` (a metric name) with a non-zero value are exactly
/// `expected`, values included.
fn assert_family(metrics: &BTreeMap<String, f64>, family: &str, expected: &BTreeMap<String, f64>) {
    let prefix = format!("{family}{{");
    let nonzero: BTreeMap<String, f64> = metrics
        .iter()
        .filter(|(k, v)| k.starts_with(&prefix) && **v != 0.0)
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(&nonzero, expected, "{family}");
}

#[test]
fn run_on_the_embedded_cluster_matches_backtest() {
    // The newcomer's command, on the embedded cluster: the demo's alerts equal the backtest's.
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let files = |name: &str| dir.path().join(name);
    let backtest = run(vigil()
        .arg("backtest")
        .arg(&demo)
        .arg("--cap-dir")
        .arg(files("cap-backtest"))
        .arg("--alertmanager-dir")
        .arg(files("am-backtest")));
    let out = run(vigil()
        .args(["run", "--speed", "0", "--json", "--max-records", "3000"])
        .arg("--cap-dir")
        .arg(files("cap-run"))
        .arg("--alertmanager-dir")
        .arg(files("am-run")));
    let key = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        format!("{} {} {}", v["alert_id"], v["status"], v["severity"])
    };
    let mut streamed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(key)
        .collect();
    let mut expected: Vec<String> = String::from_utf8_lossy(&backtest.stdout)
        .lines()
        .map(key)
        .collect();
    assert!(!expected.is_empty());
    streamed.sort();
    expected.sort();
    assert_eq!(streamed, expected);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run finished records=3000"), "{stderr}");
    assert!(stderr.contains("dlq=9"), "{stderr}");
    // The run hands its committed alerts to the same CAP and Alertmanager writers as backtest:
    // one file per alert record, with the same documents (names number records in arrival
    // order, which differs by batch).
    let contents = |name: &str| {
        let mut docs: Vec<Vec<u8>> = std::fs::read_dir(files(name))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        docs.sort();
        docs
    };
    for (run_dir, backtest_dir) in [("cap-run", "cap-backtest"), ("am-run", "am-backtest")] {
        let docs = contents(run_dir);
        assert_eq!(docs.len(), expected.len(), "{run_dir}");
        assert_eq!(docs, contents(backtest_dir), "{run_dir}");
    }
}

#[test]
fn run_refuses_a_directory_holding_files_before_it_starts() {
    // File numbers restart with every run: a used directory would be overwritten in part.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.xml"), "<alert/>").unwrap();
    let out = vigil()
        .args(["run", "--speed", "0", "--max-records", "3000", "--cap-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(
        !stderr.contains("embedded cluster"),
        "started anyway: {stderr}"
    );
}

#[test]
fn json_logs_are_json_and_carry_no_report_text_or_names() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let out = run(vigil()
        .args(["run", "--speed", "0", "--max-records", "3000"])
        .env("VIGIL__LOG__FORMAT", "json")
        .env("VIGIL__LOG__LEVEL", "debug"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(events.len() > 3, "{stderr}");
    for e in &events {
        assert!(e["level"].is_string() && e["fields"].is_object(), "{e}");
    }
    let finished = events
        .iter()
        .find(|e| e["fields"]["message"] == "run finished")
        .expect("a run-finished event");
    assert_eq!(finished["fields"]["records"], 3000);
    assert_eq!(finished["fields"]["dlq"], 9);
    // Debug level logs every batch; still no report's text, title, source or actor name.
    let mut secrets = std::collections::BTreeSet::new();
    for line in std::fs::read_to_string(&demo).unwrap().lines() {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for s in [&r["text"], &r["title"], &r["source"]["name"]] {
            if let Some(s) = s.as_str().filter(|s| s.len() >= 12) {
                secrets.insert(s.chars().take(24).collect::<String>());
            }
        }
        for a in r["actors"].as_array().into_iter().flatten() {
            if let Some(name) = a["name"].as_str().filter(|s| s.len() >= 6) {
                secrets.insert(name.to_string());
            }
        }
    }
    assert!(secrets.len() > 100, "{}", secrets.len());
    for s in &secrets {
        assert!(
            !stderr.contains(s.as_str()),
            "log carries report content {s:?}"
        );
    }
}

#[test]
fn run_serves_health_readiness_and_metrics() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = vigil()
        .args(["run", "--speed", "0"])
        .env("VIGIL__HTTP__LISTEN", &addr)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut metrics = String::new();
    // Poll until the whole demo is counted (2,961 accepted reports).
    while std::time::Instant::now() < deadline {
        if let Some((200, body)) = http_get(&addr, "/metrics")
            && body.contains("vigil_reports_ingested_total 2961")
        {
            metrics = body;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let ready = http_get(&addr, "/readyz");
    let health = http_get(&addr, "/healthz");
    let feed = demo_feed(&addr);
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "vigil run did not stop cleanly on SIGTERM"
    );
    assert!(!metrics.is_empty(), "demo never fully counted on /metrics");
    assert_eq!(ready.map(|r| r.0), Some(200));
    assert_eq!(health.map(|r| r.0), Some(200));
    assert_demo_metrics(&metrics);
    assert_demo_feed(&feed);
    // No report text or names in metrics; region labels only from `metrics.regions` (the
    // shipped config lists the demo's regions) or `other`.
    assert!(!metrics.contains("Armed men"));
    let configured = [
        "NG-BO", "NG-YO", "NG-AD", "ML-MO", "ML-TB", "BF-SAH", "NE-TI", "TD-LC", "other",
    ];
    let regions: std::collections::BTreeSet<&str> = metrics
        .split("region=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(regions.contains("NG-BO"), "{regions:?}");
    assert!(
        regions.iter().all(|r| configured.contains(r)),
        "{regions:?}"
    );
}

/// The shipped CAP feed of the demo run, as `support/feed_check.py` (feedparser, and xmllint
/// against the OASIS schema) reads it once it lists every alert record of warning or above.
fn demo_feed(addr: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let backtest = run(vigil().arg("backtest").arg(demo_file(dir.path())));
    let expected = String::from_utf8_lossy(&backtest.stdout)
        .lines()
        .filter(|l| {
            l.contains("\"severity\":\"warning\"") || l.contains("\"severity\":\"critical\"")
        })
        .count();
    assert!(expected > 10);
    let xsd = std::env::var("VIGIL_CAP_XSD")
        .unwrap_or_else(|_| "../shared/standards/cap-1.2.xsd".to_string());
    let mut last = serde_json::Value::Null;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let out = std::process::Command::new("python3")
            .arg("tests/support/feed_check.py")
            .arg(format!("http://{addr}/cap/public-cap-feed.atom"))
            .arg(&xsd)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        last = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        if out.status.success()
            && last["entries"]
                .as_array()
                .is_some_and(|e| e.len() == expected)
        {
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the demo's CAP feed never listed its {expected} messages, all valid: {last}");
}

/// The demo's feed, served with nothing but `vigil run`: Atom 1.0, every CAP message valid,
/// with `[cap]`'s sender and expiry.
fn assert_demo_feed(feed: &serde_json::Value) {
    assert_eq!(feed["version"], "atom10");
    for e in feed["entries"].as_array().unwrap() {
        assert_eq!(e["valid"], true, "{e}");
        assert_eq!(e["sender"], "vigil@early-warning.invalid");
        assert!(
            e["expires"].as_str().is_some_and(|t| t.ends_with("-00:00")),
            "{e}"
        );
    }
}

/// Every count `vigil run` exposes after the whole demo, each compared with its value as the
/// other commands derive it from the same demo: alerts, open episodes, rejects and lateness
/// from `backtest`, tags from `tag`. Series exist from start-up at 0, so only values prove
/// that the run counted.
fn assert_demo_metrics(text: &str) {
    let metrics = samples(text);
    let value = |series: &str| {
        *metrics
            .get(series)
            .unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let backtest = run(vigil().arg("backtest").arg(&demo));
    let summary = summary_line(&String::from_utf8_lossy(&backtest.stderr));

    // Record counts.
    assert_eq!(value("vigil_records_consumed_total"), 3000.0);
    assert_eq!(value("vigil_reports_ingested_total"), 2961.0);
    assert_eq!(value("vigil_reports_duplicate_total"), 30.0);
    let late: f64 = between(&summary, "(", " late)").parse().unwrap();
    assert_eq!(value("vigil_reports_late_total"), late);
    // Every record is timed to its commit; every accepted report's event-time lag is observed.
    assert_eq!(value("vigil_record_latency_seconds_count"), 3000.0);
    assert_eq!(value("vigil_event_time_lag_seconds_count"), 2961.0);

    // Rejects by reason, in the metric and in the DLQ, as backtest counts them.
    let reasons: BTreeMap<String, f64> = between(&summary, "rejected [", "]")
        .split(' ')
        .map(|pair| {
            let (reason, n) = pair.split_once('=').expect("reason=n");
            (format!("{{reason=\"{reason}\"}}"), n.parse().unwrap())
        })
        .collect();
    assert_eq!(reasons.values().sum::<f64>(), 9.0, "{summary}");
    for family in ["vigil_reports_rejected_total", "vigil_dlq_records_total"] {
        let expected = reasons
            .iter()
            .map(|(k, n)| (format!("{family}{k}"), *n))
            .collect();
        assert_family(&metrics, family, &expected);
    }

    // Alert records by rule, severity and status, and episodes still open.
    let mut alerts = BTreeMap::new();
    for line in String::from_utf8_lossy(&backtest.stdout).lines() {
        let a: serde_json::Value = serde_json::from_str(line).unwrap();
        let series = format!(
            "vigil_alerts_total{{rule={},severity={},status={}}}",
            a["rule"], a["severity"], a["status"]
        );
        *alerts.entry(series).or_insert(0.0) += 1.0;
    }
    assert_eq!(alerts.values().sum::<f64>(), 97.0);
    assert_family(&metrics, "vigil_alerts_total", &alerts);
    let active = between(&summary, "= [", "]");
    let active: Vec<f64> = active.split(", ").map(|n| n.parse().unwrap()).collect();
    for (severity, n) in ["watch", "warning", "critical"].iter().zip(active) {
        assert_eq!(
            value(&format!("vigil_alerts_active{{severity=\"{severity}\"}}")),
            n,
            "{severity}"
        );
    }

    // Tags of accepted reports: `tag` writes a line per readable record, duplicates included,
    // so each id counts once (the demo has exact duplicates only).
    let tag = run(vigil().arg("tag").arg(&demo));
    let mut seen = std::collections::BTreeSet::new();
    let mut tags = BTreeMap::new();
    for line in String::from_utf8_lossy(&tag.stdout).lines() {
        let t: serde_json::Value = serde_json::from_str(line).unwrap();
        if !seen.insert(t["id"].to_string()) {
            continue;
        }
        for (kind, field) in [("threat", "threats"), ("risk_factor", "risk_factors")] {
            for code in t[field].as_array().unwrap() {
                let series = format!("vigil_tags_total{{code={code},kind=\"{kind}\"}}");
                *tags.entry(series).or_insert(0.0) += 1.0;
            }
        }
    }
    assert_eq!(seen.len(), 2961);
    assert_family(&metrics, "vigil_tags_total", &tags);

    // The embedded cluster's six partitions, restored once; one commit per batch timed.
    assert_eq!(value("vigil_assigned_partitions"), 6.0);
    assert_eq!(value("vigil_state_restore_duration_seconds_count"), 1.0);
    let commits = value("vigil_transaction_commits_total");
    assert!(commits >= 1.0, "{commits}");
    assert_eq!(value("vigil_batch_duration_seconds_count"), commits);
    assert_eq!(
        value(&format!(
            "vigil_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
}

#[test]
fn run_refuses_to_start_when_a_signing_key_is_missing() {
    // A webhook whose secret_env is not set: `vigil run` stops before anything starts, naming
    // the subscriber and the variable, rather than running on with no subscriber served.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for f in ["vigil.toml", "taxonomy.toml", "rules.toml"] {
        std::fs::copy(std::path::Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    std::fs::write(
        cfg.join("subscribers.toml"),
        "[[subscriber]]\nname = \"desk\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret_env = \"VIGIL_TEST_UNSET_KEY\"\n",
    )
    .unwrap();
    let out = vigil()
        .arg("--config-dir")
        .arg(&cfg)
        .args(["run", "--speed", "0"])
        .env("VIGIL__HTTP__LISTEN", "127.0.0.1:0")
        .env_remove("VIGIL_TEST_UNSET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "subscriber desk: secret_env: VIGIL_TEST_UNSET_KEY (or VIGIL_TEST_UNSET_KEY_FILE) is not set"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("run finished"),
        "the pipeline never started: {stderr}"
    );
}

#[test]
fn a_batch_stuck_in_a_write_that_never_returns_ends_the_process_with_code_70() {
    // Standard output is a pipe nobody reads: once it is full, handing a batch's alerts on
    // blocks for good, inside the loop, where the stall watchdog cannot see it.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let mut child = vigil()
        .args(["run", "--speed", "0", "--json"])
        .env("VIGIL__PIPELINE__BATCH_TIMEOUT_SECS", "3")
        .env("VIGIL__DESK__ENABLED", "false")
        .env("VIGIL__LOG__LEVEL", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _unread = child.stdout.take();
    let exited = crate::support::wait_for(std::time::Duration::from_secs(90), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(exited, "still blocked after 90 s:\n{stderr}");
    assert_eq!(status.code(), Some(70), "{stderr}");
    assert!(stderr.contains("a batch is stuck"), "{stderr}");
}
