//! `GET /api/v1/regions` (the overview the heat map draws), `GET
//! /api/v1/regions/{code}/profile` (a region's RF1–RF14 profile, threats per day and open
//! alerts; store/picture.rs says how it is counted) and `GET /api/v1/reports/{id}` (tags, and
//! the text for a token that may read it). Without `as_of`, a picture is served from a cache of
//! `desk.picture_cache_ms`; with it, computed each time.

use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{DeskState, as_of_ms, error, permit, query};
use crate::desk::access::{Action, Principal};
use crate::desk::store::AlertQuery;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AsOf {
    as_of: Option<String>,
}

/// What the cache holds for a key.
enum Cached {
    Fresh(Value),
    Stale(Value),
    Missing,
}

/// A cached answer for `key`, or a computed one (then cached when `as_of` is `None`).
///
/// When the cached answer is older than `desk.picture_cache_ms`, the first request to find it
/// so computes a new one and the requests meanwhile get the old one (at most twice the setting
/// old): one request in each period waits for the computation, not every request that arrives
/// during it.
async fn cached(
    state: &DeskState,
    key: String,
    as_of: Option<i64>,
    compute: impl AsyncFnOnce() -> Result<Value, Response>,
) -> Result<Value, Response> {
    let max_age = Duration::from_millis(state.settings.picture_cache_ms);
    let use_cache = as_of.is_none() && !max_age.is_zero();
    // Decided under the lock, which is let go before any computation waits.
    let found = match state.cache.lock() {
        Ok(mut cache) if use_cache => match cache.get_mut(&key) {
            Some((at, v)) if at.elapsed() < max_age => Cached::Fresh(v.clone()),
            Some((at, v)) if at.elapsed() < max_age * 2 => {
                // Stale: this request refreshes it; the others keep the old answer meanwhile.
                *at = Instant::now();
                Cached::Stale(v.clone())
            }
            _ => Cached::Missing,
        },
        _ => Cached::Missing,
    };
    match found {
        Cached::Fresh(v) => return Ok(v),
        Cached::Stale(stale) => {
            return match compute().await {
                Ok(fresh) => {
                    if let Ok(mut cache) = state.cache.lock() {
                        cache.insert(key, (Instant::now(), fresh.clone()));
                    }
                    Ok(fresh)
                }
                // The old answer stands until the next period.
                Err(_) => Ok(stale),
            };
        }
        Cached::Missing => {}
    }
    let v = compute().await?;
    if use_cache && let Ok(mut cache) = state.cache.lock() {
        cache.insert(key, (Instant::now(), v.clone()));
    }
    Ok(v)
}

/// `GET /api/v1/regions`.
pub(super) async fn regions(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    params: Result<Query<AsOf>, QueryRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    let params = match query(params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let as_of = match as_of_ms(params.as_of.as_deref()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let st = state.clone();
    let all = cached(&state, "regions".into(), as_of, async move || {
        let codes: Vec<String> = st
            .catalogue
            .risk_factors
            .iter()
            .map(|f| f.0.clone())
            .collect();
        let (summaries, latest, open) = st
            .read(move |s| {
                Ok((
                    s.regions(&codes, as_of)?,
                    s.latest_event_s(as_of)?,
                    s.open_counts(as_of)?,
                ))
            })
            .await?;
        let rows: Vec<Value> = summaries
            .into_iter()
            .map(|r| {
                let here: Vec<_> = open
                    .iter()
                    .filter(|(region, _, _)| *region == r.code)
                    .collect();
                let highest = ["critical", "warning", "watch"]
                    .into_iter()
                    .find(|s| here.iter().any(|(_, severity, _)| severity == s));
                json!({
                    "code": r.code,
                    "open_alerts": here.iter().map(|(_, _, n)| n).sum::<u64>(),
                    "highest_severity": highest,
                    "reports_30d": r.reports_30d,
                    "risk_factors": r.risk_factors,
                })
            })
            .collect();
        Ok(json!({ "latest_event_time": rfc3339(latest), "regions": rows }))
    })
    .await;
    match all {
        Ok(mut v) => {
            // The token's scope, applied to the cached picture of every region.
            if let Some(rows) = v.get_mut("regions").and_then(Value::as_array_mut) {
                rows.retain(|r| r["code"].as_str().is_some_and(|c| p.sees(c)));
            }
            v["as_of"] = json!(params.as_of);
            Json(v).into_response()
        }
        Err(r) => r,
    }
}

/// `GET /api/v1/regions/{code}/profile`.
pub(super) async fn profile(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(code): Path<String>,
    params: Result<Query<AsOf>, QueryRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    if !p.sees(&code) {
        return error(StatusCode::NOT_FOUND, "no such region");
    }
    let params = match query(params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let as_of = match as_of_ms(params.as_of.as_deref()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let st = state.clone();
    let region = code.clone();
    let answer = cached(&state, format!("profile/{code}"), as_of, async move || {
        let catalogue = st.catalogue.clone();
        let (profile, open, total) = st
            .read(move |s| {
                let profile =
                    s.profile(&region, &catalogue.risk_factors, &catalogue.threats, as_of)?;
                // The latest open episodes (the page lists the rest from `/alerts`), and how
                // many there are.
                let open = s.alerts(
                    &AlertQuery {
                        open: Some(true),
                        regions: vec![region.clone()],
                        as_of_ms: as_of,
                        limit: super::DEFAULT_PAGE,
                        ..AlertQuery::default()
                    },
                    std::slice::from_ref(&region),
                )?;
                let total: u64 = s
                    .open_counts(as_of)?
                    .into_iter()
                    .filter(|(r, _, _)| *r == region)
                    .map(|(_, _, n)| n)
                    .sum();
                Ok((profile, open, total))
            })
            .await?;
        let mut v = serde_json::to_value(profile).unwrap_or(Value::Null);
        v["open_alerts"] = json!(open);
        v["open_alerts_total"] = json!(total);
        Ok(v)
    })
    .await;
    match answer {
        Ok(mut v) => {
            v["as_of"] = json!(params.as_of);
            Json(v).into_response()
        }
        Err(r) => r,
    }
}

/// `GET /api/v1/reports/{id}`.
pub(super) async fn report(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    let found = match state.read(move |s| s.report(&id)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match found {
        Some(view) if p.sees(&view.region) => {
            let view = if p.may(Action::ReadText).is_ok() {
                view
            } else {
                view.without_text()
            };
            Json(view).into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "no such report"),
    }
}

fn rfc3339(seconds: Option<i64>) -> Option<String> {
    seconds
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}
