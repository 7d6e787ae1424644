//! The `parley.v1.AgentGateway` gRPC service.

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime},
};

use futures::Stream;
use parley_apple::headers::{Capabilities, DeviceAgent};
use parley_bus::{Bus, Namespace, Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        AcceptAssignment, Actor, ActorKind, AgentCapacityChanged, AgentCommand, AgentEvent,
        AgentPresence, AgentPresenceChanged, AgentReplied, AgentStatus, AgentSummary,
        AttachmentChunk, AuthenticateRequest, AuthenticateResponse, CannedResponse, CommandError,
        CommandResult, ConversationKey as KeyProto, ConversationRef, ConversationState,
        ConversationSummary, DeclineAssignment, EventMeta, GetAttachmentRequest,
        GetTranscriptRequest, GetTranscriptResponse, ListAgentsRequest, ListAgentsResponse,
        ListCannedResponsesRequest, ListCannedResponsesResponse, ListConversationsRequest,
        ListConversationsResponse, ListQueuesRequest, ListQueuesResponse, OutboundMessage,
        QueueSummary, ResolveConversation, ReturnToBot, RevokeSessionsRequest,
        RevokeSessionsResponse, RoutingCommand, SignOutRequest, SignOutResponse, TranscriptEntry,
        TransferConversation, TypingEnd, TypingStart, UploadAttachmentChunk,
        UploadAttachmentResponse, Welcome, agent_command, agent_event,
        agent_gateway_server::AgentGateway, outbound_message::Kind, reply, routing_command,
        transfer, transfer_conversation,
    },
};
use parley_state::{AgentPool, ConversationStore, Presence, PresenceStatus, facts};
use parley_telemetry::MetadataExtractor;
use parley_types::{ConversationKey, EventId, Partition, PartitionCount};
use parley_wire::capabilities;
use prost::Message as _;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming, metadata::MetadataMap};
use tracing::Instrument as _;

use crate::{agents::Agents, store::GatewayStore};

/// Tunables of the gRPC side.
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

/// What the service works with.
pub(crate) struct Inner {
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

/// The gRPC service (cheap to clone).
#[derive(Clone)]
pub struct GatewayService {
    pub(crate) inner: Arc<Inner>,
}

/// A checked session.
#[derive(Debug, Clone)]
struct Session {
    business: String,
    agent: String,
    display_name: String,
}

fn unavailable(error: impl std::fmt::Display) -> Status {
    tracing::warn!(%error, "backend failure");
    Status::unavailable("backend unavailable, retry")
}

/// The session token of a call's `authorization: Bearer` metadata.
fn bearer(metadata: &MetadataMap) -> Result<&str, Status> {
    metadata
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Status::unauthenticated("missing bearer session"))
}

