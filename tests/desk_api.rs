//! The desk's API on a real HTTP server on 127.0.0.1 with a real client: every answer of
//! `GET /api/v1/alerts` by token (none, unknown, each role) and region scope, over a store
//! filled with alert records.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigil::desk::access::{Access, Role, Token};
use vigil::desk::api::{DeskState, routes};
use vigil::desk::store::{Read, Store};

fn record(id: &str, region: &str, status: &str, at: &str) -> Vec<u8> {
    json!({
        "alert_id": id, "status": status, "rule": "abduction_cluster",
        "severity": "warning", "region": region, "signal": "threat:abduction",
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

fn token(name: &str, role: Role, regions: &[&str]) -> Token {
    Token {
        name: name.into(),
        role,
        regions: regions.iter().map(|s| s.to_string()).collect(),
        sha256: hex::encode(Sha256::digest(format!("{name}-secret").as_bytes())),
    }
}

async fn serve() -> String {
    let mut store = Store::in_memory().unwrap();
    let recs = [
        record("ng-1", "NG-BO", "firing", "2026-03-06T00:00:00Z"),
        record("ml-1", "ML-MO", "firing", "2026-03-07T00:00:00Z"),
        record("ng-2", "NG-YO", "firing", "2026-03-08T00:00:00Z"),
        record("ng-2", "NG-YO", "resolved", "2026-03-09T00:00:00Z"),
    ];
    let batch: Vec<Read> = recs
        .iter()
        .enumerate()
        .map(|(i, v)| Read {
            partition: 0,
            offset: i as i64,
            value: v,
            received_ms: 1_000 * i as i64,
        })
        .collect();
    store.apply_alerts("alerts", &batch).unwrap();
    let access = Access::new(&[
        token("ng-viewer", Role::Viewer, &["NG-*"]),
        token("analyst", Role::Analyst, &["*"]),
        token("unscoped-admin", Role::Admin, &[]),
    ]);
    let app = routes(DeskState {
        store: Arc::new(Mutex::new(store)),
        access: Arc::new(access),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn get(base: &str, path: &str, bearer: Option<&str>) -> (u16, Option<String>, Value) {
    let mut r = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(b) = bearer {
        r = r.header("Authorization", format!("Bearer {b}"));
    }
    let answer = r.send().await.unwrap();
    let status = answer.status().as_u16();
    let challenge = answer
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (
        status,
        challenge,
        serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["alert_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn alerts_answer_each_token_by_role_and_scope_and_deny_by_default() {
    let base = serve().await;
    // (token, query, status, alert ids)
    let cases: &[(Option<&str>, &str, u16, &[&str])] = &[
        (None, "", 401, &[]),
        (Some("not-a-token"), "", 401, &[]),
        (Some("ng-viewer-secret"), "", 200, &["ng-2", "ng-1"]),
        (Some("ng-viewer-secret"), "?region=ML-*", 200, &[]),
        (Some("ng-viewer-secret"), "?status=open", 200, &["ng-1"]),
        (Some("analyst-secret"), "", 200, &["ng-2", "ml-1", "ng-1"]),
        (Some("analyst-secret"), "?status=closed", 200, &["ng-2"]),
        (
            Some("analyst-secret"),
            "?region=ML-MO,NG-BO",
            200,
            &["ml-1", "ng-1"],
        ),
        (Some("analyst-secret"), "?limit=1&offset=1", 200, &["ml-1"]),
        // What the desk knew before ng-2 arrived.
        (
            Some("analyst-secret"),
            "?as_of=1970-01-01T00:00:01Z",
            200,
            &["ml-1", "ng-1"],
        ),
        (Some("unscoped-admin-secret"), "", 200, &[]),
        (Some("analyst-secret"), "?status=maybe", 400, &[]),
        (Some("analyst-secret"), "?nonsense=1", 400, &[]),
        (Some("analyst-secret"), "?as_of=yesterday", 400, &[]),
    ];
    for (bearer, query, status, want) in cases {
        let (got, challenge, body) = get(&base, &format!("/api/v1/alerts{query}"), *bearer).await;
        assert_eq!(got, *status, "{bearer:?} {query}: {body}");
        if got == 401 {
            assert_eq!(challenge.as_deref(), Some("Bearer"));
            assert!(body["error"].is_string());
        }
        if got == 200 {
            assert_eq!(ids(&body), *want, "{bearer:?} {query}");
        }
    }
    // An episode carries its records in arrival order.
    let (_, _, body) = get(&base, "/api/v1/alerts?region=NG-YO", Some("analyst-secret")).await;
    let records = body["alerts"][0]["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["status"], "resolved");
    assert_eq!(body["alerts"][0]["status"], "resolved");
}
