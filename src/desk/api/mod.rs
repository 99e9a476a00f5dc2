//! The desk's HTTP API under `/api/v1` and its page at `/desk/` (docs/desk.md). Deny by
//! default: every `/api/v1` route but the OpenAPI document passes [`guard`], which answers 401
//! (with `WWW-Authenticate: Bearer`) for no or an unknown token, 429 once an address has failed
//! `desk.max_auth_failures_per_minute` times in a minute, and hands the token's [`Principal`]
//! to the handler, which checks the role (403) and narrows every answer to the token's region
//! scope (what is out of scope is answered as absent). Errors are JSON `{"error": "…"}`.
//!
//! One file per group of routes: `alerts.rs` (episodes and reviews), `picture.rs` (regions,
//! profiles, reports), `actions.rs` (silences and the audit trail), `stream.rs` (SSE),
//! `page.rs` (the page and the OpenAPI document); `limit.rs` counts failed logins.

// A handler's early answer is an `axum` `Response` (128 bytes); boxing it would save a copy on
// a path that ends the request anyway.
#![allow(clippy::result_large_err)]

mod actions;
mod alerts;
mod erase;
mod limit;
mod page;
mod picture;
mod stream;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rdkafka::producer::FutureProducer;
use serde_json::json;
use tokio::sync::broadcast;

use super::access::{Access, Action, AuthError, Principal};
use super::settings::DeskSettings;
use super::store::{Event, Source, Store, StoreError};
use crate::telemetry::desk::DeskMetrics;

pub use limit::FailureLimiter;

/// The most episodes, audit entries or events one page holds.
pub const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

/// Where analysts' writes go.
pub enum Journal {
    /// To Kafka (`desk.reviews_topic`, `delivery.silences_topic`): durable, read back by every
    /// desk instance.
    Kafka {
        producer: FutureProducer,
        reviews_topic: String,
        silences_topic: String,
        erasures_topic: String,
    },
    /// Into this desk's store only (tests and benchmarks without a broker): lost with the
    /// store, and never seen by delivery.
    StoreOnly,
}

/// What the taxonomy and rules name, for profiles and metric labels.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// `RF1` … `RF14` with the Framework's names.
    pub risk_factors: Vec<(String, String)>,
    pub threats: Vec<String>,
}

/// What the API reads and writes.
#[derive(Clone)]
pub struct DeskState {
    /// The connection the materializer writes through (reviews written here are taken at once).
    pub writer: Arc<Mutex<Store>>,
    /// Connections to read through, one request at a time each (WAL readers run beside the
    /// writer); the writer's own when the store is in memory.
    pub readers: Arc<Vec<Arc<Mutex<Store>>>>,
    pub access: Arc<Access>,
    pub journal: Arc<Journal>,
    pub events: broadcast::Sender<Arc<Event>>,
    pub metrics: Option<DeskMetrics>,
    pub limiter: Arc<FailureLimiter>,
    pub settings: Arc<DeskSettings>,
    pub catalogue: Arc<Catalogue>,
    /// `limits.max_id_bytes`: a report id longer than this was never accepted (erasure).
    pub max_id_bytes: usize,
    pub(crate) cache: Arc<Mutex<HashMap<String, (Instant, serde_json::Value)>>>,
    next_reader: Arc<AtomicUsize>,
    pub(crate) stream_clients: Arc<AtomicUsize>,
}

impl DeskState {
    /// A state over `writer` and `readers` (empty: read through the writer).
    #[allow(clippy::too_many_arguments)] // the desk's parts, each made by its owner
    pub fn new(
        writer: Arc<Mutex<Store>>,
        readers: Vec<Arc<Mutex<Store>>>,
        access: Access,
        journal: Journal,
        events: broadcast::Sender<Arc<Event>>,
        metrics: Option<DeskMetrics>,
        settings: DeskSettings,
        catalogue: Catalogue,
    ) -> DeskState {
        let readers = if readers.is_empty() {
            vec![Arc::clone(&writer)]
        } else {
            readers
        };
        DeskState {
            writer,
            readers: Arc::new(readers),
            access: Arc::new(access),
            journal: Arc::new(journal),
            events,
            metrics,
            limiter: Arc::new(FailureLimiter::new(settings.max_auth_failures_per_minute)),
            settings: Arc::new(settings),
            catalogue: Arc::new(catalogue),
            max_id_bytes: crate::report::Limits::default().max_id_bytes,
            cache: Arc::default(),
            next_reader: Arc::default(),
            stream_clients: Arc::default(),
        }
    }

