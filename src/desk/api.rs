//! The desk's HTTP API under `/api/v1` (DESIGN, "Desk"), so far `GET /api/v1/alerts`: the
//! episodes of the store (`store.rs`) a token may see. Deny by default: no or an unknown bearer
//! token is 401 (with `WWW-Authenticate: Bearer`), a role that may not read is 403, and a
//! token's region scope narrows every answer. Errors are JSON `{"error": "…"}`.
//!
//! Query parameters of `/alerts`: `status` (`open`, `closed`), `region` (codes and globs,
//! comma-separated), `severity`, `signal`, `rule`, `since` and `until` (event time, RFC 3339),
//! `as_of` (RFC 3339: what the desk knew then), `limit` (default 50, at most
//! [`MAX_PAGE`]) and `offset`.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;
use serde::Deserialize;
use serde_json::json;

use super::access::{Access, Action, AuthError};
use super::store::{AlertQuery, Store};

/// The most episodes one page holds.
pub const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

/// What the API reads.
#[derive(Clone)]
pub struct DeskState {
    pub store: Arc<Mutex<Store>>,
    pub access: Arc<Access>,
}

/// The `/api/v1` routes over `state`.
pub fn routes(state: DeskState) -> Router {
    Router::new()
        .route("/api/v1/alerts", get(alerts))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertParams {
    status: Option<String>,
    region: Option<String>,
    severity: Option<String>,
    signal: Option<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    as_of: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

fn error(status: StatusCode, message: &str) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    r
}

fn refused(e: AuthError) -> Response {
    match e {
        AuthError::Missing | AuthError::Unknown => error(StatusCode::UNAUTHORIZED, &e.to_string()),
        AuthError::Forbidden => error(StatusCode::FORBIDDEN, &e.to_string()),
    }
}

async fn alerts(
    State(state): State<DeskState>,
    headers: HeaderMap,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.access.authenticate(authorization) {
        Ok(p) => p.clone(),
        Err(e) => return refused(e),
    };
    if let Err(e) = principal.may(Action::Read) {
        return refused(e);
    }
    let Ok(Query(p)) = params else {
        return error(
            StatusCode::BAD_REQUEST,
            "unknown or malformed query parameter",
        );
    };
    let open = match p.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(_) => return error(StatusCode::BAD_REQUEST, "status: expected open or closed"),
    };
    let as_of_ms = match p.as_of.as_deref().map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(t)) => Some(t.timestamp_millis()),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "as_of: expected RFC 3339"),
    };
    let q = AlertQuery {
        open,
        regions: p
            .region
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        severity: p.severity,
        signal: p.signal,
        rule: p.rule,
        since: p.since,
        until: p.until,
        as_of_ms,
        limit: p.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
        offset: p.offset.unwrap_or(0),
    };
    let found = match state.store.lock() {
        Ok(store) => store.alerts(&q, &principal.regions),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable"),
    };
    match found {
        Ok(episodes) => Json(json!({
            "alerts": episodes,
            "limit": q.limit,
            "offset": q.offset,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "desk store query failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "store query failed")
        }
    }
}
