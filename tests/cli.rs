//! The `vigil` binary end to end: check-config, tag, backtest (JSONL, ACLED CSV and exports it
//! refuses or explains), gen and the in-process `run`, with environment overrides. Counts are
//! asserted as values: a summary line whole, a metric series with its value, each derived from
//! the input (a file built with a known number of duplicates, or the deterministic demo read by
//! another command), never only that a word or a series is present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

use support::http_get;

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    // Tests run in parallel: every `vigil run` serves /metrics on a port of its own.
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("VIGIL__HTTP__LISTEN", "127.0.0.1:0");
    c
}

fn run(cmd: &mut Command) -> Output {
    support::output_ok(cmd, "vigil")
}

fn demo_file(dir: &Path) -> PathBuf {
    let out = run(vigil().args(["gen", "--demo"]));
    let path = dir.join("demo.jsonl");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// Runs `check-config` on `cfg`, expects it to fail, and returns what it wrote to stderr.
fn check_config_fails(cfg: &Path) -> String {
    let out = vigil()
        .arg("--config-dir")
        .arg(cfg)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "check-config accepted a broken {}",
        cfg.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn copy_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for f in [
        "vigil.toml",
        "taxonomy.toml",
        "rules.toml",
        "subscribers.toml",
    ] {
        std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    cfg
}

/// The summary line `backtest` writes to stderr, with its elapsed time replaced by `X`, so that
/// a test compares every count in it at once.
fn summary_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains(" records in "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let (records, rest) = line.split_once(" records in ").expect("summary shape");
    let (_, counts) = rest.split_once("s: ").expect("summary shape");
    format!("{records} records in Xs: {counts}")
}

/// The text between `before` and the next `after` in `line`.
fn between<'a>(line: &'a str, before: &str, after: &str) -> &'a str {
    let rest = line
        .split_once(before)
        .unwrap_or_else(|| panic!("{before:?} in {line}"))
        .1;
    rest.split_once(after)
        .unwrap_or_else(|| panic!("{after:?} in {line}"))
        .0
}

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

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn check_config_accepts_the_shipped_files() {
    let out = run(vigil().arg("check-config"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok: 14 risk factors"), "{stdout}");
}

#[test]
fn check_config_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let rules = std::fs::read_to_string(cfg.join("rules.toml")).unwrap();
    let broken = rules.replacen("window = \"72h\"", "window = \"banana\"", 1);
    std::fs::write(cfg.join("rules.toml"), &broken).unwrap();
    let tax = std::fs::read_to_string(cfg.join("taxonomy.toml")).unwrap();
    let broken_tax = tax.replacen(
        "indicators = [\"5.5\", \"5.8\", \"8.2\"]",
        "indicators = [\"5.5\", \"99.1\"]",
        1,
    );
    std::fs::write(cfg.join("taxonomy.toml"), &broken_tax).unwrap();

    let stderr = check_config_fails(&cfg);
    let rules_line = line_of(&broken, "window = \"banana\"");
    let expected = format!("rules.toml:{rules_line}: rule[3].window: expected a duration");
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
    let tax_line = line_of(&broken_tax, "\"99.1\"");
    let expected =
        format!("taxonomy.toml:{tax_line}: threat[0].indicators[1]: unknown indicator 99.1");
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
}

#[test]
fn check_config_names_an_event_frame_group_without_terms() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let tax = std::fs::read_to_string(cfg.join("taxonomy.toml")).unwrap();
    let broken = tax.replacen(
        "groups = [\"captivity\", \"taking\"]",
        "groups = [\"captivity\", \"takng\"]",
        1,
    );
    assert_ne!(
        broken, tax,
        "the shipped first frame changed; update this test"
    );
    std::fs::write(cfg.join("taxonomy.toml"), &broken).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(&broken, "\"takng\"");
    let expected = format!(
        "taxonomy.toml:{line}: frame[0].groups[1]: no terms for `takng` in [frame_terms.en]"
    );
    assert!(
        stderr.contains(&expected),
        "wanted {expected:?} in:\n{stderr}"
    );
}

#[test]
fn check_config_reports_toml_syntax_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = copy_config(dir.path());
    let text = std::fs::read_to_string(cfg.join("vigil.toml")).unwrap();
    let broken = text.replacen("pane_secs = 3600", "pane_secs = = 3600", 1);
    std::fs::write(cfg.join("vigil.toml"), &broken).unwrap();
    let stderr = check_config_fails(&cfg);
    let line = line_of(&broken, "pane_secs = = 3600");
    assert!(stderr.contains(&format!("vigil.toml:{line}:")), "{stderr}");
}

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

