//! Delivery's routing on a real Kafka broker with real receivers: silences added and expired
//! with `vigil silence`, inhibition, Alertmanager-style grouping, the CAP feed read by a real
//! feed parser (`support/feed_check.py`: feedparser, and xmllint against the OASIS schema), and
//! e-mail to a real SMTP server (`support/smtp_server.py`: aiosmtpd, with STARTTLS and a login).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{Names, broker, create_topics, http_get, output_ok, produce, vigil, wait_for};

/// Every test starts processes and a broker client: one at a time on a 2-core machine.
static SERIAL: Mutex<()> = Mutex::new(());

/// An alert record as the pipeline publishes it.
fn record(id: &str, region: &str, signal: &str, severity: &str, status: &str) -> String {
    json!({
        "alert_id": id, "status": status, "rule": "abduction_cluster",
        "severity": severity, "region": region, "signal": signal,
        "window": {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        "observed": {"reports": 3, "distinct_sources": 2, "casualties": {"killed": 0,
            "injured": 0, "abducted": 5, "missing": 0, "displaced": 0, "sexual_violence": 0},
            "score": 1.0, "value": 3.0},
        "threshold": 3.0, "risk_factors": ["RF9"],
        "evidence": {"report_ids": ["r-1", "r-2"], "indicators": ["9.1"]},
        "first_seen": "2026-03-06T00:00:00Z", "updated_at": "2026-03-06T00:00:00Z",
        "summary": format!("Alert {id}.")
    })
    .to_string()
}

struct Setup {
    names: Names,
    cfg: PathBuf,
    silences: String,
}

impl Setup {
    fn new(test: &str, dir: &Path, subscribers: &str) -> Setup {
        let names = Names::new(test);
        create_topics(broker(), &names);
        let cfg = dir.join("config");
        std::fs::create_dir_all(&cfg).unwrap();
        for f in ["vigil.toml", "taxonomy.toml", "rules.toml"] {
            std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
        }
        std::fs::write(cfg.join("subscribers.toml"), subscribers).unwrap();
        Setup {
            silences: format!("{}-silences", names.group),
            names,
            cfg,
        }
    }

    fn vigil(&self) -> Command {
        let mut c = vigil(broker(), &self.names);
        c.env("VIGIL_CONFIG_DIR", &self.cfg)
            .env(
                "VIGIL__DELIVERY__GROUP_ID",
                format!("{}-deliver", self.names.group),
            )
            .env(
                "VIGIL__DELIVERY__RETRY_TOPIC",
                format!("{}-retry", self.names.group),
            )
            .env(
                "VIGIL__DELIVERY__DLQ_TOPIC",
                format!("{}-ddlq", self.names.group),
            )
            .env("VIGIL__DELIVERY__SILENCES_TOPIC", &self.silences)
            .env("VIGIL__DELIVERY__COMMIT_INTERVAL_MS", "50");
        c
    }

    fn produce(&self, records: &[String]) {
        let batch: Vec<(Option<&str>, Vec<u8>)> = records
            .iter()
            .map(|r| (None, r.as_bytes().to_vec()))
            .collect();
        produce(broker(), &self.names.alerts, &batch);
    }
}

/// `vigil deliver` with its HTTP address (read from its log).
struct Deliverer {
    child: Child,
    addr: String,
}

impl Deliverer {
    fn start(mut cmd: Command) -> Deliverer {
        let mut child = cmd
            .arg("deliver")
            .env("VIGIL__LOG__LEVEL", "info")
            .env("VIGIL__LOG__FORMAT", "json")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("vigil deliver");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("vigil deliver logs its HTTP address");
        Deliverer { child, addr }
    }

    fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = http_get(&self.addr, "/metrics")?;
        body.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }
}

impl Drop for Deliverer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The alert ids the receiver took on `path` (2xx), from webhook bodies or Alertmanager
/// payloads, and how many requests reached it.
fn alert_ids(receiver: &Receiver, path: &str) -> (BTreeSet<String>, usize) {
    let mut ids = BTreeSet::new();
    let mut requests = 0;
    for s in receiver.seen() {
        if s["path"] != path || !(200..300).contains(&s["status"].as_u64().unwrap_or(0)) {
            continue;
        }
        requests += 1;
        let body: Value = serde_json::from_str(s["body"].as_str().unwrap_or("{}")).unwrap();
        if let Some(alerts) = body["alerts"].as_array() {
            for a in alerts {
                ids.insert(a["annotations"]["alert_id"].as_str().unwrap().to_string());
            }
        } else if let Some(id) = body["alert_id"].as_str() {
            ids.insert(id.to_string());
        }
    }
    (ids, requests)
}

