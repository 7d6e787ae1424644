//! `GET /api/events`: the agent's log as server-sent events. Each event's `id` is its log
//! cursor, so the browser's own reconnect (`Last-Event-ID`) or a reloaded page (`?after=`)
//! resumes after the last event it saw and misses nothing. While the stream is open it
//! keeps the agent's presence alive, as a gRPC connection's heartbeats do.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Query, State},
    http::HeaderMap,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures::Stream;
use parley_state::{Presence, PresenceStatus};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::{Console, api::ApiError, cookies::SignedInAgent, json as view};
use crate::desk::{Desk, DeskError, Session, Tail};

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new().route("/api/events", get(events))
}

#[derive(Deserialize)]
struct After {
    /// A cursor, or `latest`: only what happens from now (a page that has just read the
    /// conversations and transcripts it shows).
    after: Option<String>,
}

/// Where a stream starts: after the browser's `Last-Event-ID` (its reconnect), else after
/// `?after=` (a cursor, or `latest`), else from the start of the log.
fn resume_point(headers: &HeaderMap, query: &After, latest: u64) -> u64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| match query.after.as_deref().map(str::trim) {
            Some("latest") => Some(latest),
            Some(cursor) => cursor.parse().ok(),
            None => None,
        })
        .unwrap_or(0)
}

async fn events(
    State(console): State<Arc<Console>>,
    agent: SignedInAgent,
    headers: HeaderMap,
    Query(query): Query<After>,
) -> Result<Response, ApiError> {
    let desk = console.desk.clone();
    let welcome = desk.welcome(&agent.session).await?;
    let latest = match welcome.event {
        Some(parley_proto::v1::agent_event::Event::Welcome(w)) => w.latest_cursor,
        _ => 0,
    };
    let (tx, rx) = mpsc::channel(256);
    let stop = desk.stop.child_token();
    tokio::spawn(desk.clone().tail(
        Tail {
            token: agent.token.clone(),
            session: agent.session.clone(),
            after: resume_point(&headers, &query, latest),
            stop: stop.clone(),
        },
        tx,
    ));
    tokio::spawn(keep_presence(
        desk.clone(),
        agent.session.clone(),
        stop.clone(),
    ));
    let first = Event::default()
        .event("welcome")
        .data(json!({ "agent_id": agent.session.agent, "latest_cursor": latest }).to_string());
    let stream = sse_stream(first, rx, stop.drop_guard());
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// What the event stream holds: the welcome still to send, the tail's receiver, and the
/// guard whose drop (the browser went away) ends the tail and the presence keeper.
struct Streaming {
    first: Option<Event>,
    rx: mpsc::Receiver<Result<parley_proto::v1::AgentEvent, DeskError>>,
    _guard: tokio_util::sync::DropGuard,
    ended: bool,
}

fn sse_stream(
    first: Event,
    rx: mpsc::Receiver<Result<parley_proto::v1::AgentEvent, DeskError>>,
    guard: tokio_util::sync::DropGuard,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let state = Streaming {
        first: Some(first),
        rx,
        _guard: guard,
        ended: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if let Some(first) = state.first.take() {
            return Some((Ok(first), state));
        }
        if state.ended {
            return None;
        }
        let event = match state.rx.recv().await? {
            Ok(event) => {
                let cursor = event.cursor;
                let (name, data) = view::event(&event).unwrap_or(("skip", serde_json::Value::Null));
                Event::default()
                    .id(cursor.to_string())
                    .event(name)
                    .data(data.to_string())
            }
            Err(error) => {
                // The session ended (signed out, revoked, expired): say so and stop.
                state.ended = true;
                Event::default()
                    .event("signed_out")
                    .data(json!({ "error": error.to_string() }).to_string())
            }
        };
        Some((Ok(event), state))
    })
}

/// Refreshes the agent's presence every heartbeat interval while the stream is open (an
/// agent who closed the console goes offline three intervals later, as over gRPC).
async fn keep_presence(
    desk: Arc<Desk>,
    session: Session,
    stop: tokio_util::sync::CancellationToken,
) {
    let interval = desk.options.heartbeat_interval;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let live = match desk.pool.agents(&session.business).await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(%error, "reading presence to refresh it");
                continue;
            }
        };
        let Some(current) = live.into_iter().find(|a| a.agent_id == session.agent) else {
            continue;
        };
        if current.status == PresenceStatus::Offline {
            continue;
        }
        let presence = Presence {
            status: current.status,
            capacity: current.capacity,
            skills: current.skills,
        };
        if let Err(error) = desk
            .pool
            .set_presence(&session.business, &session.agent, &presence, interval * 3)
            .await
        {
            tracing::warn!(%error, "refreshing presence");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnect_resumes_after_the_last_event_seen() {
        let after = |a: &str| After {
            after: Some(a.to_owned()),
        };
        let mut headers = HeaderMap::new();
        assert_eq!(resume_point(&headers, &After { after: None }, 30), 0);
        assert_eq!(resume_point(&headers, &after("7"), 30), 7);
        assert_eq!(resume_point(&headers, &after("latest"), 30), 30);
        headers.insert("last-event-id", "12".parse().expect("header"));
        assert_eq!(resume_point(&headers, &after("latest"), 30), 12);
        headers.insert("last-event-id", "x".parse().expect("header"));
        assert_eq!(resume_point(&headers, &after("7"), 30), 7);
    }
}
