//! The desk: what an agent can do and read, behind both the gRPC API ([`crate::grpc`]) and
//! the web console ([`crate::console`]). Each front end only turns its transport into these
//! calls and [`DeskError`]s into its own statuses; every rule (who may read or act on a
//! conversation, what a reply may carry, what an agent may declare) lives here once.

mod commands;
mod log;
mod reading;
mod sessions;

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use parley_bus::{Bus, Namespace, Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, CommandError, ConversationKey as KeyProto, ConversationRef,
        ConversationState, EventMeta, OutboundMessage, RoutingCommand, outbound_message::Kind,
        routing_command,
    },
};
use parley_state::{AgentPool, ConversationStore, facts};
use parley_types::{ConversationKey, EventId, Partition, PartitionCount};
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;

use crate::{agents::Agents, store::GatewayStore};

pub(crate) use commands::{Connection, command_result};
pub(crate) use log::Tail;
pub(crate) use reading::{ConversationDetail, SignedIn};

/// Tunables of the agent-facing side (both front ends).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// How often agents heartbeat; presence lives three intervals.
    pub heartbeat_interval: Duration,
    /// How often a connection polls its agent's log when idle.
    pub poll_interval: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(12 * 3600),
            heartbeat_interval: Duration::from_secs(10),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Why the desk refused a call (each front end maps it to its own status).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeskError {
    /// No session, or one expired, signed out or revoked.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The agent may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// Nothing of that name in the agent's business.
    #[error("{0}")]
    NotFound(&'static str),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The request is larger than the gateway takes.
    #[error("{0}")]
    TooLarge(&'static str),
    /// Redis, the bus or the blob store failed (logged where it happened); retry.
    #[error("backend unavailable, retry")]
    Unavailable,
}

/// What the desk works with.
pub(crate) struct Desk {
    pub(crate) agents: Agents,
    pub(crate) blobs: crate::attachments::Blobs,
    pub(crate) store: GatewayStore,
    pub(crate) conversations: Arc<dyn ConversationStore>,
    pub(crate) pool: Arc<dyn AgentPool>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) namespace: Namespace,
    pub(crate) partitions: PartitionCount,
    pub(crate) options: GatewayOptions,
    pub(crate) stop: CancellationToken,
}

/// A checked session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) business: String,
    pub(crate) agent: String,
    pub(crate) display_name: String,
}

/// A backend failure: logged here, [`DeskError::Unavailable`] to the caller.
pub(crate) fn unavailable(error: impl std::fmt::Display) -> DeskError {
    tracing::warn!(%error, "backend failure");
    DeskError::Unavailable
}

/// Why a command was refused, as the agent's `CommandResult` tells it.
pub(crate) type Refusal = (CommandError, String);
type CmdResult = Result<(), Refusal>;

pub(crate) fn invalid(detail: &str) -> Refusal {
    (CommandError::Invalid, detail.to_owned())
}

fn not_allowed() -> Refusal {
    (
        CommandError::NotAllowed,
        "the conversation is not yours".to_owned(),
    )
}