#[test]
fn silences_inhibition_and_grouping_decide_what_is_sent() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start("unused");
    let s = Setup::new(
        "routing",
        dir.path(),
        &format!(
            r#"
[[subscriber]]
name = "hook"
kind = "webhook"
url = "{}"

[[subscriber]]
name = "chat"
kind = "alertmanager"
url = "{}"
group_by = ["signal"]
group_wait = "2s"
group_interval = "2s"
repeat_interval = "1h"
"#,
            receiver.url("/ok/hook"),
            receiver.url("/ok/chat")
        ),
    );
    // A silence on ML-* before anything is delivered, through the command analysts use.
    let out = output_ok(
        s.vigil().args([
            "silence",
            "add",
            "--region",
            "ML-*",
            "--duration",
            "2h",
            "--author",
            "analyst-7",
            "--reason",
            "known siege, being handled",
        ]),
        "silence add",
    );
    let silence_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(silence_id.len(), 36, "a UUID: {silence_id}");

    // A crisis in twenty regions, an open critical with a watch notice under it, and a
    // silenced region.
    let mut records: Vec<String> = (0..20)
        .map(|r| {
            record(
                &format!("r{r}"),
                &format!("XX-{r}"),
                "threat:abduction",
                "warning",
                "firing",
            )
        })
        .collect();
    records.push(record(
        "inhibited",
        "NG-BO",
        "threat:abduction",
        "watch",
        "firing",
    ));
    records.push(record(
        "other-signal",
        "NG-BO",
        "threat:siege",
        "watch",
        "firing",
    ));
    records.push(record(
        "silenced",
        "ML-MO",
        "threat:siege",
        "warning",
        "firing",
    ));
    // The critical first, and delivered, before the rest: records of different alerts sit on
    // different partitions, so only a critical already read holds a watch notice back.
    s.produce(&[record(
        "crit",
        "NG-BO",
        "threat:abduction",
        "critical",
        "firing",
    )]);
    let d = Deliverer::start(s.vigil());
    assert!(wait_for(Duration::from_secs(60), || {
        alert_ids(&receiver, "/ok/hook").0.contains("crit")
            && alert_ids(&receiver, "/ok/chat").0.contains("crit")
    }));
    s.produce(&records);

    let mut want: BTreeSet<String> = (0..20).map(|r| format!("r{r}")).collect();
    want.extend(["crit".to_string(), "other-signal".to_string()]);
    assert!(
        wait_for(Duration::from_secs(60), || {
            alert_ids(&receiver, "/ok/hook").0 == want && alert_ids(&receiver, "/ok/chat").0 == want
        }),
        "hook {:?}, chat {:?}",
        alert_ids(&receiver, "/ok/hook"),
        alert_ids(&receiver, "/ok/chat")
    );
    // Grouped by signal: after the critical's own notification, two (abduction, siege), not
    // twenty-two.
    let (_, chat_requests) = alert_ids(&receiver, "/ok/chat");
    assert_eq!(chat_requests, 3);
    assert_eq!(alert_ids(&receiver, "/ok/hook").1, 22);
    // Held back, and counted.
    for sub in ["hook", "chat"] {
        assert!(
            wait_for(Duration::from_secs(10), || {
                d.metric(&format!(
                    "vigil_delivery_silenced_total{{subscriber=\"{sub}\"}}"
                )) == Some(1.0)
                    && d.metric(&format!(
                        "vigil_delivery_inhibited_total{{subscriber=\"{sub}\"}}"
                    )) == Some(1.0)
            }),
            "{sub}: silenced and inhibited counted once each"
        );
    }
    assert_eq!(
        d.metric("vigil_deliveries_total{outcome=\"delivered\",subscriber=\"hook\"}"),
        Some(22.0)
    );

    // The silence is listed, then expired by the analyst: a later ML-MO record goes out.
    let listed = output_ok(
        s.vigil().args(["silence", "list", "--json"]),
        "silence list",
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["id"], silence_id.as_str());
    assert_eq!(listed["created_by"], "analyst-7");
    output_ok(
        s.vigil()
            .args(["silence", "expire", &silence_id, "--author", "analyst-2"]),
        "silence expire",
    );
    let ended = output_ok(
        s.vigil().args(["silence", "list", "--json"]),
        "silence list",
    );
    assert!(ended.stdout.is_empty(), "no silence in force");
    // The deliverer follows the silences topic: wait until it has the expiry, by an alert.
    s.produce(&[record(
        "after-expiry",
        "ML-MO",
        "threat:siege",
        "warning",
        "firing",
    )]);
    assert!(
        wait_for(Duration::from_secs(30), || alert_ids(&receiver, "/ok/hook")
            .0
            .contains("after-expiry")),
        "a record after the silence expired is delivered"
    );
    let (hook, _) = alert_ids(&receiver, "/ok/hook");
    assert!(!hook.contains("silenced") && !hook.contains("inhibited"));
}

