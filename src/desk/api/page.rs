//! The desk's page (`/desk/`: `page/index.html`, `desk.js`, `desk.css`, compiled into the
//! binary so that it works with no internet and no files beside it) and the API's OpenAPI
//! document (`/api/v1/openapi.json`, which holds no data and needs no token). Every answer here
//! carries the page's security headers: a content security policy that lets it load and call
//! only this origin, no framing, no sniffing, no referrer.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::DeskState;

const INDEX: &str = include_str!("../page/index.html");
const SCRIPT: &str = include_str!("../page/desk.js");
const STYLE: &str = include_str!("../page/desk.css");
const OPENAPI: &str = include_str!("openapi.json");

/// The security headers of the page (docs/desk.md, "Page").
pub(crate) const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-cache"),
];

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    for (name, value) in SECURITY_HEADERS {
        r.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    r
}

pub(super) fn routes() -> Router<DeskState> {
    Router::new()
        .route("/desk", get(|| async { Redirect::permanent("/desk/") }))
        .route(
            "/desk/",
            get(|| async { file("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/desk/desk.js",
            get(|| async { file("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/desk/desk.css",
            get(|| async { file("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { file("application/json", OPENAPI) }),
        )
}