fn backend(error: impl std::fmt::Display) -> Refusal {
    tracing::warn!(%error, "backend failure");
    (
        CommandError::Unavailable,
        "backend unavailable, retry".to_owned(),
    )
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

impl Desk {
    /// The conversation a reference names, only within the session's business.
    pub(crate) async fn conversation(
        &self,
        session: &Session,
        reference: Option<&ConversationRef>,
    ) -> Result<Option<ConversationKey>, String> {
        let Some(reference) = reference else {
            return Ok(None);
        };
        self.store.resolve(&session.business, &reference.id).await
    }

    pub(crate) async fn state(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<ConversationState>, String> {
        let versioned = self
            .conversations
            .load(key)
            .await
            .map_err(|e| e.to_string())?;
        Ok(versioned.and_then(|v| ConversationState::decode(v.state.as_ref()).ok()))
    }

    /// Whether the session's agent holds the conversation (routing's state or the pool).
    pub(crate) async fn owns(
        &self,
        session: &Session,
        key: &ConversationKey,
    ) -> Result<bool, String> {
        if let Some(state) = self.state(key).await?
            && state.assigned_agent_id == session.agent
        {
            return Ok(true);
        }
        for tag in [key.hash_tag(), key.opaque.as_str().to_owned()] {
            let holder = self
                .pool
                .assignment(&session.business, &tag)
                .await
                .map_err(|e| e.to_string())?;
            if holder.as_deref() == Some(session.agent.as_str()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The conversations still waiting (the pool confirms each), oldest first, with their
    /// 1-based place; only those `skills` cover when given.
    pub(crate) async fn still_waiting(
        &self,
        business: &str,
        skills: Option<&[String]>,
    ) -> Result<Vec<(crate::store::Waiting, usize)>, String> {
        let mut out = Vec::new();
        for waiting in self.store.waiting(business).await? {
            if let Some(skills) = skills
                && !waiting.skills.iter().all(|s| skills.contains(s))
            {
                continue;
            }
            let place = self
                .pool
                .position(business, &waiting.queue, &waiting.opaque)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(place) = place {
                out.push((waiting, place + 1));
            }
        }
        Ok(out)
    }

    /// Whether the session's agent is a supervisor of its business.
    pub(crate) fn is_supervisor(&self, session: &Session) -> bool {
        self.agents
            .entry(&session.business, &session.agent)
            .is_some_and(|a| a.role == crate::agents::Role::Supervisor)
    }

    /// Whether the session's agent may read the conversation's transcript: a supervisor of
    /// the business, the agent holding it, or an agent it was offered to before.
    pub(crate) async fn may_read(
        &self,
        session: &Session,
        key: &ConversationKey,
        reference: &str,
    ) -> Result<bool, String> {
        if self.is_supervisor(session) || self.owns(session, key).await? {
            return Ok(true);
        }
        self.store
            .was_offered(&session.business, &session.agent, reference)
            .await
    }

    pub(crate) async fn owned(
        &self,
        session: &Session,
        reference: Option<&ConversationRef>,
    ) -> Result<ConversationKey, (CommandError, String)> {
        let key = self
            .conversation(session, reference)
            .await
            .map_err(backend)?
            .ok_or_else(not_allowed)?;
        if self.owns(session, &key).await.map_err(backend)? {
            Ok(key)
        } else {
            Err(not_allowed())
        }
    }

    /// The conversation's current assignment id (empty when none).
    pub(crate) async fn assignment_id(
        &self,
        key: &ConversationKey,
    ) -> Result<String, (CommandError, String)> {
        Ok(self
            .state(key)
            .await
            .map_err(backend)?
            .map(|s| s.assignment_id)
            .unwrap_or_default())
    }

    pub(crate) fn event_id(&self, session: &Session, command_id: &str, stage: &str) -> String {
        let d = digest(&[&session.business, &session.agent, command_id, stage]);
        format!("agw-{stage}-{}", hex::encode(&d[..16]))
    }

    pub(crate) fn meta(
        &self,
        event_id: String,
        key: Option<&ConversationKey>,
        partition: Partition,
    ) -> EventMeta {
        EventMeta {
            event_id,
            conversation: key.map(|k| KeyProto {
                business_id: k.business.as_str().to_owned(),
                opaque_id: k.opaque.as_str().to_owned(),
            }),
            sequence: 0,
            partition: partition.get(),
            occurred_at: Some(now()),
            published_at: Some(now()),
            producer: "agent-gateway".into(),
            schema_version: 1,
            ..Default::default()
        }
    }

    /// The partition of an agent-scoped command (no conversation).
    pub(crate) fn agent_partition(&self, session: &Session) -> Result<Partition, String> {
        let d = digest(&[&session.business, &session.agent]);
        let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % self.partitions.get();
        Partition::new(n, self.partitions).map_err(|e| e.to_string())
    }

    pub(crate) async fn publish_routing(
        &self,
        session: &Session,
        key: Option<&ConversationKey>,
        event_id: String,
        command: routing_command::Command,
    ) -> Result<(), String> {
        let partition = match key {
            Some(k) => self.partitions.of(k),
            None => self.agent_partition(session)?,
        };
        let mut meta = self.meta(event_id.clone(), key, partition);
        if key.is_none() {
            // An agent's own command (presence, capacity) names its business and no
            // customer: routing refuses a command without a business.
            meta.conversation = Some(KeyProto {
                business_id: session.business.clone(),
                opaque_id: String::new(),
            });
        }
        let event = RoutingCommand {
            meta: Some(meta),
            issued_by: Some(self.actor(session)),
            command: Some(command),
        };
        let mut out = Outgoing::new(
            self.namespace.subject(StreamKind::Routing, partition),
            event_id,
            RoutingCommand::TYPE,
            event.encode_to_vec(),
        );
        if let Some(k) = key {
            out = out.with_ordering_key(k.stable_hash());
        }
        self.bus.publish(out).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    pub(crate) fn actor(&self, session: &Session) -> Actor {
        Actor {
            kind: ActorKind::Agent as i32,
            id: session.agent.clone(),
            display_name: session.display_name.clone(),
        }
    }

    pub(crate) async fn publish_outbound(
        &self,
        session: &Session,
        key: &ConversationKey,
        event_id: String,
        kind: Kind,
    ) -> CmdResult {
        let sequence = self
            .conversations
            .allocate_sequence(key, facts::COUNTER_OUTBOUND, Some(&event_id))
            .await
            .map_err(backend)?;
        let partition = self.partitions.of(key);
        let mut meta = self.meta(event_id.clone(), Some(key), partition);
        meta.sequence = sequence.get();
        let id = EventId::new(event_id.clone()).map_err(backend)?;
        let apple_message_id = id.apple_message_id();
        let event = OutboundMessage {
            meta: Some(meta),
            apple_message_id,
            sender: Some(self.actor(session)),
            msp_agent: session.display_name.clone(),
            kind: Some(kind),
            ..Default::default()
        };
        self.bus
            .publish(Outgoing::conversation_event(
                self.namespace.subject(StreamKind::Outbound, partition),
                &id,
                OutboundMessage::TYPE,
                event.encode_to_vec(),
                key,
            ))
            .await
            .map_err(backend)?;
        Ok(())
    }
}