#[test]
fn the_cap_feed_is_atom_read_by_a_real_parser_and_every_message_is_valid_cap() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let s = Setup::new(
        "capfeed",
        dir.path(),
        "[[subscriber]]\nname = \"public\"\nkind = \"cap_feed\"\nmin_severity = \"warning\"\nlanguages = [\"fr\", \"ar\"]\n",
    );
    let mut records: Vec<String> = (0..5)
        .map(|r| {
            record(
                &format!("w{r}"),
                &format!("XX-{r}"),
                "threat:abduction",
                "warning",
                "firing",
            )
        })
        .collect();
    records.push(record(
        "quiet",
        "XX-9",
        "threat:abduction",
        "watch",
        "firing",
    ));
    records.push(record(
        "crit",
        "NG-BO",
        "threat:abduction",
        "critical",
        "firing",
    ));
    s.produce(&records);
    let mut cmd = s.vigil();
    cmd.env("VIGIL__CAP__SENDER", "ews@region.invalid")
        .env("VIGIL__CAP__STATUS", "Exercise")
        .env("VIGIL__CAP__SCOPE", "Public")
        .env("VIGIL__CAP__EXPIRES_HOURS", "6");
    let d = Deliverer::start(cmd);
    let url = format!("http://{}/cap/public.atom", d.addr);
    let xsd = std::env::var("VIGIL_CAP_XSD")
        .unwrap_or_else(|_| "../shared/standards/cap-1.2.xsd".to_string());
    let check = || {
        Command::new("python3")
            .arg("tests/support/feed_check.py")
            .arg(&url)
            .arg(&xsd)
            .output()
            .expect("python3 runs feed_check.py")
    };
    // The feed is built from the topic at start: all six admitted messages are there.
    let mut report = Value::Null;
    assert!(wait_for(Duration::from_secs(30), || {
        let out = check();
        report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        out.status.success() && report["entries"].as_array().is_some_and(|e| e.len() == 6)
    }));
    assert_eq!(report["version"], "atom10");
    let entries = report["entries"].as_array().unwrap();
    for e in entries {
        assert_eq!(e["valid"], true, "{e}");
        assert_eq!(e["status"], "Exercise");
        assert_eq!(e["scope"], "Public");
        assert_eq!(e["sender"], "ews@region.invalid");
        assert_eq!(e["expires"], "2026-03-06T06:00:00-00:00");
        // One info block per language the subscriber reads, in its order (CAP 1.2 allows
        // several); the feed's own summary in its first language.
        assert_eq!(e["languages"], json!(["fr", "ar"]), "{e}");
        let summary = e["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains("a atteint") && summary.contains("enlèvement"),
            "{e}"
        );
    }
    let crit = entries
        .iter()
        .find(|e| e["identifier"].as_str().unwrap().starts_with("crit."))
        .expect("the critical alert is listed");
    assert_eq!(
        crit["areaDesc"],
        json!(["Borno State, Nigeria", "Borno State, Nigeria"])
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["identifier"].as_str().unwrap().starts_with("quiet.")),
        "a watch alert is below the feed's min_severity"
    );
    // A message that is not listed is 404, as is a feed that does not exist.
    assert_eq!(
        http_get(&d.addr, "/cap/messages/nope.xml").map(|r| r.0),
        Some(404)
    );
    assert_eq!(http_get(&d.addr, "/cap/other.atom").map(|r| r.0), Some(404));
    // A record that arrives later is followed into the feed.
    s.produce(&[record("late", "XX-7", "threat:siege", "critical", "firing")]);
    assert!(wait_for(Duration::from_secs(30), || {
        let out = check();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v["entries"].as_array().is_some_and(|e| e.len() == 7)
    }));
}

