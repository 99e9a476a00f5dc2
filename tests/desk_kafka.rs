//! The desk on a real Kafka broker, as `vigil run` runs it: the demo's alert records, tags and
//! texts read into its store; reviews written through the API; the desk SIGKILLed right after
//! its last review was acknowledged and restarted on the same store (it resumes from its
//! offsets: every review once, none lost, none doubled); then its store deleted and rebuilt
//! from the topics, answering exactly as before. A report erased on request is gone from the
//! store's file and never read again, by a store rebuilt from the topics either.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    Names, broker, config_with_tokens, create_topics, demo_file, output_ok, read_all, replay_file,
    vigil, with_desk,
};

const TOKEN: &str = "desk-test-analyst-token";

struct Desk {
    child: Child,
    base: String,
}

impl Desk {
    fn start(bootstrap: &str, names: &Names, config: &Path, store: &Path) -> Desk {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = vigil(bootstrap, names);
        cmd.args(["run", "--config-dir"])
            .arg(config)
            .env("VIGIL__HTTP__LISTEN", format!("127.0.0.1:{port}"))
            .env("VIGIL__DESK__PICTURE_CACHE_MS", "0")
            .env("VIGIL__DELIVERY__ENABLED", "false")
            .stdout(Stdio::null());
        let child = with_desk(&mut cmd, names, store).spawn().unwrap();
        Desk {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn get(&self, path: &str) -> Option<Value> {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .ok()?;
        if r.status() != 200 {
            return None;
        }
        serde_json::from_slice(&r.bytes().await.ok()?).ok()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    /// Polls `path` until `done` holds of the answer (60 s at most); returns the answer.
    async fn until(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Some(v) = self.get(path).await {
                if done(&v) {
                    return v;
                }
                last = v;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{what}: not reached; last answer {last}");
    }

    fn kill(mut self, signal: &str) {
        Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap();
    }
}

fn records_in(alerts: &Value) -> usize {
    alerts["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["records"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0)
}

fn reviews_in(alerts: &Value) -> Vec<String> {
    let mut ids: Vec<String> = alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["reviews"].as_array().cloned().unwrap_or_default())
        .map(|r| r["review_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(v: &Value, list: &str) -> Vec<String> {
    let mut all: Vec<String> = v[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(Value::to_string)
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_resumes_after_a_kill_and_rebuilds_the_same_answers_from_kafka() {
    let bootstrap = broker();
    let names = Names::new("desk");
    let dir = tempfile::tempdir().unwrap();
    // The shipped configuration, with one analyst token.
    let config = config_with_tokens(dir.path(), &[("ana", "analyst", "[\"*\"]", TOKEN)]);
    let demo = demo_file(dir.path());
    let expected = output_ok(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("backtest")
            .arg(&demo)
            .current_dir(env!("CARGO_MANIFEST_DIR")),
        "vigil backtest",
    );
    let alert_records = String::from_utf8_lossy(&expected.stdout).lines().count();
    assert!(alert_records > 20);
    create_topics(bootstrap, &names);
    replay_file(bootstrap, &names, &demo);

    let store = dir.path().join("desk.sqlite");
    let all = "/api/v1/alerts?limit=500";
    let desk = Desk::start(bootstrap, &names, &config, &store);
    let before = desk
        .until(all, "every alert record in the store", |v| {
            records_in(v) == alert_records
        })
        .await;
    // Five reviews on five episodes, one silence; the desk killed as soon as the last is
    // acknowledged (its reviews-topic offsets may not have moved yet).
    let episodes: Vec<String> = before["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|e| e["alert_id"].as_str().unwrap().to_string())
        .collect();
    let mut made = Vec::new();
    desk.post(
        "/api/v1/silences",
        json!({"regions": ["NG-BO"], "hours": 2, "comment": "desk test"}),
    )
    .await;
    for (i, id) in episodes.iter().enumerate() {
        let verdict = ["acknowledged", "confirmed", "false_alarm"][i % 3];
        let r = desk
            .post(
                &format!("/api/v1/alerts/{id}/reviews"),
                json!({"verdict": verdict, "note": format!("review {i}")}),
            )
            .await;
        made.push(r["review_id"].as_str().unwrap().to_string());
    }
    made.sort();
    desk.kill("-KILL");

    // Restarted on its store: every review exactly once, in the episodes and the audit trail.
    let desk = Desk::start(bootstrap, &names, &config, &store);
    let resumed = desk
        .until(all, "the reviews after a restart", |v| {
            reviews_in(v) == made
        })
        .await;
    assert_eq!(
        records_in(&resumed),
        alert_records,
        "no alert record lost or doubled"
    );
    let audit = desk
        .until("/api/v1/audit?limit=500", "the audit trail", |v| {
            v["entries"].as_array().is_some_and(|e| e.len() >= 6)
        })
        .await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 6, "{audit}");
    let regions = desk.get("/api/v1/regions").await.unwrap();
    let profile = desk.get("/api/v1/regions/NG-BO/profile").await.unwrap();
    assert!(
        profile["risk_factors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["windows"]["7d"]["reports"].as_u64() > Some(0))
    );
    desk.kill("-TERM");

    // The store deleted: rebuilt from the topics, the same answers.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
    }
    let desk = Desk::start(bootstrap, &names, &config, &store);
    let rebuilt = desk
        .until(all, "the rebuilt store", |v| {
            records_in(v) == alert_records && reviews_in(v) == made
        })
        .await;
    assert_eq!(rebuilt, resumed, "the same episodes, records and reviews");
    let rebuilt_audit = desk
        .until("/api/v1/audit?limit=500", "the rebuilt audit trail", |v| {
            v["entries"].as_array().is_some_and(|e| e.len() >= 6)
        })
        .await;
    assert_eq!(sorted(&rebuilt_audit, "entries"), sorted(&audit, "entries"));
    let rebuilt_regions = desk
        .until("/api/v1/regions", "the rebuilt regions", |v| v == &regions)
        .await;
    assert_eq!(rebuilt_regions, regions);
    assert_eq!(
        desk.get("/api/v1/regions/NG-BO/profile").await.unwrap(),
        profile
    );
    desk.kill("-TERM");
}

const ADMIN: &str = "desk-test-admin-token";

async fn call(base: &str, method: &str, path: &str, token: &str) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let request = if method == "POST" {
        client.post(url)
    } else {
        client.get(url)
    };
    let r = request
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// The first report of `demo` whose text no other line carries, and another report's id.
fn unique_report(demo: &Path) -> (String, String, String) {
    let lines: Vec<Value> = std::fs::read_to_string(demo)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let text_of = |v: &Value| v["text"].as_str().unwrap_or_default().to_string();
    let chosen = lines
        .iter()
        .find(|v| {
            let t = text_of(v);
            t.len() > 40 && lines.iter().filter(|o| text_of(o) == t).count() == 1
        })
        .expect("a report with a text of its own");
    let other = lines
        .iter()
        .find(|v| v["id"] != chosen["id"] && text_of(v).len() > 40)
        .expect("another report");
    (
        chosen["id"].as_str().unwrap().to_string(),
        text_of(chosen),
        other["id"].as_str().unwrap().to_string(),
    )
}

fn file_holds(store: &Path, needle: &str) -> bool {
    ["", "-wal"].iter().any(|suffix| {
        std::fs::read(format!("{}{suffix}", store.display()))
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_report_leaves_the_store_file_and_is_never_read_again() {
    let bootstrap = broker();
    let names = Names::new("erase");
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_tokens(
        dir.path(),
        &[
            ("ana", "analyst", "[\"*\"]", TOKEN),
            ("root", "admin", "[\"*\"]", ADMIN),
        ],
    );
    let demo = demo_file(dir.path());
    let (id, text, other) = unique_report(&demo);
    create_topics(bootstrap, &names);
    replay_file(bootstrap, &names, &demo);
    let report = format!("/api/v1/reports/{id}");
    let has_text = |v: &Value| v["text"].as_str().is_some();

    let store = dir.path().join("desk.sqlite");
    let desk = Desk::start(bootstrap, &names, &config, &store);
    desk.until(&report, "the report's text in the store", has_text)
        .await;
    assert!(file_holds(&store, &text), "the text was stored");

    // Analysts may read text but not erase it.
    let erase = format!("/api/v1/reports/{id}/erase");
    let (status, _) = call(&desk.base, "POST", &erase, TOKEN).await;
    assert_eq!(status, 403);
    // An id the input could never have accepted (a line break: a forged log line) is refused.
    let (status, _) = call(
        &desk.base,
        "POST",
        "/api/v1/reports/x%0d%0aforged/erase",
        ADMIN,
    )
    .await;
    assert_eq!(status, 400);
    let (status, erasure) = call(&desk.base, "POST", &erase, ADMIN).await;
    assert_eq!(status, 200, "{erasure}");
    assert_eq!(erasure["report_id"], id.as_str());
    assert_eq!(erasure["by"], "root");
    let (status, after) = call(&desk.base, "GET", &report, TOKEN).await;
    assert!(status == 404 || after["text"].is_null(), "{after}");
    // Gone from the file and its write-ahead log while the desk still runs.
    assert!(
        !file_holds(&store, &text),
        "the erased text is still in the running store's files"
    );
    desk.kill("-TERM");
    assert!(
        !file_holds(&store, &text),
        "the erased text is still in the store file"
    );

    // On the erasures topic, keyed by the report id.
    let records = read_all(bootstrap, &format!("{}-erasures", names.input));
    assert!(
        records
            .iter()
            .any(|(k, _, _)| k.as_deref() == Some(id.as_bytes())),
        "no erasure record for {id}"
    );

    // A store rebuilt from the topics (the input topic still holds the report) never takes it.
    let rebuilt = dir.path().join("rebuilt.sqlite");
    let desk = Desk::start(bootstrap, &names, &config, &rebuilt);
    desk.until(
        &format!("/api/v1/reports/{other}"),
        "another report's text",
        has_text,
    )
    .await;
    let (status, again) = call(&desk.base, "GET", &report, TOKEN).await;
    assert!(status == 404 || again["text"].is_null(), "{again}");
    desk.kill("-TERM");
    assert!(
        !file_holds(&rebuilt, &text),
        "the rebuilt store took the erased text"
    );
}
