//! A small client of the agent gateway's gRPC API (`parley.v1.AgentGateway`), shared by
//! `parley demo`'s scripted agent and `parley agent`.

use std::time::Duration;

use parley_proto::v1::{
    AgentCommand, AgentEvent, AgentStatus, AuthenticateRequest, Hello, SetPresence,
    agent_command::Command, agent_gateway_client::AgentGatewayClient,
};
use tokio::sync::mpsc;
use tonic::{Streaming, transport::Channel};

use crate::{Error, Result};

/// An authenticated agent with an open connection.
pub struct AgentConnection {
    /// The agent's id.
    pub agent_id: String,
    /// The agent's display name.
    pub display_name: String,
    /// Sends commands.
    pub sender: AgentSender,
    events: Streaming<AgentEvent>,
}

/// Sends an agent's commands on its connection. Cheap to clone.
#[derive(Clone)]
pub struct AgentSender {
    commands: mpsc::Sender<AgentCommand>,
    next_command: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AgentSender {
    /// Sends a command; returns its command id.
    pub async fn send(&self, command: Command) -> Result<String> {
        let n = self
            .next_command
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let command_id = format!("c{}", n + 1);
        self.commands
            .send(AgentCommand {
                command_id: command_id.clone(),
                command: Some(command),
            })
            .await
            .map_err(|_| Error::Input("agent gateway: the connection is closed".into()))?;
        Ok(command_id)
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Input(format!("agent gateway: {what}: {error}"))
}

impl AgentConnection {
    /// Authenticates with `token` at `endpoint` (`http://host:port`), opens `Connect`
    /// (resuming after `cursor`), and sets the agent available with `capacity`.
    pub async fn open(endpoint: &str, token: &str, cursor: u64, capacity: u32) -> Result<Self> {
        let channel = Channel::from_shared(endpoint.to_owned())
            .map_err(|e| failed("endpoint", e))?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| failed("connect", e))?;
        let mut client = AgentGatewayClient::new(channel);
        let session = client
            .authenticate(AuthenticateRequest {
                agent_token: token.to_owned(),
            })
            .await
            .map_err(|e| failed("authenticate", e.message()))?
            .into_inner();
        let (commands, receiver) = mpsc::channel(64);
        let outgoing = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|command| (command, receiver))
        });
        let mut request = tonic::Request::new(outgoing);
        let bearer = format!("Bearer {}", session.session_token)
            .parse()
            .map_err(|e| failed("session token", e))?;
        request.metadata_mut().insert("authorization", bearer);
        // The first command of a connection is `Hello`; it waits in the channel until the
        // call starts.
        commands
            .send(AgentCommand {
                command_id: "hello".into(),
                command: Some(Command::Hello(Hello {
                    resume_after_cursor: cursor,
                })),
            })
            .await
            .map_err(|_| Error::Input("agent gateway: the connection is closed".into()))?;
        let events = client
            .connect(request)
            .await
            .map_err(|e| failed("connect", e.message()))?
            .into_inner();
        let connection = Self {
            agent_id: session.agent_id,
            display_name: session.display_name,
            sender: AgentSender {
                commands,
                next_command: std::sync::Arc::default(),
            },
            events,
        };
        connection
            .send(Command::Presence(SetPresence {
                status: AgentStatus::Available as i32,
                capacity,
                skills: Vec::new(),
            }))
            .await?;
        Ok(connection)
    }

    /// Sends a command; returns its command id.
    pub async fn send(&self, command: Command) -> Result<String> {
        self.sender.send(command).await
    }

    /// The next event as it comes (`None`: the stream ended).
    pub async fn event(&mut self) -> Result<Option<AgentEvent>> {
        self.events
            .message()
            .await
            .map_err(|status| failed("stream", status.message()))
    }

    /// The next event, or `None` when nothing arrived within `within` (or the stream ended).
    pub async fn next_event(&mut self, within: Duration) -> Result<Option<AgentEvent>> {
        match tokio::time::timeout(within, self.events.message()).await {
            Err(_) => Ok(None),
            Ok(Ok(event)) => Ok(event),
            Ok(Err(status)) => Err(failed("stream", status.message())),
        }
    }

    /// Waits (at most `within`) for the first event `pick` accepts, skipping others.
    pub async fn wait_for<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&AgentEvent) -> Option<T>,
    ) -> Result<Option<T>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.next_event(left).await? {
                Some(event) => {
                    if let Some(found) = pick(&event) {
                        return Ok(Some(found));
                    }
                }
                None => return Ok(None),
            }
        }
    }
}
