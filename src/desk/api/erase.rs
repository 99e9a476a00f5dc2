//! `POST /api/v1/reports/{id}/erase` (admins): a report's text erased on a data subject's
//! request. The erasure is written to `desk.erasures_topic` (compacted, keyed by report id,
//! kept for ever) and taken into this desk's store at once: the text is deleted (and, with
//! SQLite's `secure_delete`, overwritten in the file), and no desk instance takes it again,
//! however often the input topic is read — a store rebuilt from the topics included. Tags,
//! counts and alerts stay: they carry ids and codes, not the report's words
//! (docs/security.md).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rdkafka::producer::FutureRecord;
use serde::Serialize;

use super::{DeskState, Journal, error, permit};
use crate::desk::access::{Action, Principal};
use crate::desk::store::Source;

/// One erasure, as written to the erasures topic and answered.
#[derive(Debug, Serialize)]
struct Erasure {
    report_id: String,
    /// RFC 3339, milliseconds.
    erased_at: String,
    /// The admin token's name.
    by: String,
}

/// `POST /api/v1/reports/{id}/erase`: 200 with the erasure once it is on the topic and in the
/// store; 404 when the report is known but outside the admin's regions; 503 when Kafka did not
/// take it (nothing erased: try again). A report not yet read is erased too, before it arrives.
pub(super) async fn erase(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Administer) {
        return r;
    }
    // Only an id the input could have accepted: printable, at most `limits.max_id_bytes`
    // (an erasure is kept for ever, and the id reaches the log).
    if id.is_empty() || id.len() > state.max_id_bytes {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "a report id of 1 to {} bytes (limits.max_id_bytes)",
                state.max_id_bytes
            ),
        );
    }
    if let Err(e) = crate::report::validate::check_code("id", &id) {
        return error(StatusCode::BAD_REQUEST, &e.detail);
    }
    let lookup = id.clone();
    let known = match state.read(move |s| s.report(&lookup)).await {
        Ok(Some(view)) if !p.sees(&view.region) => {
            return error(StatusCode::NOT_FOUND, "no such report");
        }
        Ok(found) => found.is_some(),
        Err(r) => return r,
    };
    let erasure = Erasure {
        report_id: id,
        erased_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        by: p.name.clone(),
    };
    let value = serde_json::to_vec(&erasure).unwrap_or_default();
    if let Journal::Kafka {
        producer,
        erasures_topic,
        ..
    } = state.journal.as_ref()
    {
        let record = FutureRecord::to(erasures_topic)
            .key(erasure.report_id.as_str())
            .payload(&value);
        if let Err((e, _)) = producer.send(record, Duration::from_secs(10)).await {
            tracing::error!(error = %e, "writing an erasure to Kafka failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the erasure could not be recorded; nothing was erased; try again",
            );
        }
    }
    state
        .take_local(Source::Erasures, erasure.report_id.as_bytes(), value)
        .await;
    tracing::info!(
        by = %erasure.by,
        report_id = %erasure.report_id,
        known,
        "report erased (text deleted if held, and never taken)"
    );
    (StatusCode::OK, Json(erasure)).into_response()
}
