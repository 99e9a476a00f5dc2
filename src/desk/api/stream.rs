//! `GET /api/v1/stream`: Server-Sent Events of alert records (`event: alert`) and reviews
//! (`event: review`) as the store takes them, each with its `id:` (the store's event number),
//! only those of the token's scope. A client that reconnects with `Last-Event-ID` (or
//! `?last_event_id=`) first gets what it missed, read from the store, then live events; one
//! without starts from now. A client too slow for the live channel falls back to the store
//! without losing anything. At most `desk.max_stream_clients` at once.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::{DeskState, MAX_PAGE, error, permit, query};
use crate::delivery::route::glob;
use crate::desk::access::{Action, Principal};
use crate::desk::store::Event;

const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Resume {
    last_event_id: Option<i64>,
}

/// One client's place in the stream.
struct Client {
    state: DeskState,
    scope: Vec<String>,
    live: broadcast::Receiver<Arc<Event>>,
    /// The last event sent (or skipped as out of scope).
    last: i64,
    /// Read from the store, not sent yet.
    backlog: VecDeque<Event>,
    /// Whether the store must be read before live events (a resume, or a lag).
    behind: bool,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.state.stream_clients.fetch_sub(1, Ordering::Relaxed);
        if let Some(m) = &self.state.metrics {
            m.stream_clients(-1);
        }
    }
}

impl Client {
    /// The next event to send.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.last = e.seq;
                return Some(e);
            }
            if self.behind {
                let (scope, after) = (self.scope.clone(), self.last);
                let page = self
                    .state
                    .read(move |s| s.events_after(after, &scope, MAX_PAGE))
                    .await
                    .ok()?;
                if page.is_empty() {
                    self.behind = false;
                    // (Events the store had but the scope hides move `last` on too.)
                    let newest = self.state.read(|s| s.last_event_seq()).await.ok()?;
                    self.last = self.last.max(newest);
                } else {
                    self.backlog.extend(page);
                }
                continue;
            }
            match self.live.recv().await {
                Ok(e) if e.seq <= self.last => {}
                Ok(e) => {
                    self.last = e.seq;
                    if self.scope.iter().any(|g| glob(g, &e.region)) {
                        return Some((*e).clone());
                    }
                }
                // Too slow for the channel: what was missed is in the store.
                Err(RecvError::Lagged(_)) => self.behind = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// `GET /api/v1/stream`.
pub(super) async fn stream(
    State(state): State<DeskState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    params: Result<Query<Resume>, QueryRejection>,
) -> Response {
    if let Err(r) = permit(&state, &p, Action::Read) {
        return r;
    }
    let params = match query(params) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let header = match headers.get("last-event-id").map(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
    }) {
        None => None,
        Some(Some(n)) => Some(n),
        Some(None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID: expected an event number",
            );
        }
    };
    let resume = header.or(params.last_event_id.filter(|n| *n >= 0));
    if state.stream_clients.fetch_add(1, Ordering::Relaxed) >= state.settings.max_stream_clients {
        state.stream_clients.fetch_sub(1, Ordering::Relaxed);
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many stream clients");
    }
    if let Some(m) = &state.metrics {
        m.stream_clients(1);
    }
    // Subscribed before the store is read: nothing falls between the two.
    let live = state.events.subscribe();
    let start = match resume {
        Some(id) => id,
        None => match state.read(|s| s.last_event_seq()).await {
            Ok(n) => n,
            Err(r) => {
                state.stream_clients.fetch_sub(1, Ordering::Relaxed);
                if let Some(m) = &state.metrics {
                    m.stream_clients(-1);
                }
                return r;
            }
        },
    };
    let client = Client {
        state: state.clone(),
        scope: p.regions.clone(),
        live,
        last: start,
        backlog: VecDeque::new(),
        behind: resume.is_some(),
    };
    let events = futures_util::stream::unfold(client, |mut c| async move {
        let e = c.next().await?;
        let sse = SseEvent::default()
            .id(e.seq.to_string())
            .event(e.kind)
            .data(e.data);
        Some((Ok::<_, Infallible>(sse), c))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}
