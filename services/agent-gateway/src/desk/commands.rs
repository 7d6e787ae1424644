//! An agent's commands (the gRPC `Connect` stream's and the console's): presence,
//! heartbeats, accept, decline, replies, typing, transfer, return to the bot and resolve.

use parley_apple::headers::{Capabilities, DeviceAgent};
use parley_proto::v1::{
    AcceptAssignment, Actor, ActorKind, AgentCapacityChanged, AgentEvent, AgentPresence,
    AgentPresenceChanged, AgentReplied, AgentStatus, CommandError, CommandResult,
    DeclineAssignment, OutboundMessage, ResolveConversation, ReturnToBot, TranscriptEntry,
    TransferConversation, TypingEnd, TypingStart, agent_command, agent_event,
    outbound_message::Kind, reply, routing_command, transfer, transfer_conversation,
};
use parley_state::{Presence, PresenceStatus, facts};
use parley_types::ConversationKey;
use parley_wire::capabilities;
use prost::Message as _;

use super::{CmdResult, Desk, Refusal, Session, backend, invalid, not_allowed, now};

/// One agent connection's state (a gRPC `Connect` stream, a console's event stream).
#[derive(Default)]
pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) presence: Option<Presence>,
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

impl Desk {
    /// Whether the customer's device can show `kind` (unknown devices are given the benefit
    /// of the doubt, as outbound's gate does).
    pub(crate) async fn can_show(
        &self,
        key: &ConversationKey,
        kind: &Kind,
    ) -> Result<bool, String> {
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

    pub(crate) async fn command(
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
                let assignment_id = self.assignment_id(&key).await?;
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
                let assignment_id = self.assignment_id(&key).await?;
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
                let assignment_id = self.assignment_id(&key).await?;
                self.publish_routing(
                    session,
                    Some(&key),
                    self.event_id(session, command_id, "resolve"),
                    routing_command::Command::Resolve(ResolveConversation {
                        agent_id: session.agent.clone(),
                        assignment_id,
                        resolution_code: r.resolution_code,
                        note: r.note,
                    }),
                )
                .await
                .map_err(backend)
            }
        }
    }
}

/// The `CommandResult` event that answers a command.
pub(crate) fn command_result(command_id: &str, outcome: Result<(), Refusal>) -> AgentEvent {
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
