//! Metrics, dashboards and alerting rules proven by a real Prometheus (Debian package
//! `prometheus`, installed with apt when missing, as the harness fetches the Kafka jars).
//!
//! Prometheus scrapes a `vigil run` on the real broker while the demo scenario is replayed into
//! it, and loads `deploy/prometheus/rules`. Then every PromQL expression of the Grafana
//! dashboards (panels, variables, annotations) and of the rules is evaluated through the HTTP
//! API: none may error, every dashboard panel must return data, and every rule must be healthy.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod support;

use support::{
    Names, broker, create_topics, http_get, replay_file, vigil, wait_for, with_desk, write_lines,
};
use vigil::input::generator::{GenOptions, generate};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ensure_prometheus() {
    let present = |c: &str| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present("prometheus") {
        return;
    }
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq", "prometheus"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        update.is_ok_and(|s| s.success())
            && install.is_ok_and(|s| s.success())
            && present("prometheus"),
        "this test needs Prometheus: apt-get install prometheus (as root) did not provide it"
    );
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs an instant PromQL query; returns the result vector (the API's status must be success).
fn query(prom: &str, promql: &str) -> Vec<serde_json::Value> {
    let (status, body) = http_get(prom, &format!("/api/v1/query?query={}", encode(promql)))
        .expect("prometheus answers");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(status, 200, "query {promql} failed: {body}");
    assert_eq!(v["status"], "success", "query {promql}: {body}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn scalar(prom: &str, promql: &str) -> Option<f64> {
    query(prom, promql)
        .first()?
        .get("value")?
        .get(1)?
        .as_str()?
        .parse()
        .ok()
}

/// Grafana's variables, as a dashboard at its default selection would expand them.
fn expand(expr: &str) -> String {
    let out = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m")
        .replace("$instance", ".*")
        .replace("$region", ".*");
    assert!(!out.contains('$'), "unexpanded variable in {expr}");
    out
}

/// Every PromQL expression of a dashboard, by where it is: panel title, variable or annotation.
fn dashboard_exprs(path: &Path) -> Vec<(String, String)> {
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap().to_string();
            out.push((
                format!("panel {title}"),
                expand(t["expr"].as_str().unwrap()),
            ));
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if v["type"] == "query" {
            // label_values(metric, label) is a metadata call; its PromQL twin is count by.
            let q = v["query"]["query"].as_str().unwrap();
            let args = q
                .strip_prefix("label_values(")
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or_else(|| panic!("unexpected variable query {q}"));
            let (metric, label) = args.split_once(',').unwrap();
            out.push((
                format!("variable {}", v["name"]),
                format!("count by ({}) ({metric})", label.trim()),
            ));
        }
    }
    for a in d["annotations"]["list"].as_array().unwrap() {
        if let Some(expr) = a["expr"].as_str() {
            out.push((format!("annotation {}", a["name"]), expand(expr)));
        }
    }
    out
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// One scenario, read top-down: Vigil and Prometheus started, one scrape, then every expression.
#[test]
fn prometheus_scrapes_vigil_and_every_dashboard_and_rule_expression_evaluates() {
    ensure_prometheus();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bootstrap = broker();
    let dir = tempfile::tempdir().unwrap();
    let names = Names::new("prom");
    create_topics(bootstrap, &names);
    let vigil_addr = format!("127.0.0.1:{}", free_port());
    let prom_addr = format!("127.0.0.1:{}", free_port());

    let mut cmd = vigil(bootstrap, &names);
    cmd.arg("run")
        .env("VIGIL__HTTP__LISTEN", &vigil_addr)
        .env("VIGIL__METRICS__LAG_INTERVAL_MS", "500");
    // The desk's panels read its metrics: it runs, on topics and a store of its own.
    with_desk(&mut cmd, &names, &dir.path().join("desk.sqlite"));
    let _vigil = Killed(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}/deploy/prometheus/rules/*.yml\nscrape_configs:\n  - job_name: vigil\n    static_configs:\n      - targets: ['{vigil_addr}']\n",
        repo.display()
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let prom_log = dir.path().join("prometheus.log");
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&prom_log).unwrap())
            .spawn()
            .unwrap(),
    );
    let log = || std::fs::read_to_string(&prom_log).unwrap_or_default();
    // Prometheus sees Vigil ready before any report exists, so every counter rises while scraped.
    assert!(
        wait_for(Duration::from_secs(120), || {
            http_get(&prom_addr, "/-/ready").is_some_and(|(s, _)| s == 200)
                && scalar(&prom_addr, "vigil_ready{job=\"vigil\"}") == Some(1.0)
        }),
        "Prometheus never saw a ready Vigil; log:\n{}",
        log()
    );

    let lines: Vec<String> = generate(&GenOptions::demo()).collect();
    let file = write_lines(dir.path(), "demo.jsonl", &lines);
    replay_file(bootstrap, &names, &file);
    let consumed = || scalar(&prom_addr, "vigil_records_consumed_total{job=\"vigil\"}");
    assert!(
        wait_for(Duration::from_secs(120), || consumed()
            == Some(lines.len() as f64)),
        "Prometheus never saw all {} records (last: {:?}); log:\n{}",
        lines.len(),
        consumed(),
        log()
    );

    // The demo's exact counts, as PromQL sees them.
    assert_eq!(scalar(&prom_addr, "up{job=\"vigil\"}"), Some(1.0));
    assert_eq!(
        scalar(&prom_addr, "vigil_reports_ingested_total"),
        Some(2961.0)
    );
    assert_eq!(
        scalar(&prom_addr, "sum(vigil_reports_rejected_total)"),
        Some(9.0)
    );
    assert_eq!(
        scalar(&prom_addr, "sum(vigil_dlq_records_total)"),
        Some(9.0)
    );
    assert_eq!(scalar(&prom_addr, "vigil_assigned_partitions"), Some(6.0));
    assert!(scalar(&prom_addr, "sum(vigil_alerts_active)").unwrap_or_default() > 0.0);
    assert!(
        scalar(
            &prom_addr,
            "vigil_transaction_commit_duration_seconds_count"
        )
        .unwrap_or_default()
            > 0.0,
        "the real broker runs with transactions"
    );
    // Lag is sampled from librdkafka statistics; once everything is committed it reads zero.
    assert!(
        wait_for(Duration::from_secs(30), || {
            let lag = query(&prom_addr, "vigil_consumer_lag_records");
            lag.len() == 6 && scalar(&prom_addr, "sum(vigil_consumer_lag_records)") == Some(0.0)
        }),
        "lag: {:?}",
        query(&prom_addr, "vigil_consumer_lag_records")
    );

    // Every dashboard expression evaluates, and returns data.
    let mut checked = BTreeMap::new();
    for name in ["vigil-operations.json", "early-warning-desk.json"] {
        let path = repo.join("deploy/grafana/dashboards").join(name);
        for (place, expr) in dashboard_exprs(&path) {
            let result = query(&prom_addr, &expr);
            assert!(!result.is_empty(), "{name}: {place}: no data for {expr}");
            checked.insert(format!("{name}: {place}"), expr);
        }
    }
    assert!(checked.len() >= 25, "{checked:#?}");

    // Every alerting rule evaluates without error (the quiet run fires none but VigilNoInput's
    // and similar need time; promtool's unit tests prove that they fire).
    let rules: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo.join("deploy/prometheus/rules/vigil.yml")).unwrap(),
    )
    .unwrap();
    let mut rule_count = 0;
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            query(&prom_addr, rule["expr"].as_str().unwrap());
            rule_count += 1;
        }
    }
    let (_, body) = http_get(&prom_addr, "/api/v1/rules").unwrap();
    let loaded: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut healthy = 0;
    assert!(
        wait_for(Duration::from_secs(30), || {
            let (_, body) = http_get(&prom_addr, "/api/v1/rules").unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            healthy = v["data"]["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .filter(|r| r["health"] == "ok")
                .count();
            healthy == rule_count
        }),
        "{healthy} of {rule_count} rules healthy: {loaded}"
    );
    // A quiet, healthy pipeline: none of Vigil's health alerts fires.
    let firing = query(&prom_addr, "ALERTS{alertstate=\"firing\"}");
    assert!(firing.is_empty(), "{firing:?}");
}