    /// Takes a record this desk wrote into its own store at once (store::Store::take_local)
    /// and streams what it added. A failure is logged: the record is in Kafka, and the store
    /// takes it when it reads it back.
    pub(crate) async fn take_local(&self, source: Source, key: &[u8], value: Vec<u8>) {
        let writer = Arc::clone(&self.writer);
        let key = key.to_vec();
        let now = chrono::Utc::now().timestamp_millis();
        let added = tokio::task::spawn_blocking(move || match writer.lock() {
            Ok(mut s) => s.take_local(source, &key, &value, now),
            Err(_) => Err(StoreError::Poisoned),
        })
        .await;
        match added {
            Ok(Ok(events)) => {
                for e in events {
                    // No stream client is not an error.
                    let _ = self.events.send(Arc::new(e));
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "taking a desk write into the store failed"),
            Err(_) => tracing::warn!("taking a desk write into the store failed"),
        }
    }

    /// Runs a query on a reader, off the async threads.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Response> {
        let readers = Arc::clone(&self.readers);
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let answer = tokio::task::spawn_blocking(move || {
            // A free reader if there is one (a slow query must not hold up quick ones queued
            // behind it); else wait for this request's turn.
            let n = readers.len();
            let free = (0..n).find_map(|k| readers[(first + k) % n].try_lock().ok());
            match free {
                Some(store) => f(&store),
                None => match readers[first % n].lock() {
                    Ok(store) => f(&store),
                    Err(_) => Err(StoreError::Poisoned),
                },
            }
        })
        .await;
        match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "desk store query failed");
                Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store query failed",
                ))
            }
            Err(_) => Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store query failed",
            )),
        }
    }
}

/// The `/api/v1` routes and the page over `state`.
pub fn routes(state: DeskState) -> Router {
    let timeout = Duration::from_millis(state.settings.request_timeout_ms);
    let guarded = Router::new()
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/alerts", get(alerts::list))
        .route(
            "/api/v1/alerts/{alert_id}/reviews",
            get(alerts::reviews).post(alerts::review),
        )
        .route("/api/v1/regions", get(picture::regions))
        .route("/api/v1/regions/{code}/profile", get(picture::profile))
        .route("/api/v1/reports/{id}", get(picture::report))
        .route("/api/v1/reports/{id}/erase", post(erase::erase))
        .route(
            "/api/v1/silences",
            get(actions::silences).post(actions::silence),
        )
        .route("/api/v1/silences/{id}/expire", post(actions::expire))
        .route("/api/v1/audit", get(actions::audit))
        .layer(middleware::from_fn(move |req, next| {
            within(timeout, req, next)
        }))
        // The stream lives long: outside the request time limit.
        .route("/api/v1/stream", get(stream::stream))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    Router::new()
        .merge(guarded)
        .merge(page::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// Answers 503 when a request takes longer than `limit`.
async fn within(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "request took too long"),
    }
}

/// Authenticates every `/api/v1` request but the OpenAPI document; the principal goes to the
/// handler as an extension.
async fn guard(State(state): State<DeskState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    if let Some(wait) = state.limiter.blocked(peer) {
        refused_for(&state, "rate_limited");
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed authentications from this address",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.access.authenticate(authorization) {
        Ok(p) => {
            let p = p.clone();
            req.extensions_mut().insert(p);
            let mut r = next.run(req).await;
            // Answers hold what the token may see: never cached, never sniffed.
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        Err(e) => {
            // Only a token that was tried and is unknown counts: a request with none (a probe,
            // a preflight, a page not signed in yet) guesses nothing.
            if e == AuthError::Unknown {
                state.limiter.failed(peer);
            }
            refused(&state, e)
        }
    }
}

fn refused_for(state: &DeskState, reason: &str) {
    if let Some(m) = &state.metrics {
        m.refused(reason);
    }
}

/// `{"error": message}` with `status`; a 401 also names the scheme.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let mut r = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

/// The answer to an authentication or authorisation failure, counted.
pub(crate) fn refused(state: &DeskState, e: AuthError) -> Response {
    match e {
        AuthError::Missing | AuthError::Unknown => {
            refused_for(state, "unauthenticated");
            error(StatusCode::UNAUTHORIZED, &e.to_string())
        }
        AuthError::Forbidden => {
            refused_for(state, "forbidden");
            error(StatusCode::FORBIDDEN, &e.to_string())
        }
    }
}

/// A 403 for a request outside the token's scope, counted as `forbidden`.
pub(crate) fn out_of_scope(state: &DeskState, message: &str) -> Response {
    refused_for(state, "forbidden");
    error(StatusCode::FORBIDDEN, message)
}

/// The principal may do `action`, or the 403.
pub(crate) fn permit(state: &DeskState, p: &Principal, action: Action) -> Result<(), Response> {
    p.may(action).map_err(|e| refused(state, e))
}

/// The query parameters, or the 400 for an unknown or malformed one.
pub(crate) fn query<T>(
    params: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Response> {
    params.map(|q| q.0).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "unknown or malformed query parameter",
        )
    })
}

/// Parses an optional RFC 3339 `as_of` into Unix milliseconds.
pub(crate) fn as_of_ms(as_of: Option<&str>) -> Result<Option<i64>, Response> {
    match as_of.map(chrono::DateTime::parse_from_rfc3339) {
        None => Ok(None),
        Some(Ok(t)) => Ok(Some(t.timestamp_millis())),
        Some(Err(_)) => Err(error(StatusCode::BAD_REQUEST, "as_of: expected RFC 3339")),
    }
}

/// `GET /api/v1/whoami`: the token's name, role and scope (the page shows and obeys them).
async fn whoami(axum::Extension(p): axum::Extension<Principal>) -> Response {
    Json(json!({ "name": p.name, "role": p.role, "regions": p.regions })).into_response()
}
