//! Metrics proven by a real Prometheus (Debian package `prometheus`): it scrapes a running
//! `vigil run` (embedded default) on 127.0.0.1, and PromQL over what it stored returns the
//! demo's counts. The harness installs Prometheus with apt when it is missing, as it fetches the
//! Kafka jars with Maven.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::http_get;

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

/// Runs an instant PromQL query; returns the API's JSON answer (status must be success).
fn query(prom: &str, promql: &str) -> serde_json::Value {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) =
        http_get(prom, &format!("/api/v1/query?query={encoded}")).expect("prometheus answers");
    let v: serde_json::Value =
        serde_json::from_str(body.trim_start_matches(|c: char| c != '{')).unwrap_or_default();
    assert_eq!(status, 200, "query {promql} failed: {body}");
    assert_eq!(v["status"], "success", "query {promql}: {body}");
    v
}

fn scalar(v: &serde_json::Value) -> Option<f64> {
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_scrapes_vigil_and_promql_sees_the_demo() {
    ensure_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let vigil_addr = format!("127.0.0.1:{}", free_port());
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let _vigil = Killed(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["run", "--speed", "0"])
            .env("VIGIL__HTTP__LISTEN", &vigil_addr)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vigil\n    static_configs:\n      - targets: ['{vigil_addr}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
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
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    // Wait (polling) until Prometheus has scraped the whole demo.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut ingested = None;
    while Instant::now() < deadline {
        if http_get(&prom_addr, "/-/ready").is_some_and(|(s, _)| s == 200) {
            ingested = scalar(&query(
                &prom_addr,
                "vigil_reports_ingested_total{job=\"vigil\"}",
            ));
            if ingested == Some(2961.0) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert_eq!(
        ingested,
        Some(2961.0),
        "Prometheus never saw the demo's 2961 reports; log:\n{log}"
    );
    assert_eq!(scalar(&query(&prom_addr, "up{job=\"vigil\"}")), Some(1.0));
    assert_eq!(
        scalar(&query(&prom_addr, "sum(vigil_reports_rejected_total)")),
        Some(9.0)
    );
    assert_eq!(
        scalar(&query(&prom_addr, "vigil_assigned_partitions")),
        Some(6.0)
    );
    let active = scalar(&query(&prom_addr, "sum(vigil_alerts_active)")).unwrap_or_default();
    assert!(active > 0.0, "no active alerts seen");
    // Expressions of the kind dashboards and alert rules use evaluate without error.
    for expr in [
        "sum by (reason) (rate(vigil_reports_rejected_total[1m]))",
        "sum by (severity) (vigil_alerts_active)",
        "sum by (code) (increase(vigil_tags_total{kind=\"threat\"}[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(vigil_batch_duration_seconds_bucket[1m])))",
        "rate(vigil_transaction_aborts_total[5m]) > 0",
        "vigil_state_restore_duration_seconds_count",
    ] {
        query(&prom_addr, expr);
    }
}
