//! An agent's live events: its durable log, tailed from the agent's cursor, so that a
//! reconnect (to any replica, from gRPC or the console) misses nothing.

use std::{sync::Arc, time::Duration};

use parley_proto::v1::{AgentEvent, Welcome, agent_event};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Desk, DeskError, Session, now, unavailable};

/// A tail of an agent's log: where it starts, and the stop that ends it.
pub(crate) struct Tail {
    /// The session token the tail checks every second (signed out, revoked or expired
    /// ends the tail with [`DeskError::Unauthenticated`]).
    pub(crate) token: String,
    /// The checked session.
    pub(crate) session: Session,
    /// The last cursor the agent has seen (0: from the start of the log).
    pub(crate) after: u64,
    /// Ends the tail.
    pub(crate) stop: CancellationToken,
}

impl Desk {
    /// The `Welcome` a connection starts with: the agent and its log's latest cursor.
    pub(crate) async fn welcome(&self, session: &Session) -> Result<AgentEvent, DeskError> {
        let latest = self
            .store
            .latest_cursor(&session.business, &session.agent)
            .await
            .map_err(unavailable)?;
        Ok(AgentEvent {
            cursor: 0,
            at: Some(now()),
            event: Some(agent_event::Event::Welcome(Welcome {
                agent_id: session.agent.clone(),
                latest_cursor: latest,
            })),
        })
    }

    /// Sends the agent's log after `tail.after` to `tx` until the receiver, the tail's stop
    /// or the gateway stops, or the session ends.
    pub(crate) async fn tail(
        self: Arc<Self>,
        tail: Tail,
        tx: mpsc::Sender<Result<AgentEvent, DeskError>>,
    ) {
        // A session signed out, revoked or expired ends the connection within this long.
        const SESSION_CHECK: Duration = Duration::from_secs(1);
        let Tail {
            token,
            session,
            after: mut cursor,
            stop,
        } = tail;
        let mut checked = tokio::time::Instant::now();
        loop {
            if stop.is_cancelled() || self.stop.is_cancelled() || tx.is_closed() {
                return;
            }
            if checked.elapsed() >= SESSION_CHECK {
                checked = tokio::time::Instant::now();
                if let Err(error @ DeskError::Unauthenticated(_)) = self.session(&token).await {
                    let _ = tx.send(Err(error)).await;
                    stop.cancel();
                    return;
                }
            }
            let batch = match self
                .store
                .read_after(&session.business, &session.agent, cursor, 100)
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(%error, "reading an agent's log");
                    Vec::new()
                }
            };
            let idle = batch.is_empty();
            for (n, bytes) in batch {
                match AgentEvent::decode(bytes.as_slice()) {
                    Ok(mut event) => {
                        event.cursor = n;
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => tracing::warn!(%error, cursor = n, "undecodable log entry"),
                }
                cursor = n;
            }
            if idle {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = self.stop.cancelled() => return,
                    () = tx.closed() => return,
                    () = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
        }
    }
}