#[test]
fn backtest_reads_acled_exports_and_writes_cap_and_alertmanager_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n",
    );
    for i in 0..7 {
        csv.push_str(&format!(
            "TST{i},2024-03-15,2024,1,Political violence,Violence against civilians,Abduction/forced disappearance,Unidentified Armed Group,,3,Civilians,,7,37,Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,Paper {i},National,\"Gunmen abducted {} farmers near the village.\",0,,1710500000\n",
            i + 2
        ));
    }
    csv.push_str("BAD,not-a-date,2024,1,,,,,,,,,,,,,,Nigeria,Borno,,,,,,,,,,0,,\n");
    let path = dir.path().join("acled.csv");
    std::fs::write(&path, csv).unwrap();
    let cap_dir = dir.path().join("cap");
    let am_dir = dir.path().join("alertmanager");
    let out = run(vigil()
        .arg("backtest")
        .arg(&path)
        .arg("--cap-dir")
        .arg(&cap_dir)
        .arg("--alertmanager-dir")
        .arg(&am_dir));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cluster = alerts
        .iter()
        .rev()
        .find(|a| a["rule"] == "abduction_cluster")
        .expect("cluster alert");
    assert_eq!(cluster["region"], "Nigeria/Borno");
    assert_eq!(cluster["severity"], "warning");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 9: bad_date: event_date: not a date")
    );
    let xml: Vec<_> = std::fs::read_dir(&cap_dir).unwrap().collect();
    assert_eq!(xml.len(), alerts.len());
    // One Alertmanager webhook payload per record, for the same episodes.
    let mut payload_ids: Vec<String> = std::fs::read_dir(&am_dir)
        .unwrap()
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            assert_eq!(v["version"], "4");
            v["alerts"][0]["annotations"]["alert_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut record_ids: Vec<String> = alerts
        .iter()
        .map(|a| a["alert_id"].as_str().unwrap().to_string())
        .collect();
    payload_ids.sort();
    record_ids.sort();
    assert_eq!(payload_ids, record_ids);
}

#[test]
fn run_on_the_embedded_cluster_matches_backtest() {
    // The newcomer's command, on the embedded cluster: the demo's alerts equal the backtest's.
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_file(dir.path());
    let backtest = run(vigil().arg("backtest").arg(&demo));
    let out = run(vigil().args(["run", "--speed", "0", "--json", "--max-records", "3000"]));
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

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

/// An invented ACLED row with this id and date, as tab-separated fields.
fn acled_tsv_row(id: &str, date: &str) -> String {
    format!(
        "{id},{date},2025,1,Political violence,Violence against civilians,Abduction/forced disappearance,Unidentified Armed Group,,Political militia,Civilians,,Civilians,37,Civilian targeting,566,Western Africa,Nigeria,Borno,Gwoza,,Pulka,11.2,13.7,1,Daily Trust; Premium Times,National,Gunmen abducted 12 farmers near the village.,0,,1738900000"
    )
    .replace(',', "\t")
}

#[test]
fn backtest_and_tag_read_tab_separated_exports_and_count_import_rejects_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acled.tsv");
    let rows = [
        ACLED_HEADER.replace(',', "\t"),
        acled_tsv_row("TST1", "31/1/2025"),
        acled_tsv_row("TST2", "3/2/2025"),
        acled_tsv_row("TST3", "someday"),
        acled_tsv_row("TST4", "8 February 2025"),
    ];
    std::fs::write(&path, rows.join("\r\n") + "\r\n").unwrap();

    let out = run(vigil().arg("backtest").arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "line 3: ambiguous_date: event_date: 3 February 2025 (day first) or 2 March 2025 (month first)? Set [import] date_order = \"dmy\" or \"mdy\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: bad_date: event_date: not a date"),
        "{stderr}"
    );
    for line in stderr.lines().filter(|l| l.starts_with("line ")) {
        assert_eq!(line.matches("line ").count(), 1, "{line}");
    }
    assert_eq!(
        summary_line(&stderr),
        "4 records in Xs: 2 accepted (0 late), 0 duplicates, 2 rejected [ambiguous_date=1 bad_date=1], \
         0 alert records; active alerts watch/warning/critical = [0, 0, 0]"
    );

    // The setting, through the environment like every key, resolves the ambiguous date.
    let out = run(vigil()
        .arg("backtest")
        .arg(&path)
        .env("VIGIL__IMPORT__DATE_ORDER", "dmy"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        summary_line(&stderr),
        "4 records in Xs: 3 accepted (0 late), 0 duplicates, 1 rejected [bad_date=1], \
         0 alert records; active alerts watch/warning/critical = [0, 0, 0]"
    );

    let out = run(vigil().arg("tag").arg(&path));
    let tagged: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(tagged.len(), 2);
    assert_eq!(tagged[0]["id"], "acled:TST1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tagged 2 reports (0 near-duplicates, with duplicate_of), skipped 2 bad lines [ambiguous_date=1 bad_date=1]"),
        "{stderr}"
    );
}

