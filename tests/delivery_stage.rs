//! The delivery stage (`vigil deliver`) on a real Kafka broker, to a real HTTP receiver
//! (`support/receiver.py`, Python's own `http.server` and `hmac`): every alert record reaches
//! every subscriber whose filters admit it, through failures and retries, and nothing reaches a
//! subscriber whose filters exclude it; refused deliveries land in the delivery DLQ. Then the
//! same with the deliverer SIGKILLed at random moments: at least once, repeats with the same
//! `Vigil-Delivery-Id`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use serde_json::Value;
use support::receiver::Receiver;
use support::{Names, broker, create_topics, produce, vigil, wait_for};
use vigil::delivery::signature::delivery_id;

/// Both tests start processes and a receiver: one at a time on a 2-core machine.
static SERIAL: Mutex<()> = Mutex::new(());

const KEY: &str = "delivery-stage-key";

/// The demo's alert records, as `vigil backtest` writes them (the bytes `vigil.alerts` holds).
fn demo_records() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.jsonl");
    let generated = support::output_ok(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["gen", "--demo"]),
        "gen",
    );
    std::fs::write(&demo, generated.stdout).unwrap();
    let out = support::output_ok(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("backtest")
            .arg(&demo),
        "backtest",
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// A configuration directory with the shipped files and these subscribers.
fn config_with(dir: &Path, receiver: &Receiver) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for f in ["vigil.toml", "taxonomy.toml", "rules.toml"] {
        std::fs::copy(Path::new("config").join(f), cfg.join(f)).unwrap();
    }
    let url = |path: &str| receiver.url(path);
    std::fs::write(
        cfg.join("subscribers.toml"),
        format!(
            r#"
[[subscriber]]
name = "all"
kind = "webhook"
url = "{}"
secret_env = "VIGIL_TEST_DELIVERY_KEY"

[[subscriber]]
name = "ng-critical"
kind = "webhook"
url = "{}"
regions = ["NG-*"]
min_severity = "critical"

[[subscriber]]
name = "resolved-gone"
kind = "webhook"
url = "{}"
statuses = ["resolved"]
"#,
            url("/slow-flaky"),
            url("/ok"),
            url("/gone")
        ),
    )
    .unwrap();
    cfg
}

struct Setup {
    names: Names,
    cfg: PathBuf,
    records: Vec<String>,
    retry: String,
    dlq: String,
    group: String,
}

fn setup(test: &str, dir: &Path, receiver: &Receiver) -> Setup {
    let names = Names::new(test);
    create_topics(broker(), &names);
    let records = demo_records();
    assert!(records.len() > 50);
    let batch: Vec<(Option<&str>, Vec<u8>)> = records
        .iter()
        .map(|r| (None, r.as_bytes().to_vec()))
        .collect();
    produce(broker(), &names.alerts, &batch);
    Setup {
        retry: format!("{}-retry", names.group),
        dlq: format!("{}-delivery-dlq", names.group),
        group: format!("{}-deliver", names.group),
        cfg: config_with(dir, receiver),
        names,
        records,
    }
}

fn spawn_deliver(s: &Setup) -> Child {
    spawn_instance(s, "0")
}

/// A deliverer with its own static-membership id (`kafka.instance_id`).
fn spawn_instance(s: &Setup, instance: &str) -> Child {
    vigil(broker(), &s.names)
        .arg("deliver")
        .env("VIGIL__KAFKA__INSTANCE_ID", instance)
        .env("VIGIL_CONFIG_DIR", &s.cfg)
        .env("VIGIL_TEST_DELIVERY_KEY", KEY)
        .env("VIGIL__DELIVERY__GROUP_ID", &s.group)
        .env("VIGIL__DELIVERY__RETRY_TOPIC", &s.retry)
        .env("VIGIL__DELIVERY__DLQ_TOPIC", &s.dlq)
        .env(
            "VIGIL__DELIVERY__SILENCES_TOPIC",
            format!("{}-silences", s.group),
        )
        // Every record to every admitting subscriber: inhibition is proven in delivery_routing.rs.
        .env("VIGIL__DELIVERY__INHIBIT_WATCH_UNDER_CRITICAL", "false")
        .env("VIGIL__DELIVERY__INITIAL_BACKOFF_MS", "50")
        .env("VIGIL__DELIVERY__MAX_BACKOFF_SECS", "1")
        // One attempt at a time per subscriber and frequent commits: a kill finds deliveries
        // queued behind committed offsets, if the stage ever committed past them.
        .env("VIGIL__DELIVERY__MAX_IN_FLIGHT", "1")
        .env("VIGIL__DELIVERY__COMMIT_INTERVAL_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vigil deliver")
}