/// The SMTP server: its port and the messages it accepted.
struct Smtp {
    child: Child,
    port: u16,
    messages: Arc<Mutex<Vec<Value>>>,
}

impl Smtp {
    fn start(args: &[&str]) -> Smtp {
        let mut child = Command::new("python3")
            .arg("tests/support/smtp_server.py")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs smtp_server.py");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let port: u16 = lines
            .next()
            .and_then(Result::ok)
            .and_then(|l| l.trim().parse().ok())
            .expect("the SMTP server prints its port");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&messages);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Smtp {
            child,
            port,
            messages,
        }
    }

    fn messages(&self) -> Vec<Value> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn email_goes_one_message_per_group_over_starttls_with_a_login() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    output_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args([
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]),
        "openssl",
    );
    let smtp = Smtp::start(&[
        "--starttls",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        "--auth",
        "vigil-mailer",
        "mail-secret",
    ]);
    let s = Setup::new(
        "email",
        dir.path(),
        r#"
[[subscriber]]
name = "focal-point"
kind = "email"
to = ["focal.point@example.org", "desk@example.org"]
regions = ["NG-*"]
languages = ["fr"]
group_by = ["region"]
group_wait = "2s"
"#,
    );
    let mut records = Vec::new();
    for (region, n) in [("NG-BO", 3), ("NG-YO", 2)] {
        for k in 0..n {
            records.push(record(
                &format!("{region}-{k}"),
                region,
                "threat:abduction",
                "warning",
                "firing",
            ));
        }
    }
    records.push(record(
        "elsewhere",
        "ML-MO",
        "threat:abduction",
        "warning",
        "firing",
    ));
    s.produce(&records);
    let mut cmd = s.vigil();
    cmd.env("VIGIL__DELIVERY__SMTP__HOST", "127.0.0.1")
        .env("VIGIL__DELIVERY__SMTP__PORT", smtp.port.to_string())
        .env("VIGIL__DELIVERY__SMTP__TLS", "starttls")
        .env("VIGIL__DELIVERY__SMTP__FROM", "vigil@desk.example.org")
        .env("VIGIL__DELIVERY__SMTP__CA_FILE", &cert)
        .env("VIGIL__DELIVERY__SMTP__USERNAME_ENV", "TEST_SMTP_USER")
        .env("VIGIL__DELIVERY__SMTP__PASSWORD_ENV", "TEST_SMTP_PASSWORD")
        .env("TEST_SMTP_USER", "vigil-mailer")
        .env("TEST_SMTP_PASSWORD", "mail-secret");
    let d = Deliverer::start(cmd);
    assert!(
        wait_for(Duration::from_secs(60), || smtp.messages().len() >= 2),
        "two messages, one per NG region: {:?}",
        smtp.messages()
    );
    assert!(wait_for(Duration::from_secs(10), || d.metric(
        "vigil_deliveries_total{outcome=\"delivered\",subscriber=\"focal-point\"}"
    ) == Some(2.0)));
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let mut seen = BTreeSet::new();
    for m in &messages {
        assert_eq!(m["tls"], true);
        assert_eq!(m["auth"], "vigil-mailer");
        assert_eq!(m["mail_from"], "vigil@desk.example.org");
        assert_eq!(
            m["rcpt_tos"],
            json!(["focal.point@example.org", "desk@example.org"])
        );
        assert_eq!(m["content_type"], "text/plain");
        let subject = m["subject"].as_str().unwrap();
        assert!(
            subject.contains("alerte(s) ouverte(s)"),
            "in French: {subject}"
        );
        let body = m["body"].as_str().unwrap();
        for line in body.lines() {
            if let Some(id) = line.trim().strip_prefix("alert_id: ") {
                seen.insert(id.to_string());
            }
        }
    }
    let want: BTreeSet<String> = ["NG-BO-0", "NG-BO-1", "NG-BO-2", "NG-YO-0", "NG-YO-1"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(seen, want, "every NG alert, none from elsewhere");
}
