//! The desk's API on a real HTTP server on 127.0.0.1 with a real client: every endpoint ×
//! every kind of token (none, unknown, viewer, analyst, analyst of another country, admin) ×
//! in and out of scope, table-driven; then what the answers hold for each (scope, report text,
//! reviews counted and audited, the live stream resumed), and the limit on failed logins.
//! Writes go to the store only here (no broker); `tests/desk_kafka.rs` covers them on Kafka.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use vigil::desk::access::{Access, Role, Token};
use vigil::desk::api::{Catalogue, DeskState, Journal, routes};
use vigil::desk::settings::DeskSettings;
use vigil::desk::store::{Read, Source, Store};
use vigil::telemetry::desk::DeskMetrics;

fn record(id: &str, region: &str, status: &str, at: &str) -> Vec<u8> {
    json!({
        "alert_id": id, "status": status, "rule": "abduction_cluster",
        "severity": "critical", "region": region, "signal": "threat:abduction",
        "window": {"start": "2026-03-05T00:00:00Z", "end": "2026-03-06T00:00:00Z"},
        "observed": {"reports": 3, "distinct_sources": 2, "casualties": {"killed": 0,
            "injured": 0, "abducted": 5, "missing": 0, "displaced": 0, "sexual_violence": 0},
            "score": 1.0, "value": 3.0},
        "threshold": 3.0, "risk_factors": ["RF9"],
        "evidence": {"report_ids": ["r-1"], "indicators": ["9.1"]},
        "first_seen": at, "updated_at": at, "summary": "s"
    })
    .to_string()
    .into_bytes()
}

fn tagged(id: &str, region: &str) -> Vec<u8> {
    json!({"id": id, "region": region, "event_time": "2026-03-06T00:00:00Z",
        "threats": ["abduction"], "risk_factors": ["RF9"],
        "tags": [{"code": "RF9", "kind": "risk_factor", "indicator": "9.1", "rule": "lexicon",
            "evidence": [{"field": "text", "start": 0, "end": 6, "phrase": "Gunmen"}], "weight": 1.0}]})
    .to_string()
    .into_bytes()
}

const TEXT: &str = "Gunmen took five people from the market";

fn token(name: &str, role: Role, regions: &[&str]) -> Token {
    Token {
        name: name.into(),
        role,
        regions: regions.iter().map(|s| s.to_string()).collect(),
        sha256: hex::encode(Sha256::digest(format!("{name}-secret").as_bytes())),
    }
}

