//! `GET /api/v1/alerts` (episodes with their records and reviews), `GET` and `POST
//! /api/v1/alerts/{alert_id}/reviews` (an analyst's verdict: written to `vigil.reviews`, then
//! taken into the store, counted as `vigil_alert_reviews_total{rule,verdict}`).

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::json;

use super::{DEFAULT_PAGE, DeskState, Journal, MAX_PAGE, as_of_ms, error, permit, query};
use crate::desk::access::{Action, Principal};
use crate::desk::store::{AlertQuery, Review, Source, Verdict};

/// The longest a note may be (characters): a review is a judgement, not a report.
pub const MAX_NOTE_CHARS: usize = 2_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertParams {
    status: Option<String>,
    region: Option<String>,
    severity: Option<String>,
    signal: Option<String>,
    rule: Option<String>,
    alert_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    as_of: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/v1/alerts`.
pub(super) async fn list(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    params: Result<Query<AlertParams>, QueryRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    let params = match query(params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let open = match params.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(_) => return error(StatusCode::BAD_REQUEST, "status: expected open or closed"),
    };
    if params
        .severity
        .as_deref()
        .is_some_and(|s| !["watch", "warning", "critical"].contains(&s))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "severity: expected watch, warning or critical",
        );
    }
    let as_of = match as_of_ms(params.as_of.as_deref()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    for t in [&params.since, &params.until].into_iter().flatten() {
        if chrono::DateTime::parse_from_rfc3339(t).is_err() {
            return error(
                StatusCode::BAD_REQUEST,
                "since, until: expected RFC 3339 times",
            );
        }
    }
    let q = AlertQuery {
        open,
        regions: params
            .region
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        severity: params.severity,
        signal: params.signal,
        rule: params.rule,
        alert_id: params.alert_id,
        since: params.since,
        until: params.until,
        as_of_ms: as_of,
        limit: params.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE),
        offset: params.offset.unwrap_or(0),
    };
    let (limit, offset) = (q.limit, q.offset);
    let scope = p.regions.clone();
    match state.read(move |s| s.alerts(&q, &scope)).await {
        Ok(episodes) => Json(json!({
            "alerts": episodes,
            "limit": limit,
            "offset": offset,
        }))
        .into_response(),
        Err(r) => r,
    }
}

/// The episode's region and rule, when it exists and `p` may see it.
async fn visible_episode(
    state: &DeskState,
    p: &Principal,
    alert_id: String,
) -> Result<(String, String), Response> {
    let found = state.read(move |s| s.episode_of(&alert_id)).await?;
    match found {
        Some((region, rule)) if p.sees(&region) => Ok((region, rule)),
        _ => Err(error(StatusCode::NOT_FOUND, "no such alert")),
    }
}

/// `GET /api/v1/alerts/{alert_id}/reviews`.
pub(super) async fn reviews(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(alert_id): Path<String>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    if let Err(r) = visible_episode(&state, &p, alert_id.clone()).await {
        return r;
    }
    match state.read(move |s| s.reviews(&alert_id)).await {
        Ok(reviews) => Json(json!({ "reviews": reviews })).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewBody {
    verdict: Verdict,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/alerts/{alert_id}/reviews`: 201 with the review once Kafka has it.
pub(super) async fn review(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(alert_id): Path<String>,
    body: Result<Json<ReviewBody>, JsonRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Write) {
        return r;
    }
    let (region, rule) = match visible_episode(&state, &p, alert_id.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => return error(e.status(), &e.body_text()),
    };
    if body.note.chars().count() > MAX_NOTE_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("note: at most {MAX_NOTE_CHARS} characters"),
        );
    }
    let review = Review {
        review_id: uuid::Uuid::new_v4().to_string(),
        alert_id,
        verdict: body.verdict,
        note: body.note,
        author: p.name.clone(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        region,
        rule,
    };
    if let Err(r) = journal(&state, &review).await {
        return r;
    }
    // Taken at once, so that its author reads it back; read from the topic later, it adds
    // nothing (same review id).
    let value = serde_json::to_vec(&review).unwrap_or_default();
    state
        .take_local(Source::Reviews, review.review_id.as_bytes(), value)
        .await;
    if let Some(m) = &state.metrics {
        m.reviewed(&review.rule, review.verdict.as_str());
    }
    tracing::info!(
        author = %review.author,
        alert_id = %review.alert_id,
        verdict = review.verdict.as_str(),
        "review recorded"
    );
    (StatusCode::CREATED, Json(review)).into_response()
}

/// Writes the review to the reviews topic, waiting for the broker's acknowledgement.
async fn journal(state: &DeskState, review: &Review) -> Result<(), Response> {
    let Journal::Kafka {
        producer,
        reviews_topic,
        ..
    } = state.journal.as_ref()
    else {
        return Ok(());
    };
    let value = serde_json::to_vec(review).unwrap_or_default();
    let record = FutureRecord::to(reviews_topic)
        .key(review.review_id.as_str())
        .payload(&value);
    match producer.send(record, Duration::from_secs(10)).await {
        Ok(_) => Ok(()),
        Err((e, _)) => {
            tracing::error!(error = %e, "writing a review to Kafka failed");
            Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the review could not be recorded; try again",
            ))
        }
    }
}
