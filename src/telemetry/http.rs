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

use crate::telemetry::metrics::Metrics;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// Binds `listen` and serves, with the routes of `extra` (the CAP feeds), until the runtime
/// stops. Returns the bound address.
pub async fn serve(
    listen: &str,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
    extra: Router,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, ready })
        .merge(extra);
    tokio::spawn(async move {
        // The peer address reaches the handlers: the desk limits failed logins per address.
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(error = %e, "http server stopped");
        }
    });
    Ok(addr)
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
