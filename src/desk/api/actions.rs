//! `GET` and `POST /api/v1/silences`, `POST /api/v1/silences/{id}/expire` (the silences
//! delivery obeys, written to `vigil.silences` as `vigil silence` writes them, with the token's
//! name as author) and `GET /api/v1/audit` (every write to the desk: who, what, when).

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::json;

use super::{DEFAULT_PAGE, DeskState, Journal, MAX_PAGE, error, out_of_scope, permit, query};
use crate::delivery::silence::Silence;
use crate::desk::access::{Action, Principal};
use crate::desk::store::{Source, all_visible};

/// The longest silence the desk adds (hours): a longer mute is a decision for `vigil silence`.
pub const MAX_SILENCE_HOURS: u32 = 24 * 30;

/// `GET /api/v1/silences`.
pub(super) async fn silences(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    let scope = p.regions.clone();
    match state.read(move |s| s.silences(&scope)).await {
        Ok(list) => Json(json!({ "silences": list })).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSilence {
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    signals: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
    hours: u32,
    comment: String,
}

/// `POST /api/v1/silences`: 201 with the silence once Kafka has it.
pub(super) async fn silence(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    body: Result<Json<NewSilence>, JsonRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Write) {
        return r;
    }
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return error(e.status(), &e.body_text()),
    };
    if body.hours == 0 || body.hours > MAX_SILENCE_HOURS {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("hours: from 1 to {MAX_SILENCE_HOURS}"),
        );
    }
    // A scoped token mutes only inside its scope: it must name regions, all of them visible.
    if !all_visible(&p.regions, &body.regions) {
        return out_of_scope(
            &state,
            "a silence must name regions inside the token's scope",
        );
    }
    let now = Utc::now();
    let silence = Silence {
        id: uuid::Uuid::new_v4().to_string(),
        regions: body.regions,
        signals: body.signals,
        rules: body.rules,
        starts_at: now,
        ends_at: now + chrono::Duration::hours(i64::from(body.hours)),
        created_by: p.name.clone(),
        comment: body.comment,
        expired_by: None,
    };
    if let Err(e) = silence.check() {
        return error(StatusCode::BAD_REQUEST, &e.to_string());
    }
    if let Err(r) = write(&state, &silence).await {
        return r;
    }
    tracing::info!(author = %silence.created_by, silence = %silence.id, "silence added");
    (StatusCode::CREATED, Json(silence)).into_response()
}

/// `POST /api/v1/silences/{id}/expire`.
pub(super) async fn expire(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Write) {
        return r;
    }
    let scope = p.regions.clone();
    let found = match state.read(move |s| s.silences(&scope)).await {
        Ok(list) => list.into_iter().find(|s| s.id == id),
        Err(r) => return r,
    };
    let Some(mut silence) = found else {
        return error(StatusCode::NOT_FOUND, "no such silence");
    };
    if silence.expired_by.is_some() || silence.ended(Utc::now()) {
        return error(StatusCode::CONFLICT, "the silence has already ended");
    }
    silence.expire(Utc::now(), &p.name);
    if let Err(r) = write(&state, &silence).await {
        return r;
    }
    tracing::info!(author = %p.name, silence = %silence.id, "silence expired");
    Json(silence).into_response()
}

/// Writes a silence to the silences topic (waiting for the broker), then into the store.
async fn write(state: &DeskState, silence: &Silence) -> Result<(), Response> {
    let value = serde_json::to_vec(silence).unwrap_or_default();
    if let Journal::Kafka {
        producer,
        silences_topic,
        ..
    } = state.journal.as_ref()
    {
        let record = FutureRecord::to(silences_topic)
            .key(silence.id.as_str())
            .payload(&value);
        if let Err((e, _)) = producer.send(record, Duration::from_secs(10)).await {
            tracing::error!(error = %e, "writing a silence to Kafka failed");
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the silence could not be recorded; try again",
            ));
        }
    }
    state
        .take_local(Source::Silences, silence.id.as_bytes(), value)
        .await;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/v1/audit` (analysts and admins).
pub(super) async fn audit(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    params: Result<Query<Page>, QueryRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::ReadText) {
        return r;
    }
    let page = match query(params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let (limit, offset) = (
        page.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
        page.offset.unwrap_or(0),
    );
    let scope = p.regions.clone();
    match state.read(move |s| s.audit(&scope, limit, offset)).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(r) => r,
    }
}
