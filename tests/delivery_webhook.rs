//! One delivery attempt against a real HTTP receiver on 127.0.0.1 (`support/receiver.py`,
//! Python's own `http.server` and `hmac`, independent of Vigil's code): the contract's headers,
//! the signature checked by the receiver, the stable delivery id across attempts, the
//! Alertmanager body, and the verdict on each kind of answer (2xx, 5xx then 2xx, 429 with
//! Retry-After, 410, a receiver that hangs, one that is down).

mod support;

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use support::receiver::Receiver;
use vigil::delivery::retry::Verdict;
use vigil::delivery::signature::delivery_id;
use vigil::delivery::subscriber::Subscriber;
use vigil::delivery::webhook::{attempt, body, client};
use vigil::input::generator::{GenOptions, generate};

const KEY: &str = "receiver-test-key";

fn subscriber(kind: &str, url: &str) -> Subscriber {
    toml::from_str(&format!(
        "name = \"desk\"\nkind = \"{kind}\"\nurl = \"{url}\""
    ))
    .expect("a subscriber")
}

/// An alert record as `vigil.alerts` holds it: the first of the demo's backtest.
fn record() -> Vec<u8> {
    let mut engine = vigil::config::load(std::path::Path::new("config"))
        .expect("config")
        .engine()
        .expect("engine");
    let alert = generate(&GenOptions::demo())
        .flat_map(|l| engine.process_alerts(l.as_bytes(), None))
        .next()
        .expect("the demo alerts");
    serde_json::to_vec(&alert).expect("JSON")
}

async fn send(sub: &Subscriber, key: Option<&str>, timeout: Duration) -> Verdict {
    let record = record();
    let body = body(sub, &record).expect("a body");
    let client = client(timeout).expect("a client");
    attempt(
        &client,
        sub,
        key.map(str::as_bytes),
        &delivery_id(&sub.name, &record).to_string(),
        body,
        Utc::now(),
    )
    .await
}

#[tokio::test]
async fn a_signed_webhook_is_verified_by_the_receiver_and_keeps_its_id_across_attempts() {
    let r = Receiver::start(KEY);
    let ok = subscriber("webhook", &r.url("/ok"));
    assert_eq!(
        send(&ok, Some(KEY), Duration::from_secs(5)).await,
        Verdict::Delivered
    );
    // Fails twice, then takes it: every attempt carries the same delivery id.
    let flaky = subscriber("webhook", &r.url("/fail/2"));
    for _ in 0..2 {
        assert!(matches!(
            send(&flaky, Some(KEY), Duration::from_secs(5)).await,
            Verdict::Retry { after: None, .. }
        ));
    }
    assert_eq!(
        send(&flaky, Some(KEY), Duration::from_secs(5)).await,
        Verdict::Delivered
    );
    // Unsigned when no key is configured.
    assert_eq!(
        send(&ok, None, Duration::from_secs(5)).await,
        Verdict::Delivered
    );

    let seen = r.seen();
    assert_eq!(seen.len(), 5);
    let id = delivery_id("desk", &record()).to_string();
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s["delivery_id"], id.as_str(), "request {i}");
        assert_eq!(s["content_type"], "application/json");
        // The body is the alert record itself.
        assert_eq!(s["body"].as_str().unwrap().as_bytes(), record().as_slice());
    }
    let signed: Vec<&Value> = seen.iter().map(|s| &s["signature_ok"]).collect();
    assert_eq!(
        signed,
        [&Value::Bool(true); 4]
            .iter()
            .copied()
            .chain([&Value::Null])
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_signature_under_another_key_fails_the_receivers_check() {
    let r = Receiver::start(KEY);
    let ok = subscriber("webhook", &r.url("/ok"));
    send(&ok, Some("not-the-receivers-key"), Duration::from_secs(5)).await;
    assert_eq!(r.seen()[0]["signature_ok"], false);
}

#[tokio::test]
async fn an_alertmanager_subscriber_gets_the_version_4_payload() {
    let r = Receiver::start(KEY);
    let am = subscriber("alertmanager", &r.url("/ok"));
    assert_eq!(
        send(&am, None, Duration::from_secs(5)).await,
        Verdict::Delivered
    );
    let seen = r.seen();
    let payload: Value = serde_json::from_str(seen[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["receiver"], "desk");
    assert_eq!(payload["alerts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn each_kind_of_answer_gets_its_verdict() {
    let r = Receiver::start(KEY);
    let slow_down = subscriber("webhook", &r.url("/slow-down"));
    assert_eq!(
        send(&slow_down, None, Duration::from_secs(5)).await,
        Verdict::Retry {
            after: Some(Duration::from_secs(3)),
            reason: "status 429".into()
        }
    );
    let gone = subscriber("webhook", &r.url("/gone"));
    assert_eq!(
        send(&gone, None, Duration::from_secs(5)).await,
        Verdict::Refused {
            reason: "status 410".into()
        }
    );
    let hang = subscriber("webhook", &r.url("/hang"));
    assert_eq!(
        send(&hang, None, Duration::from_millis(300)).await,
        Verdict::Retry {
            after: None,
            reason: "timed out".into()
        }
    );
    // A port nothing listens on: bound, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/alerts", free.local_addr().unwrap());
    drop(free);
    assert_eq!(
        send(&subscriber("webhook", &down), None, Duration::from_secs(5)).await,
        Verdict::Retry {
            after: None,
            reason: "cannot connect".into()
        }
    );
}