#[test]
fn a_file_of_no_known_format_is_refused_before_processing() {
    let dir = tempfile::tempdir().unwrap();
    // A semicolon-separated export whose columns were renamed (here: translated).
    let path = dir.path().join("export.csv");
    std::fs::write(
        &path,
        "id_evenement;date_evenement;pays;notes\nTST1;2025-02-07;Nigeria;Gunmen abducted 12 farmers.\n",
    )
    .unwrap();
    for command in ["backtest", "tag", "replay"] {
        let out = vigil().arg(command).arg(&path).output().unwrap();
        assert!(!out.status.success(), "{command} accepted the file");
        assert!(out.stdout.is_empty(), "{command} processed records");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot import"), "{command}: {stderr}");
        assert!(
            stderr.contains("an ACLED export needs the columns event_id_cnty, event_date"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("first columns read: id_evenement, date_evenement, pays, notes"),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("line 2"), "{command}: {stderr}");
    }
}

#[test]
fn semicolon_exports_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acled-fr.csv");
    // A spreadsheet's `;` export: the outlets' `;` list quoted, a decimal comma.
    let row = acled_tsv_row("TST1", "7-Feb-25")
        .replace(
            "Daily Trust; Premium Times",
            "\"Daily Trust; Premium Times\"",
        )
        .replace("11.2", "11,2")
        .replace('\t', ";");
    std::fs::write(
        &path,
        format!("{}\n{row}\n", ACLED_HEADER.replace(',', ";")),
    )
    .unwrap();
    let out = run(vigil().arg("tag").arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "tagged 1 reports (0 near-duplicates, with duplicate_of), skipped 0 bad lines"
        ),
        "{stderr}"
    );
}

#[test]
fn bench_reads_the_file_like_backtest_and_gives_ripgrep_every_term() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.jsonl");
    let out = run(vigil()
        .args(["bench", "--count", "2000"])
        .arg("--file")
        .arg(&file));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"))
    };
    assert!(
        row("read+decode+validate").ends_with(" 2000 valid"),
        "{stdout}"
    );
    // The core phase and `vigil backtest` run on the file give the alerts a backtest of it
    // writes: the bench times the same work.
    let backtest = run(vigil().arg("backtest").arg(&file));
    let alerts = String::from_utf8_lossy(&backtest.stdout).lines().count();
    assert!(alerts > 0);
    assert!(
        row("read+decode+tag+window+rules").contains(&format!("  {alerts} alert records, ")),
        "{stdout}"
    );
    assert!(
        row("vigil backtest (process)")
            .ends_with(&format!("  {alerts} alert records; start-up included")),
        "{stdout}"
    );
    // ripgrep is given the terms of all three automata, each once, and the lexicon phrases
    // are fewer than those of the one pass.
    let count = |text: &str, before: &str| -> usize { between(text, before, " ").parse().unwrap() };
    let one_pass = count(&stdout, "scans every text for ");
    let phrases = count(&stdout, &format!("for {one_pass} ("));
    let companions = count(&stdout, "other senses), ");
    let cues = count(&stdout, " anchors and ");
    let given = count(&stdout, "ripgrep is given all ");
    assert!(phrases < one_pass, "{stdout}");
    assert_eq!(given, one_pass + companions + cues, "{stdout}");
    if Command::new("rg").arg("--version").output().is_ok() {
        assert!(
            row("rg --count-matches -F -i (all)").contains(&format!("  {given} terms, ")),
            "{stdout}"
        );
        assert!(row("core / ripgrep (all terms)").len() > 30, "{stdout}");
    }
}
