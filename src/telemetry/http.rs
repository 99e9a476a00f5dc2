//! The HTTP side of `vigil run`: `/metrics` (Prometheus text), `/healthz` (the process is alive)
//! and `/readyz` (assigned partitions are restored and consuming). Listens on `http.listen`,
//! 127.0.0.1 by default. The CAP feeds (`delivery/cap_feed.rs`) and the desk (`desk/api/`) are
//! served beside them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::config::HttpSettings;
use crate::telemetry::listener::ListenerError;
use crate::telemetry::metrics::Metrics;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// Binds `http.listen` and serves, with the routes of `extra` (the CAP feeds, the desk), until
/// the runtime stops, through the shared listener (`listener.rs`: TLS, header and connection
/// limits). Returns the bound address.
///
/// Errors: the address cannot be bound, or the TLS files cannot be used.
pub async fn serve(
    settings: &HttpSettings,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    extra: Router,
) -> Result<SocketAddr, ListenerError> {
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, ready })
        .merge(extra);
    super::listener::serve(settings, app).await
}

async fn render(State(s): State<AppState>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.render(),
    )
}

async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no partitions assigned and restored\n",
        )
    }
}