/// A desk over a store holding NG and ML alerts, tags, text and one NG silence.
async fn serve(failures_per_minute: u32) -> (String, prometheus::Registry) {
    let mut store = Store::in_memory().unwrap();
    let recs = [
        (
            Source::Alerts,
            record("ng-1", "NG-BO", "firing", "2026-03-06T00:00:00Z"),
        ),
        (
            Source::Alerts,
            record("ml-1", "ML-MO", "firing", "2026-03-07T00:00:00Z"),
        ),
        (
            Source::Alerts,
            record("ng-2", "NG-YO", "firing", "2026-03-08T00:00:00Z"),
        ),
        (
            Source::Alerts,
            record("ng-2", "NG-YO", "resolved", "2026-03-09T00:00:00Z"),
        ),
        (Source::Tagged, tagged("r-1", "NG-BO")),
        (Source::Tagged, tagged("r-ml", "ML-MO")),
        (
            Source::Reports,
            json!({"id": "r-1", "region": "NG-BO", "text": TEXT})
                .to_string()
                .into_bytes(),
        ),
        (
            Source::Silences,
            json!({"id": "s-ng", "regions": ["NG-BO"], "starts_at": "2026-11-30T00:00:00Z",
                "ends_at": "2099-01-01T00:00:00Z", "created_by": "bo", "comment": "known"})
            .to_string()
            .into_bytes(),
        ),
    ];
    let batch: Vec<Read> = recs
        .iter()
        .enumerate()
        .map(|(i, (source, v))| Read {
            source: *source,
            topic: "t",
            partition: 0,
            offset: i as i64,
            key: if *source == Source::Silences {
                b"s-ng"
            } else {
                b""
            },
            value: Some(v),
            received_ms: 1_000 * i as i64,
        })
        .collect();
    store.apply(&batch).unwrap();
    let access = Access::new(&[
        token("ng-viewer", Role::Viewer, &["NG-*"]),
        token("ng-analyst", Role::Analyst, &["NG-*"]),
        token("ml-analyst", Role::Analyst, &["ML-*"]),
        token("admin", Role::Admin, &["*"]),
        token("unscoped-admin", Role::Admin, &[]),
    ]);
    let registry = prometheus::Registry::new();
    let metrics =
        DeskMetrics::register(&registry, &["abduction_cluster".into()], &["acknowledged"]).unwrap();
    let settings = DeskSettings {
        max_auth_failures_per_minute: failures_per_minute,
        ..DeskSettings::default()
    };
    let app = routes(DeskState::new(
        Arc::new(Mutex::new(store)),
        Vec::new(),
        access,
        Journal::StoreOnly,
        broadcast::channel(64).0,
        Some(metrics),
        settings,
        Catalogue {
            risk_factors: (1..=14)
                .map(|i| (format!("RF{i}"), format!("factor {i}")))
                .collect(),
            threats: vec!["abduction".into()],
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    (format!("http://{addr}"), registry)
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(
    base: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let client = reqwest::Client::new();
    let mut r = match method {
        "POST" => client.post(format!("{base}{path}")),
        _ => client.get(format!("{base}{path}")),
    };
    if let Some(b) = bearer {
        r = r.header("Authorization", format!("Bearer {b}"));
    }
    if let Some(body) = body {
        r = r
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let answer = r.send().await.unwrap();
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    // The stream never ends: its headers are the answer.
    let body = if path.starts_with("/api/v1/stream") && status == 200 {
        Value::Null
    } else {
        serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap_or(Value::Null)
    };
    Answer {
        status,
        headers,
        body,
    }
}

const BEARERS: [Option<&str>; 6] = [
    None,
    Some("not-a-token"),
    Some("ng-viewer-secret"),
    Some("ng-analyst-secret"),
    Some("ml-analyst-secret"),
    Some("admin-secret"),
];

#[tokio::test]
async fn every_endpoint_answers_every_token_by_role_and_scope() {
    let (base, registry) = serve(0).await;
    let review = json!({"verdict": "acknowledged", "note": "seen"});
    let silence = json!({"regions": ["NG-BO"], "hours": 1, "comment": "known"});
    // (method, path, body, status for: none, unknown, NG viewer, NG analyst, ML analyst, admin;
    // in that order, so the admin finds the silence the NG analyst already expired: 409)
    let table: &[(&str, &str, Option<&Value>, [u16; 6])] = &[
        (
            "GET",
            "/api/v1/whoami",
            None,
            [401, 401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/alerts",
            None,
            [401, 401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/alerts/ng-1/reviews",
            None,
            [401, 401, 200, 200, 404, 200],
        ),
        (
            "POST",
            "/api/v1/alerts/ng-1/reviews",
            Some(&review),
            [401, 401, 403, 201, 404, 201],
        ),
        (
            "POST",
            "/api/v1/alerts/none/reviews",
            Some(&review),
            [401, 401, 403, 404, 404, 404],
        ),
        (
            "GET",
            "/api/v1/regions",
            None,
            [401, 401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/regions/NG-BO/profile",
            None,
            [401, 401, 200, 200, 404, 200],
        ),
        (
            "GET",
            "/api/v1/reports/r-1",
            None,
            [401, 401, 200, 200, 404, 200],
        ),
        (
            "GET",
            "/api/v1/reports/none",
            None,
            [401, 401, 404, 404, 404, 404],
        ),
        (
            "GET",
            "/api/v1/silences",
            None,
            [401, 401, 200, 200, 200, 200],
        ),
        (
            "POST",
            "/api/v1/silences",
            Some(&silence),
            [401, 401, 403, 201, 403, 201],
        ),
        (
            "POST",
            "/api/v1/silences/s-ng/expire",
            None,
            [401, 401, 403, 200, 404, 409],
        ),
        ("GET", "/api/v1/audit", None, [401, 401, 403, 200, 200, 200]),
        (
            "GET",
            "/api/v1/stream",
            None,
            [401, 401, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/openapi.json",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        ("GET", "/desk/", None, [200, 200, 200, 200, 200, 200]),
    ];
    for (method, path, body, want) in table {
        for (bearer, status) in BEARERS.iter().zip(want) {
            let a = call(&base, method, path, *bearer, *body).await;
            assert_eq!(
                a.status, *status,
                "{method} {path} as {bearer:?}: {}",
                a.body
            );
            if a.status == 401 {
                assert_eq!(a.headers["www-authenticate"], "Bearer");
                assert!(a.body["error"].is_string());
            }
        }
    }
    // The two reviews made (NG analyst, admin) are counted under the alert's rule.
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        text.contains(
            r#"vigil_alert_reviews_total{rule="abduction_cluster",verdict="acknowledged"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"vigil_desk_auth_refused_total{reason="unauthenticated"} 28"#),
        "{text}"
    );
}

fn ids(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn answers_hold_only_what_the_token_may_see() {
    let (base, _) = serve(0).await;
    let get = |path: &'static str, bearer: &'static str| {
        let base = base.clone();
        async move { call(&base, "GET", path, Some(bearer), None).await.body }
    };
    // Alerts by scope, state, region, page and as_of.
    let cases: &[(&str, &str, &[&str])] = &[
        ("ng-viewer-secret", "/api/v1/alerts", &["ng-2", "ng-1"]),
        ("ng-viewer-secret", "/api/v1/alerts?region=ML-*", &[]),
        ("ng-viewer-secret", "/api/v1/alerts?status=open", &["ng-1"]),
        ("admin-secret", "/api/v1/alerts", &["ng-2", "ml-1", "ng-1"]),
        ("admin-secret", "/api/v1/alerts?status=closed", &["ng-2"]),
        (
            "admin-secret",
            "/api/v1/alerts?region=ML-MO,NG-BO",
            &["ml-1", "ng-1"],
        ),
        ("admin-secret", "/api/v1/alerts?limit=1&offset=1", &["ml-1"]),
        (
            "admin-secret",
            "/api/v1/alerts?as_of=1970-01-01T00:00:01Z",
            &["ml-1", "ng-1"],
        ),
        ("unscoped-admin-secret", "/api/v1/alerts", &[]),
    ];
    for (bearer, path, want) in cases {
        let body = call(&base, "GET", path, Some(bearer), None).await.body;
        assert_eq!(ids(&body, "alerts", "alert_id"), *want, "{bearer} {path}");
    }
    for bad in [
        "?status=maybe",
        "?severity=bogus",
        "?nonsense=1",
        "?as_of=yesterday",
        "?since=monday",
    ] {
        let a = call(
            &base,
            "GET",
            &format!("/api/v1/alerts{bad}"),
            Some("admin-secret"),
            None,
        )
        .await;
        assert_eq!(a.status, 400, "{bad}");
    }
    let body = get("/api/v1/alerts?region=NG-YO", "admin-secret").await;
    assert_eq!(body["alerts"][0]["records"].as_array().unwrap().len(), 2);
    assert_eq!(body["alerts"][0]["status"], "resolved");
    // Regions: the ML analyst never learns of NG-BO.
    assert_eq!(
        ids(
            &get("/api/v1/regions", "ml-analyst-secret").await,
            "regions",
            "code"
        ),
        ["ML-MO"]
    );
    let regions = get("/api/v1/regions", "admin-secret").await;
    assert_eq!(ids(&regions, "regions", "code"), ["ML-MO", "NG-BO"]);
    assert_eq!(regions["regions"][1]["risk_factors"]["RF9"], 1);
    assert_eq!(regions["regions"][1]["open_alerts"], 1);
    assert_eq!(regions["regions"][1]["highest_severity"], "critical");
    let profile = get("/api/v1/regions/NG-BO/profile", "ng-viewer-secret").await;
    assert_eq!(profile["risk_factors"][8]["code"], "RF9");
    assert_eq!(profile["risk_factors"][8]["windows"]["7d"]["reports"], 1);
    assert_eq!(profile["risk_factors"][8]["evidence"], json!(["r-1"]));
    assert_eq!(ids(&profile, "open_alerts", "alert_id"), ["ng-1"]);
    // Report text: analysts in scope only; a viewer gets tags without the matched words.
    let seen = get("/api/v1/reports/r-1", "ng-analyst-secret").await;
    assert_eq!(seen["text"], TEXT);
    let viewer = get("/api/v1/reports/r-1", "ng-viewer-secret").await;
    assert!(viewer.get("text").is_none(), "{viewer}");
    assert_eq!(viewer["tags"][0]["code"], "RF9");
    assert!(!viewer.to_string().contains("Gunmen"), "{viewer}");
    // Silences in scope; a silence of another country cannot be made.
    assert_eq!(
        ids(
            &get("/api/v1/silences", "ng-viewer-secret").await,
            "silences",
            "id"
        ),
        ["s-ng"]
    );
    assert!(
        ids(
            &get("/api/v1/silences", "ml-analyst-secret").await,
            "silences",
            "id"
        )
        .is_empty()
    );
    for bad in [
        json!({"regions": [], "hours": 1, "comment": "x"}),
        json!({"regions": ["NG-BO"], "hours": 0, "comment": "x"}),
        json!({"regions": ["NG-BO"], "hours": 1, "comment": " "}),
    ] {
        let a = call(
            &base,
            "POST",
            "/api/v1/silences",
            Some("admin-secret"),
            Some(&bad),
        )
        .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
    }
    for bad in [
        json!({"verdict": "maybe"}),
        json!({"verdict": "confirmed", "author": "x"}),
    ] {
        let a = call(
            &base,
            "POST",
            "/api/v1/alerts/ng-1/reviews",
            Some("admin-secret"),
            Some(&bad),
        )
        .await;
        assert_eq!(a.status / 100, 4, "{bad}");
        assert_ne!(a.status, 201);
    }
    // A review: listed on its episode with its author, and in the audit trail of its scope.
    let made = call(
        &base,
        "POST",
        "/api/v1/alerts/ng-1/reviews",
        Some("ng-analyst-secret"),
        Some(&json!({"verdict": "false_alarm", "note": "a wedding"})),
    )
    .await;
    assert_eq!(made.status, 201);
    assert_eq!(made.body["author"], "ng-analyst");
    let listed = get("/api/v1/alerts/ng-1/reviews", "ng-viewer-secret").await;
    assert_eq!(listed["reviews"][0]["verdict"], "false_alarm");
    let episode = get("/api/v1/alerts?region=NG-BO", "ng-viewer-secret").await;
    assert_eq!(episode["alerts"][0]["reviews"][0]["note"], "a wedding");
    let audit = get("/api/v1/audit", "ng-analyst-secret").await;
    assert_eq!(audit["entries"][0]["action"], "review");
    assert_eq!(audit["entries"][0]["target"], "ng-1");
    assert!(
        get("/api/v1/audit", "ml-analyst-secret").await["entries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A silence ends once: expiring it again is a conflict, and writes nothing.
    let again = call(
        &base,
        "POST",
        "/api/v1/silences/s-ng/expire",
        Some("admin-secret"),
        None,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let twice = call(
        &base,
        "POST",
        "/api/v1/silences/s-ng/expire",
        Some("admin-secret"),
        None,
    )
    .await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    // API answers are never cached or sniffed.
    let a = call(
        &base,
        "GET",
        "/api/v1/reports/r-1",
        Some("admin-secret"),
        None,
    )
    .await;
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.headers["x-content-type-options"], "nosniff");
    // The OpenAPI document names every route.
    let spec = get("/api/v1/openapi.json", "admin-secret").await;
    for path in [
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}/reviews",
        "/api/v1/regions",
        "/api/v1/regions/{code}/profile",
        "/api/v1/reports/{id}",
        "/api/v1/silences",
        "/api/v1/silences/{id}/expire",
        "/api/v1/audit",
        "/api/v1/stream",
        "/api/v1/whoami",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
    }
}

/// Reads the stream until `want` appears in what came, returning all of it.
async fn read_until(r: &mut reqwest::Response, want: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(want) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(20), r.chunk())
            .await
            .expect("the stream went quiet")
            .unwrap()
            .expect("the stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn the_stream_sends_live_reviews_in_scope_and_resumes_from_the_last_event() {
    let (base, _) = serve(0).await;
    let client = reqwest::Client::new();
    let open = |bearer: &str, last: Option<&str>| {
        let mut r = client
            .get(format!("{base}/api/v1/stream"))
            .header("Authorization", format!("Bearer {bearer}"));
        if let Some(id) = last {
            r = r.header("Last-Event-ID", id);
        }
        r.send()
    };
    let mut live = open("ng-viewer-secret", None).await.unwrap();
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let made = call(
        &base,
        "POST",
        "/api/v1/alerts/ng-1/reviews",
        Some("admin-secret"),
        Some(&json!({"verdict": "confirmed", "note": "verified"})),
    )
    .await;
    let seen = read_until(&mut live, "verified").await;
    assert!(seen.contains("event: review"), "{seen}");
    assert!(seen.contains(made.body["review_id"].as_str().unwrap()));
    // From the beginning: the NG alert records, in order, and the review; no ML record.
    let mut resumed = open("ng-viewer-secret", Some("0")).await.unwrap();
    let backlog = read_until(&mut resumed, "verified").await;
    assert!(
        backlog.contains("\"ng-1\"") && backlog.contains("\"ng-2\""),
        "{backlog}"
    );
    assert!(!backlog.contains("ML-MO"), "{backlog}");
    let first = backlog.find("id: 1\n").expect("event 1 first");
    assert!(first < backlog.find("id: 3\n").unwrap());
    // A Last-Event-ID that is not an event number is refused.
    let garbled = open("ng-viewer-secret", Some("abc")).await.unwrap();
    assert_eq!(garbled.status(), 400);
    // After the last alert record (id 4), only the review.
    let mut after = open("ng-viewer-secret", Some("4")).await.unwrap();
    let rest = read_until(&mut after, "verified").await;
    assert!(!rest.contains("event: alert"), "{rest}");
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_held_back_with_retry_after() {
    let (base, _) = serve(3).await;
    // Requests with no token guess nothing: they do not count.
    for _ in 0..5 {
        assert_eq!(
            call(&base, "GET", "/api/v1/alerts", None, None)
                .await
                .status,
            401
        );
    }
    assert_eq!(
        call(&base, "GET", "/api/v1/alerts", Some("admin-secret"), None)
            .await
            .status,
        200
    );
    for _ in 0..3 {
        assert_eq!(
            call(&base, "GET", "/api/v1/alerts", Some("guess"), None)
                .await
                .status,
            401
        );
    }
    // Even the right token waits now: guesses cannot be told from it.
    let held = call(&base, "GET", "/api/v1/alerts", Some("admin-secret"), None).await;
    assert_eq!(held.status, 429);
    let wait: u64 = held.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // The page and the API's description stay open.
    assert_eq!(call(&base, "GET", "/desk/", None, None).await.status, 200);
}

#[tokio::test]
async fn the_served_openapi_document_is_valid_openapi() {
    let (base, _) = serve(0).await;
    let spec = call(&base, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(spec.status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, spec.body.to_string()).unwrap();
    // The OpenAPI project's own validator (PyPI `openapi-spec-validator`, installed by .ci/run).
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
    assert_eq!(spec.body["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
}