/// The delivery ids each subscriber must receive, by the path its URL has.
fn expected(s: &Setup) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for r in &s.records {
        let v: Value = serde_json::from_str(r).unwrap();
        let id = |name: &str| delivery_id(name, r.as_bytes()).to_string();
        out.entry("/slow-flaky").or_default().insert(id("all"));
        if v["region"].as_str().unwrap().starts_with("NG-") && v["severity"] == "critical" {
            out.entry("/ok").or_default().insert(id("ng-critical"));
        }
        if v["status"] == "resolved" {
            out.entry("/gone").or_default().insert(id("resolved-gone"));
        }
    }
    out
}

/// Delivery ids the receiver took (answered 2xx, or 410 for `/gone`: refused, and final), by
/// path.
fn taken(receiver: &Receiver) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in receiver.seen() {
        let status = s["status"].as_u64().unwrap_or(0);
        if (200..300).contains(&status) || status == 410 {
            out.entry(s["path"].as_str().unwrap().to_string())
                .or_default()
                .insert(s["delivery_id"].as_str().unwrap().to_string());
        }
    }
    out
}

fn dlq_count(s: &Setup, want: usize) -> Vec<(String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("group.id", format!("{}-reader", s.group))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[&s.dlq]).unwrap();
    let mut out = Vec::new();
    wait_for(Duration::from_secs(60), || {
        while let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let header = |name: &str| {
                m.headers()
                    .and_then(|h| h.iter().find(|h| h.key == name))
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default()
            };
            out.push((header("vigil.subscriber"), header("vigil.reason")));
        }
        out.len() >= want
    });
    out
}

fn check(s: &Setup, receiver: &Receiver) {
    let expected = expected(s);
    let done = wait_for(Duration::from_secs(120), || {
        let t = taken(receiver);
        expected
            .iter()
            .all(|(path, ids)| t.get(*path).is_some_and(|got| got.is_superset(ids)))
    });
    let t = taken(receiver);
    assert!(
        done,
        "not every delivery arrived: {:?}",
        expected
            .iter()
            .map(|(p, ids)| (p, ids.len(), t.get(*p).map_or(0, BTreeSet::len)))
            .collect::<Vec<_>>()
    );
    // Nothing beyond what the filters admit, and every signed request verifies.
    for (path, ids) in &t {
        assert!(
            ids.is_subset(&expected[path.as_str()]),
            "{path}: a delivery its filters exclude"
        );
    }
    for seen in receiver.seen() {
        let signed = seen["path"] == "/slow-flaky";
        assert_eq!(
            seen["signature_ok"],
            if signed {
                Value::Bool(true)
            } else {
                Value::Null
            }
        );
    }
    // Every refused delivery is in the delivery DLQ, with its subscriber and reason.
    let dead = dlq_count(s, expected["/gone"].len());
    assert!(dead.len() >= expected["/gone"].len());
    assert!(
        dead.iter()
            .all(|(sub, reason)| sub == "resolved-gone" && reason == "status 410"),
        "{dead:?}"
    );
}

#[test]
fn every_alert_reaches_every_subscriber_its_filters_admit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(KEY);
    let s = setup("deliver", dir.path(), &receiver);
    let mut deliver = spawn_deliver(&s);
    check(&s, &receiver);
    let _ = deliver.kill();
    let _ = deliver.wait();
}

#[test]
fn sigkill_at_random_moments_loses_no_delivery() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(KEY);
    let s = setup("deliver-kill", dir.path(), &receiver);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for _ in 0..10 {
        let mut deliver = spawn_deliver(&s);
        // Killed after a random number of further requests reached the receiver: mid-delivery,
        // with attempts queued, in flight and waiting in the retry topic.
        let target = receiver.seen().len() + rng.random_range(1..25);
        wait_for(Duration::from_secs(20), || receiver.seen().len() >= target);
        deliver.kill().expect("SIGKILL");
        let _ = deliver.wait();
    }
    let mut deliver = spawn_deliver(&s);
    check(&s, &receiver);
    let _ = deliver.kill();
    let _ = deliver.wait();
}

#[test]
fn two_deliverers_share_the_work_and_one_killed_loses_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(KEY);
    let s = setup("deliver-pair", dir.path(), &receiver);
    let mut a = spawn_instance(&s, "a");
    let mut b = spawn_instance(&s, "b");
    // Mid-delivery, one of the two dies: its partitions move to the other at the rebalance
    // (after its session times out), which delivers what the dead one had not finished.
    let target = receiver.seen().len() + 40;
    wait_for(Duration::from_secs(30), || receiver.seen().len() >= target);
    a.kill().expect("SIGKILL");
    let _ = a.wait();
    check(&s, &receiver);
    let _ = b.kill();
    let _ = b.wait();
}