/// Whether a reply names a blob that is not one of its conversation's files (an attachment,
/// a rich link's image, an interactive message's image): outbound would send whatever blob
/// it names.
fn carries_foreign_blob(kind: &Kind, key: &ConversationKey) -> bool {
    let foreign = |blob: Option<&parley_proto::v1::BlobRef>| {
        !blob.is_some_and(|b| crate::attachments::belongs_to(&b.key, key))
    };
    let images = |common: Option<&parley_proto::v1::InteractiveCommon>| {
        common.is_some_and(|c| {
            c.images.iter().any(|i| match i.source.as_ref() {
                Some(parley_proto::v1::interactive_image::Source::Blob(blob)) => {
                    foreign(Some(blob))
                }
                Some(parley_proto::v1::interactive_image::Source::Data(_)) | None => false,
            })
        })
    };
    match kind {
        Kind::QuickReply(q) => images(q.common.as_ref()),
        Kind::ListPicker(l) => images(l.common.as_ref()),
        Kind::TimePicker(t) => images(t.common.as_ref()),
        Kind::Text(text) => text.attachments.iter().any(|a| foreign(a.blob.as_ref())),
        Kind::RichLink(link) => match link.image.as_ref().and_then(|i| i.source.as_ref()) {
            Some(parley_proto::v1::rich_link_image::Source::Blob(blob)) => foreign(Some(blob)),
            Some(parley_proto::v1::rich_link_image::Source::Data(_)) | None => false,
        },
        _ => false,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

fn span_for(name: &'static str, metadata: &MetadataMap) -> tracing::Span {
    let span = tracing::info_span!("agent_gateway", rpc = name);
    parley_telemetry::set_parent_from(&span, &MetadataExtractor(metadata));
    span
}

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

/// The typed entries of a stored transcript, oldest first: one per message id (a writer's
/// redelivery may have appended a message twice; the first is kept). An entry that does not
/// decode is skipped and counted, never shown: its bytes are not something an agent may read.
fn transcript_entries(raw: &[bytes::Bytes]) -> Vec<TranscriptEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut skipped = 0_u64;
    let mut entries = Vec::with_capacity(raw.len());
    for bytes in raw {
        match TranscriptEntry::decode(bytes.as_ref()) {
            Ok(entry) if entry.author.is_some() => {
                if entry.message_id.is_empty() || seen.insert(entry.message_id.clone()) {
                    entries.push(entry);
                }
            }
            // Not a transcript entry (an author is always set by the writers).
            Ok(_) | Err(_) => skipped += 1,
        }
    }
    if skipped > 0 {
        metrics::counter!("parley_agent_gateway_transcript_entries_skipped_total")
            .increment(skipped);
        tracing::warn!(
            skipped,
            "transcript entries that do not decode were skipped"
        );
    }
    entries
}

fn result(command_id: &str, outcome: Result<(), (CommandError, String)>) -> AgentEvent {
    let (ok, error, detail) = match outcome {
        Ok(()) => (true, CommandError::Unspecified, String::new()),
        Err((error, detail)) => (false, error, detail),
    };
    AgentEvent {
        cursor: 0,
        at: Some(now()),
        event: Some(agent_event::Event::Result(CommandResult {
            command_id: command_id.to_owned(),
            ok,
            error: error as i32,
            detail,
        })),
    }
}

type CmdResult = Result<(), (CommandError, String)>;

fn invalid(detail: &str) -> (CommandError, String) {
    (CommandError::Invalid, detail.to_owned())
}

fn not_allowed() -> (CommandError, String) {
    (
        CommandError::NotAllowed,
        "the conversation is not yours".to_owned(),
    )
}

fn backend(error: impl std::fmt::Display) -> (CommandError, String) {
    tracing::warn!(%error, "backend failure");
    (
        CommandError::Unavailable,
        "backend unavailable, retry".to_owned(),
    )
}

/// Per-connection state.
#[derive(Default)]
struct Connection {
    id: String,
    presence: Option<Presence>,
}

impl Inner {
    async fn session(&self, metadata: &MetadataMap) -> Result<Session, Status> {
        let token = bearer(metadata)?;
        let (business, agent) = self
            .store
            .session(token)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Status::unauthenticated("unknown or expired session"))?;
        let entry = self
            .agents
            .entry(&business, &agent)
            .ok_or_else(|| Status::unauthenticated("the agent no longer exists"))?;
        Ok(Session {
            business,
            agent,
            display_name: entry.display_name.clone(),
        })
    }

    /// The conversation a reference names, only within the session's business.
    async fn conversation(
        &self,
        session: &Session,
        reference: Option<&ConversationRef>,
    ) -> Result<Option<ConversationKey>, String> {
        let Some(reference) = reference else {
            return Ok(None);
        };
        self.store.resolve(&session.business, &reference.id).await
    }

    async fn state(&self, key: &ConversationKey) -> Result<Option<ConversationState>, String> {
        let versioned = self
            .conversations
            .load(key)
            .await
            .map_err(|e| e.to_string())?;
        Ok(versioned.and_then(|v| ConversationState::decode(v.state.as_ref()).ok()))
    }

    /// Whether the session's agent holds the conversation (routing's state or the pool).
    async fn owns(&self, session: &Session, key: &ConversationKey) -> Result<bool, String> {
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
    async fn still_waiting(
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
    fn is_supervisor(&self, session: &Session) -> bool {
        self.agents
            .entry(&session.business, &session.agent)
            .is_some_and(|a| a.role == crate::agents::Role::Supervisor)
    }

    /// Whether the session's agent may read the conversation's transcript: a supervisor of
    /// the business, the agent holding it, or an agent it was offered to before.
    async fn may_read(
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

    async fn owned(
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
    async fn assignment_id(&self, key: &ConversationKey) -> Result<String, (CommandError, String)> {
        Ok(self
            .state(key)
            .await
            .map_err(backend)?
            .map(|s| s.assignment_id)
            .unwrap_or_default())
    }

    fn event_id(&self, session: &Session, command_id: &str, stage: &str) -> String {
        let d = digest(&[&session.business, &session.agent, command_id, stage]);
        format!("agw-{stage}-{}", hex::encode(&d[..16]))
    }

    fn meta(
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
    fn agent_partition(&self, session: &Session) -> Result<Partition, String> {
        let d = digest(&[&session.business, &session.agent]);
        let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % self.partitions.get();
        Partition::new(n, self.partitions).map_err(|e| e.to_string())
    }

    async fn publish_routing(
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
        let event = RoutingCommand {
            meta: Some(self.meta(event_id.clone(), key, partition)),
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

    fn actor(&self, session: &Session) -> Actor {
        Actor {
            kind: ActorKind::Agent as i32,
            id: session.agent.clone(),
            display_name: session.display_name.clone(),
        }
    }

    async fn publish_outbound(
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

    /// Whether the customer's device can show `kind` (unknown devices are given the benefit
    /// of the doubt, as outbound's gate does).
    async fn can_show(&self, key: &ConversationKey, kind: &Kind) -> Result<bool, String> {
        let fields = self
            .conversations
            .get_fields(key, &[facts::DEVICE_CAPABILITIES, facts::DEVICE_AGENT])
            .await
            .map_err(|e| e.to_string())?;
        let Some(recorded) = fields.first().cloned().flatten() else {
            return Ok(true);
        };
        let caps = capabilities::to_proto(&Capabilities::parse(&recorded).unwrap_or_default());
        let agent = fields
            .get(1)
            .cloned()
            .flatten()
            .filter(|a| !a.is_empty())
            .map(|a| DeviceAgent::parse(&a));
        let agent = capabilities::device_agent_to_proto(agent.as_ref());
        let probe = OutboundMessage {
            kind: Some(kind.clone()),
            ..Default::default()
        };
        Ok(capabilities::can_show(&probe, &caps, Some(&agent)))
    }

    async fn command(
        &self,
        session: &Session,
        connection: &mut Connection,
        command: agent_command::Command,
        command_id: &str,
    ) -> CmdResult {
        use agent_command::Command as C;
        let needs_id = !matches!(command, C::Heartbeat(_) | C::Ack(_) | C::Hello(_));
        if needs_id && command_id.is_empty() {
            return Err(invalid("`command_id` is required"));
        }
        match command {
            C::Hello(_) => Err(invalid("hello is only the first command")),
            C::Ack(_) => Ok(()),
            C::Presence(p) => {
                let status = match AgentStatus::try_from(p.status).unwrap_or_default() {
                    AgentStatus::Available => PresenceStatus::Available,
                    AgentStatus::Away => PresenceStatus::Away,
                    AgentStatus::Offline => PresenceStatus::Offline,
                    AgentStatus::Unspecified => return Err(invalid("`status` is required")),
                };
                // Capacity and skills are the administrator's to bound, not the agent's to
                // declare.
                let entry = self.agents.entry(&session.business, &session.agent);
                if let Some(skill) = entry.and_then(|e| e.undeclarable(&p.skills)) {
                    return Err((
                        CommandError::Invalid,
                        format!("the skill `{skill}` is not one this agent may declare"),
                    ));
                }
                let allowed = entry.map_or(0, crate::agents::AgentEntry::max_capacity);
                if p.capacity > allowed {
                    return Err((
                        CommandError::Invalid,
                        format!(
                            "capacity {} is above the {allowed} conversations this agent may hold",
                            p.capacity
                        ),
                    ));
                }
                let presence = Presence {
                    status,
                    capacity: p.capacity,
                    skills: p.skills.clone(),
                };
                self.pool
                    .set_presence(
                        &session.business,
                        &session.agent,
                        &presence,
                        self.options.heartbeat_interval * 3,
                    )
                    .await
                    .map_err(backend)?;
                connection.presence = Some(presence);
                let wire = match status {
                    PresenceStatus::Available => AgentPresence::Available,
                    PresenceStatus::Away => AgentPresence::Away,
                    PresenceStatus::Offline => AgentPresence::Offline,
                };
                self.publish_routing(
                    session,
                    None,
                    self.event_id(session, command_id, "presence"),
                    routing_command::Command::AgentPresence(AgentPresenceChanged {
                        agent_id: session.agent.clone(),
                        presence: wire as i32,
                        queues: Vec::new(),
                        skills: p.skills,
                        session_id: connection.id.clone(),
                    }),
                )
                .await
                .map_err(backend)?;
                self.publish_routing(
                    session,
                    None,
                    self.event_id(session, command_id, "capacity"),
                    routing_command::Command::AgentCapacity(AgentCapacityChanged {
                        agent_id: session.agent.clone(),
                        max_conversations: p.capacity,
                    }),
                )
                .await
                .map_err(backend)
            }
            C::Heartbeat(_) => {
                let Some(presence) = &connection.presence else {
                    return Err(invalid("set presence before heartbeats"));
                };
                self.pool
                    .set_presence(
                        &session.business,
                        &session.agent,
                        presence,
                        self.options.heartbeat_interval * 3,
                    )
                    .await
                    .map_err(backend)
            }
            C::Accept(a) => {
                // Only a conversation offered to this agent (routing's state or the pool holds
                // it for the agent): not any queued one, which would bypass the queue's
                // priority, skills and the agent's capacity.
                let key = self.owned(session, a.conversation.as_ref()).await?;
                let assignment_id = self
                    .state(&key)
                    .await
                    .map_err(backend)?
                    .map(|s| s.assignment_id)
                    .unwrap_or_default();
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "accept"),
                    routing_command::Command::Accept(AcceptAssignment {
                        agent_id: session.agent.clone(),
                        assignment_id,
                    }),
                )
                .await
                .map_err(backend)
            }
            C::Reply(r) => {
                let key = self.owned(session, r.conversation.as_ref()).await?;
                let kind = match r.content {
                    Some(reply::Content::Text(t)) => Kind::Text(t),
                    Some(reply::Content::RichLink(l)) => Kind::RichLink(l),
                    Some(reply::Content::QuickReply(q)) => Kind::QuickReply(q),
                    Some(reply::Content::ListPicker(l)) => Kind::ListPicker(l),
                    Some(reply::Content::TimePicker(t)) => Kind::TimePicker(t),
                    None => return Err(invalid("the reply has no content")),
                };
                if carries_foreign_blob(&kind, &key) {
                    return Err((
                        CommandError::NotAllowed,
                        "an attachment is not one of this conversation's files (upload it first)"
                            .to_owned(),
                    ));
                }
                if !self.can_show(&key, &kind).await.map_err(backend)? {
                    return Err((
                        CommandError::CapabilityMissing,
                        "the customer's device cannot show this reply".to_owned(),
                    ));
                }
                let event_id = self.event_id(session, command_id, "reply");
                self.store
                    .put_command(&session.business, &event_id, command_id)
                    .await
                    .map_err(backend)?;
                self.publish_outbound(session, &key, event_id.clone(), kind)
                    .await?;
                let assignment_id = self
                    .state(&key)
                    .await
                    .map_err(backend)?
                    .map(|s| s.assignment_id)
                    .unwrap_or_default();
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "replied"),
                    routing_command::Command::AgentReplied(AgentReplied {
                        agent_id: session.agent.clone(),
                        assignment_id,
                        outbound_event_id: event_id,
                    }),
                )
                .await
                .map_err(backend)
            }
            C::Typing(t) => {
                let key = self.owned(session, t.conversation.as_ref()).await?;
                let kind = if t.active {
                    Kind::TypingStart(TypingStart::default())
                } else {
                    Kind::TypingEnd(TypingEnd::default())
                };
                let event_id = self.event_id(session, command_id, "typing");
                self.publish_outbound(session, &key, event_id, kind).await
            }
            C::Transfer(t) => {
                // A supervisor reassigns any conversation of the business.
                let key = if self.is_supervisor(session) {
                    self.conversation(session, t.conversation.as_ref())
                        .await
                        .map_err(backend)?
                        .ok_or_else(not_allowed)?
                } else {
                    self.owned(session, t.conversation.as_ref()).await?
                };
                let target = match t.target {
                    Some(transfer::Target::AgentId(a)) if !a.is_empty() => {
                        transfer_conversation::Target::ToAgentId(a)
                    }
                    Some(transfer::Target::Queue(q)) if !q.is_empty() => {
                        transfer_conversation::Target::ToQueue(q)
                    }
                    _ => return Err(invalid("the transfer has no target")),
                };
                let to = match &target {
                    transfer_conversation::Target::ToAgentId(a) => self
                        .agents
                        .entry(&session.business, a)
                        .map_or_else(|| a.clone(), |e| e.display_name.clone()),
                    transfer_conversation::Target::ToQueue(q) => format!("the queue “{q}”"),
                };
                let event_id = self.event_id(session, command_id, "transfer");
                let line = if t.note.trim().is_empty() {
                    format!(
                        "{} transferred the conversation to {to}.",
                        session.display_name
                    )
                } else {
                    format!(
                        "{} transferred the conversation to {to}: {}",
                        session.display_name, t.note
                    )
                };
                self.publish_routing(
                    session,
                    Some(&key),
                    event_id.clone(),
                    routing_command::Command::Transfer(TransferConversation {
                        from_agent_id: session.agent.clone(),
                        target: Some(target),
                        skills: Vec::new(),
                        note: t.note,
                    }),
                )
                .await
                .map_err(backend)?;
                // The transfer and its note, for whoever reads the transcript next (the
                // receiving agent first). A retried command appends the same message id.
                let entry = TranscriptEntry {
                    author: Some(Actor {
                        kind: ActorKind::System as i32,
                        ..Actor::default()
                    }),
                    at: Some(now()),
                    text: line,
                    message_id: event_id,
                    ..TranscriptEntry::default()
                };
                self.conversations
                    .append_transcript(&key, entry.encode_to_vec().into())
                    .await
                    .map_err(backend)
            }
            C::Decline(d) => {
                let key = self.owned(session, d.conversation.as_ref()).await?;
                let assignment_id = self.assignment_id(&key).await?;
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "decline"),
                    routing_command::Command::Decline(DeclineAssignment {
                        agent_id: session.agent.clone(),
                        assignment_id,
                        reason: d.reason,
                    }),
                )
                .await
                .map_err(backend)
            }
            C::ReturnToBot(r) => {
                let key = self.owned(session, r.conversation.as_ref()).await?;
                let assignment_id = self.assignment_id(&key).await?;
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "return-to-bot"),
                    routing_command::Command::ReturnToBot(ReturnToBot {
                        agent_id: session.agent.clone(),
                        assignment_id,
                        note: r.note,
                    }),
                )
                .await
                .map_err(backend)
            }
            C::Resolve(r) => {
                let key = self.owned(session, r.conversation.as_ref()).await?;
                let assignment_id = self
                    .state(&key)
                    .await
                    .map_err(backend)?
                    .map(|s| s.assignment_id)
                    .unwrap_or_default();
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "resolve"),
                    routing_command::Command::Resolve(ResolveConversation {
                        agent_id: session.agent.clone(),
                        assignment_id,
                        resolution_code: String::new(),
                        note: r.note,
                    }),
                )
                .await
                .map_err(backend)
            }
        }
    }

    /// Sends the agent's log after `cursor` until the connection or the gateway stops.
    async fn tail(
        self: Arc<Self>,
        session: Session,
        metadata: MetadataMap,
        mut cursor: u64,
        tx: mpsc::Sender<Result<AgentEvent, Status>>,
        stop: CancellationToken,
    ) {
        // A session signed out, revoked or expired ends the connection within this long.
        const SESSION_CHECK: Duration = Duration::from_secs(1);
        let mut checked = tokio::time::Instant::now();
        loop {
            if stop.is_cancelled() || tx.is_closed() {
                return;
            }
            if checked.elapsed() >= SESSION_CHECK {
                checked = tokio::time::Instant::now();
                if let Err(status) = self.session(&metadata).await
                    && status.code() == tonic::Code::Unauthenticated
                {
                    let _ = tx.send(Err(status)).await;
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
                    () = tx.closed() => return,
                    () = tokio::time::sleep(self.options.poll_interval) => {}
                }
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<AgentEvent, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl AgentGateway for GatewayService {
    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let span = span_for("Authenticate", request.metadata());
        async {
            let agent = self
                .inner
                .agents
                .authenticate(&request.get_ref().agent_token)
                .ok_or_else(|| Status::unauthenticated("unknown agent token"))?;
            let session = hex::encode(rand::rng().random::<[u8; 32]>());
            let ttl = self.inner.options.session_ttl;
            self.inner
                .store
                .put_session(&session, &agent.business, &agent.id, ttl)
                .await
                .map_err(unavailable)?;
            Ok(Response::new(AuthenticateResponse {
                session_token: session,
                agent_id: agent.id.clone(),
                business_id: agent.business.clone(),
                display_name: agent.display_name.clone(),
                expires_at: Some(prost_types::Timestamp::from(SystemTime::now() + ttl)),
            }))
        }
        .instrument(span)
        .await
    }

    type ConnectStream = EventStream;

    async fn connect(
        &self,
        request: Request<Streaming<AgentCommand>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let span = span_for("Connect", request.metadata());
        let inner = self.inner.clone();
        let metadata = request.metadata().clone();
        let session = inner
            .session(request.metadata())
            .instrument(span.clone())
            .await?;
        let mut commands = request.into_inner();
        let first = commands
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("the connection ended before hello"))?;
        let Some(agent_command::Command::Hello(hello)) = first.command else {
            return Err(Status::invalid_argument("the first command must be hello"));
        };
        let latest = inner
            .store
            .latest_cursor(&session.business, &session.agent)
            .await
            .map_err(unavailable)?;
        let (tx, mut rx) = mpsc::channel::<Result<AgentEvent, Status>>(256);
        let welcome = AgentEvent {
            cursor: 0,
            at: Some(now()),
            event: Some(agent_event::Event::Welcome(Welcome {
                agent_id: session.agent.clone(),
                latest_cursor: latest,
            })),
        };
        let _ = tx.send(Ok(welcome)).await;
        let _ = tx.send(Ok(result(&first.command_id, Ok(())))).await;
        let stop = inner.stop.child_token();
        tokio::spawn(
            inner
                .clone()
                .tail(
                    session.clone(),
                    metadata.clone(),
                    hello.resume_after_cursor,
                    tx.clone(),
                    stop.clone(),
                )
                .instrument(span.clone()),
        );
        let mut connection = Connection {
            id: uuid::Uuid::now_v7().to_string(),
            presence: None,
        };
        tokio::spawn(
            async move {
                loop {
                    let next = tokio::select! {
                        () = stop.cancelled() => break,
                        next = commands.message() => next,
                    };
                    let command = match next {
                        Ok(Some(command)) => command,
                        Ok(None) => break,
                        Err(status) => {
                            tracing::debug!(%status, "agent connection ended");
                            break;
                        }
                    };
                    // A session that expired or was revoked ends the connection.
                    if let Err(status) = inner.session(&metadata).await {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                    let outcome = match command.command {
                        Some(c) => {
                            inner
                                .command(&session, &mut connection, c, &command.command_id)
                                .await
                        }
                        None => Err(invalid("no command")),
                    };
                    if tx
                        .send(Ok(result(&command.command_id, outcome)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                stop.cancel();
            }
            .instrument(span),
        );
        let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_transcript(
        &self,
        request: Request<GetTranscriptRequest>,
    ) -> Result<Response<GetTranscriptResponse>, Status> {
        let span = span_for("GetTranscript", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let key = self
                .inner
                .conversation(&session, request.get_ref().conversation.as_ref())
                .await
                .map_err(unavailable)?
                .ok_or_else(|| Status::not_found("no such conversation"))?;
            let reference = request
                .get_ref()
                .conversation
                .as_ref()
                .map_or("", |c| c.id.as_str());
            if !self
                .inner
                .may_read(&session, &key, reference)
                .await
                .map_err(unavailable)?
            {
                return Err(Status::permission_denied(
                    "the conversation was never offered to this agent",
                ));
            }
            let limit = match request.get_ref().limit {
                0 => 100,
                n => n.min(1000) as usize,
            };
            let raw = self
                .inner
                .conversations
                .transcript(&key, limit)
                .await
                .map_err(unavailable)?;
            Ok(Response::new(GetTranscriptResponse {
                entries: transcript_entries(&raw),
            }))
        }
        .instrument(span)
        .await
    }

    async fn list_conversations(
        &self,
        request: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        let span = span_for("ListConversations", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let holders = if self.inner.is_supervisor(&session) {
                self.inner
                    .pool
                    .agents(&session.business)
                    .await
                    .map_err(unavailable)?
                    .into_iter()
                    .map(|a| a.agent_id)
                    .collect()
            } else {
                vec![session.agent.clone()]
            };
            let mut tags = Vec::new();
            for holder in holders {
                let held = self
                    .inner
                    .pool
                    .assignments_of(&session.business, &holder)
                    .await
                    .map_err(unavailable)?;
                tags.extend(held.into_iter().map(|tag| (holder.clone(), tag)));
            }
            let mut conversations = Vec::with_capacity(tags.len());
            let prefix = format!("{}:", session.business);
            let supervisor = self.inner.is_supervisor(&session);
            for (holder, tag) in tags {
                let opaque = tag.strip_prefix(&prefix).unwrap_or(&tag);
                let Ok(key) = ConversationKey::parse(&session.business, opaque) else {
                    continue;
                };
                let reference = self.inner.store.ref_for(&key).await.map_err(unavailable)?;
                let state = self.inner.state(&key).await.map_err(unavailable)?;
                conversations.push(ConversationSummary {
                    conversation: Some(ConversationRef { id: reference }),
                    state: state.as_ref().map_or(0, |s| s.lifecycle),
                    last_customer_message_at: state
                        .as_ref()
                        .and_then(|s| s.last_customer_message_at),
                    queue: state.map(|s| s.queue).unwrap_or_default(),
                    assigned_agent_id: holder,
                    position: 0,
                    waited_seconds: 0,
                });
            }
            // Then what waits, for a supervisor all of it, for an agent what its declared
            // skills cover.
            let skills = if supervisor {
                None
            } else {
                Some(
                    self.inner
                        .pool
                        .agents(&session.business)
                        .await
                        .map_err(unavailable)?
                        .into_iter()
                        .find(|a| a.agent_id == session.agent)
                        .map(|a| a.skills)
                        .unwrap_or_default(),
                )
            };
            let now_ms = now_ms();
            for (waiting, place) in self
                .inner
                .still_waiting(&session.business, skills.as_deref())
                .await
                .map_err(unavailable)?
            {
                let Ok(key) = ConversationKey::parse(&session.business, &waiting.opaque) else {
                    continue;
                };
                let reference = self.inner.store.ref_for(&key).await.map_err(unavailable)?;
                let state = self.inner.state(&key).await.map_err(unavailable)?;
                conversations.push(ConversationSummary {
                    conversation: Some(ConversationRef { id: reference }),
                    state: state.as_ref().map_or(0, |s| s.lifecycle),
                    last_customer_message_at: state
                        .as_ref()
                        .and_then(|s| s.last_customer_message_at),
                    queue: waiting.queue,
                    assigned_agent_id: String::new(),
                    position: u32::try_from(place).unwrap_or(u32::MAX),
                    waited_seconds: now_ms.saturating_sub(waiting.since_ms) / 1000,
                });
            }
            Ok(Response::new(ListConversationsResponse { conversations }))
        }
        .instrument(span)
        .await
    }

    type GetAttachmentStream =
        Pin<Box<dyn Stream<Item = Result<AttachmentChunk, Status>> + Send + 'static>>;

    async fn get_attachment(
        &self,
        request: Request<GetAttachmentRequest>,
    ) -> Result<Response<Self::GetAttachmentStream>, Status> {
        use futures::StreamExt as _;
        let span = span_for("GetAttachment", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let reference = request.get_ref().conversation.as_ref();
            let key = self
                .inner
                .conversation(&session, reference)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| Status::not_found("no such conversation"))?;
            let reference = reference.map_or("", |c| c.id.as_str());
            let blob = request.get_ref().blob_key.as_str();
            if !self
                .inner
                .may_read(&session, &key, reference)
                .await
                .map_err(unavailable)?
                || !crate::attachments::belongs_to(blob, &key)
            {
                return Err(Status::permission_denied(
                    "not an attachment of a conversation of this agent",
                ));
            }
            let (size, stream) = self.inner.blobs.open(blob).await.map_err(|e| match e {
                crate::attachments::AttachmentError::NotFound => {
                    Status::not_found("no such attachment")
                }
                other => unavailable(other),
            })?;
            let head = futures::stream::once(async move {
                Ok(AttachmentChunk {
                    data: Vec::new(),
                    size_bytes: size,
                })
            });
            let body = stream
                .map(|item| {
                    let pieces: Vec<Result<AttachmentChunk, Status>> = match item {
                        Ok(bytes) => bytes
                            .chunks(crate::attachments::CHUNK_BYTES)
                            .map(|piece| {
                                Ok(AttachmentChunk {
                                    data: piece.to_vec(),
                                    size_bytes: 0,
                                })
                            })
                            .collect(),
                        Err(error) => vec![Err(unavailable(error))],
                    };
                    futures::stream::iter(pieces)
                })
                .flatten();
            let stream: Self::GetAttachmentStream = Box::pin(head.chain(body));
            Ok(Response::new(stream))
        }
        .instrument(span)
        .await
    }

    async fn upload_attachment(
        &self,
        request: Request<Streaming<UploadAttachmentChunk>>,
    ) -> Result<Response<UploadAttachmentResponse>, Status> {
        let span = span_for("UploadAttachment", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let mut chunks = request.into_inner();
            let first = chunks
                .message()
                .await?
                .ok_or_else(|| Status::invalid_argument("the upload is empty"))?;
            let key = self
                .inner
                .owned(&session, first.conversation.as_ref())
                .await
                .map_err(|(error, detail)| match error {
                    CommandError::Unavailable => Status::unavailable(detail),
                    _ => Status::permission_denied(detail),
                })?;
            if first.name.trim().is_empty() || first.mime_type.trim().is_empty() {
                return Err(Status::invalid_argument(
                    "the first message names the file and its MIME type",
                ));
            }
            let limit = usize::try_from(crate::attachments::MAX_UPLOAD_BYTES).unwrap_or(usize::MAX);
            let mut data = first.data;
            if data.len() > limit {
                return Err(Status::resource_exhausted(
                    "the file is larger than 100 MiB",
                ));
            }
            while let Some(chunk) = chunks.message().await? {
                if data.len().saturating_add(chunk.data.len()) > limit {
                    return Err(Status::resource_exhausted(
                        "the file is larger than 100 MiB",
                    ));
                }
                data.extend_from_slice(&chunk.data);
            }
            let attachment = self
                .inner
                .blobs
                .put(&key, &first.name, &first.mime_type, data)
                .await
                .map_err(unavailable)?;
            Ok(Response::new(UploadAttachmentResponse {
                attachment: Some(attachment),
            }))
        }
        .instrument(span)
        .await
    }

    async fn sign_out(
        &self,
        request: Request<SignOutRequest>,
    ) -> Result<Response<SignOutResponse>, Status> {
        let span = span_for("SignOut", request.metadata());
        async {
            self.inner.session(request.metadata()).await?;
            let token = bearer(request.metadata())?;
            self.inner
                .store
                .delete_session(token)
                .await
                .map_err(unavailable)?;
            Ok(Response::new(SignOutResponse {}))
        }
        .instrument(span)
        .await
    }

    async fn revoke_sessions(
        &self,
        request: Request<RevokeSessionsRequest>,
    ) -> Result<Response<RevokeSessionsResponse>, Status> {
        let span = span_for("RevokeSessions", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let target = request.get_ref().agent_id.as_str();
            if target != session.agent && !self.inner.is_supervisor(&session) {
                return Err(Status::permission_denied(
                    "only a supervisor revokes another agent's sessions",
                ));
            }
            if self.inner.agents.entry(&session.business, target).is_none() {
                return Err(Status::not_found("no such agent"));
            }
            self.inner
                .store
                .revoke_sessions(&session.business, target)
                .await
                .map_err(unavailable)?;
            Ok(Response::new(RevokeSessionsResponse {}))
        }
        .instrument(span)
        .await
    }

    async fn list_queues(
        &self,
        request: Request<ListQueuesRequest>,
    ) -> Result<Response<ListQueuesResponse>, Status> {
        let span = span_for("ListQueues", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            if !self.inner.is_supervisor(&session) {
                return Err(Status::permission_denied(
                    "only a supervisor lists the queues",
                ));
            }
            let now_ms = now_ms();
            let mut queues: std::collections::BTreeMap<String, QueueSummary> =
                std::collections::BTreeMap::new();
            for (waiting, _) in self
                .inner
                .still_waiting(&session.business, None)
                .await
                .map_err(unavailable)?
            {
                let summary = queues
                    .entry(waiting.queue.clone())
                    .or_insert_with(|| QueueSummary {
                        queue: waiting.queue.clone(),
                        ..QueueSummary::default()
                    });
                summary.waiting += 1;
                summary.longest_wait_seconds = summary
                    .longest_wait_seconds
                    .max(now_ms.saturating_sub(waiting.since_ms) / 1000);
            }
            Ok(Response::new(ListQueuesResponse {
                queues: queues.into_values().collect(),
            }))
        }
        .instrument(span)
        .await
    }

    async fn list_agents(
        &self,
        request: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let span = span_for("ListAgents", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            if !self.inner.is_supervisor(&session) {
                return Err(Status::permission_denied(
                    "only a supervisor lists the agents",
                ));
            }
            let live = self
                .inner
                .pool
                .agents(&session.business)
                .await
                .map_err(unavailable)?;
            let agents = self
                .inner
                .agents
                .of_business(&session.business)
                .map(|entry| {
                    let state = live.iter().find(|a| a.agent_id == entry.id);
                    let status = match state.map(|a| a.status) {
                        Some(PresenceStatus::Available) => AgentStatus::Available,
                        Some(PresenceStatus::Away) => AgentStatus::Away,
                        Some(PresenceStatus::Offline) | None => AgentStatus::Offline,
                    };
                    AgentSummary {
                        agent_id: entry.id.clone(),
                        display_name: entry.display_name.clone(),
                        status: status as i32,
                        capacity: state.map_or(0, |a| a.capacity),
                        load: state.map_or(0, |a| a.load),
                        skills: state.map(|a| a.skills.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            Ok(Response::new(ListAgentsResponse { agents }))
        }
        .instrument(span)
        .await
    }

    async fn list_canned_responses(
        &self,
        request: Request<ListCannedResponsesRequest>,
    ) -> Result<Response<ListCannedResponsesResponse>, Status> {
        let span = span_for("ListCannedResponses", request.metadata());
        async {
            let session = self.inner.session(request.metadata()).await?;
            let responses = self
                .inner
                .agents
                .canned(&session.business)
                .map(|c| CannedResponse {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    text: c.text.clone(),
                })
                .collect();
            Ok(Response::new(ListCannedResponsesResponse { responses }))
        }
        .instrument(span)
        .await
    }
}
