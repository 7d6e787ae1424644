//! Carrying out the reducer's effects on the bus: conversation events, bot and agent tasks,
//! the customer's hours notice; and the deterministic ids they are published with.

use parley_bus::{Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, AgentConversationContext, AgentTask, AssignmentEnded, BotContext,
        BotTask, ConversationEnded, ConversationEvent, ConversationStarted, ConversationState,
        EscalationStatus, EscalationUpdate, EventMeta, HandedToBot, NewAssignment, OutboundMessage,
        OutboundText, ReturnedFromAgent, agent_task, bot_task, conversation_event,
        outbound_message,
    },
};
use parley_types::{BusinessId, ConversationKey, EventId};
use prost::Message as _;

use crate::{
    handler::{BOT_ID, Cause, Failure, STAGE_ROUTING, Shared, end_reason, now_ms, timestamp_ms},
    lifecycle::{Change, Effect, EndReason},
    outbox::{self, Outbox, OutboxEvent},
};

impl Shared {
    pub(crate) fn meta(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &Cause<'_>,
        sequence: u64,
    ) -> EventMeta {
        parley_wire::meta::event_meta(
            "routing",
            key,
            id,
            cause.event_id.as_str(),
            sequence,
            self.partitions,
            timestamp_ms(now_ms()),
        )
    }

    /// Metadata with the next number of the conversation's `counter` (one counter per
    /// stream, so each consumer sees contiguous sequences: the agent gateway applies a
    /// conversation's agent tasks strictly in that order). Idempotent per event id, so a
    /// republished effect keeps its number.
    pub(crate) async fn sequenced_meta(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &Cause<'_>,
        counter: &str,
    ) -> Result<EventMeta, Failure> {
        let sequence = self
            .store
            .allocate_sequence(key, counter, Some(id.as_str()))
            .await
            .map_err(|e| format!("allocate sequence: {e}"))?;
        Ok(self.meta(key, id, cause, sequence.get()))
    }

    pub(crate) async fn publish(
        &self,
        key: &ConversationKey,
        subject: String,
        id: &EventId,
        event_type: &str,
        payload: Vec<u8>,
    ) -> Result<(), Failure> {
        self.bus
            .publish(Outgoing::conversation_event(
                subject, id, event_type, payload, key,
            ))
            .await
            .map(|_| ())
            .map_err(|e| format!("publish: {e}"))
    }

    /// The event `effect` publishes, for the outbox (published once the state is stored);
    /// `None` for effects on the agent pool (applied after the state is stored) and for those
    /// with nothing to send.
    #[allow(clippy::too_many_lines)]
    pub(crate) fn build_effect(
        &self,
        key: &ConversationKey,
        effect: &Effect,
        id: &EventId,
        cause: &Cause<'_>,
        next: &ConversationState,
        place: Option<u32>,
    ) -> Option<OutboxEvent> {
        let partition = self.partitions.of(key);
        let bot_context = |new_conversation: bool| BotContext {
            bot_id: BOT_ID.into(),
            intent: next.intent.clone(),
            group: next.group.clone(),
            locale: next.locale.clone(),
            capabilities: next.capabilities.clone(),
            device_agent: next.device_agent.clone(),
            new_conversation,
            within_business_hours: self
                .rules(&key.business)
                .route_queue(&next.intent, &next.group)
                .is_open(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX)),
            agents_available: false,
        };
        match effect {
            Effect::Publish(transition) => {
                let transition_proto = match &transition.change {
                    Change::Started => {
                        conversation_event::Transition::Started(ConversationStarted {
                            inbound_event_id: cause.event_id.to_string(),
                        })
                    }
                    Change::Reopened { reopen_count } => {
                        conversation_event::Transition::Reopened(parley_proto::v1::Reopened {
                            inbound_event_id: cause.event_id.to_string(),
                            ended_at: next.ended_at,
                            reopen_count: *reopen_count,
                        })
                    }
                    Change::HandedToBot { returned_by } => {
                        conversation_event::Transition::WithBot(HandedToBot {
                            bot_id: BOT_ID.into(),
                            returned_by_agent_id: returned_by.clone().unwrap_or_default(),
                        })
                    }
                    Change::Queued {
                        queue,
                        reason,
                        skills,
                    } => conversation_event::Transition::Queued(parley_proto::v1::Queued {
                        queue: queue.clone(),
                        reason: *reason as i32,
                        skills: skills.clone(),
                        position: place.unwrap_or(0),
                        response_target_seconds: self
                            .rules(&key.business)
                            .queue(queue)
                            .map_or(0, |q| q.response_target().as_secs()),
                    }),
                    Change::Assigned {
                        agent,
                        queue,
                        previous_agent,
                    } => conversation_event::Transition::Assigned(parley_proto::v1::Assigned {
                        agent_id: agent.clone(),
                        assignment_id: next.assignment_id.clone(),
                        queue: queue.clone().unwrap_or_default(),
                        previous_agent_id: previous_agent.clone().unwrap_or_default(),
                    }),
                    Change::ClosedByCustomer { agent } => {
                        conversation_event::Transition::ClosedByCustomer(
                            parley_proto::v1::ClosedByCustomer {
                                inbound_event_id: cause.event_id.to_string(),
                                agent_id: agent.clone().unwrap_or_default(),
                            },
                        )
                    }
                    Change::Resolved { reason, agent } => {
                        conversation_event::Transition::Resolved(parley_proto::v1::Resolved {
                            reason: *reason as i32,
                            agent_id: agent.clone().unwrap_or_default(),
                            resolution_code: cause
                                .told
                                .resolution_code
                                .unwrap_or_default()
                                .to_owned(),
                            note: cause.told.resolution_note.unwrap_or_default().to_owned(),
                        })
                    }
                };
                let event = ConversationEvent {
                    meta: Some(self.meta(key, id, cause, next.version)),
                    previous_state: transition.from as i32,
                    state: transition.to as i32,
                    snapshot: Some(next.clone()),
                    actor: Some(Actor {
                        kind: ActorKind::System as i32,
                        id: "routing".into(),
                        display_name: String::new(),
                    }),
                    transition: Some(transition_proto),
                };
                Some(OutboxEvent {
                    subject: self.namespace.event_subject("conversation", partition),
                    id: id.to_string(),
                    event_type: ConversationEvent::TYPE.to_owned(),
                    counter: String::new(),
                    payload: event.encode_to_vec(),
                })
            }
            Effect::SendToBot { .. } => {
                let inbound = cause.inbound?;
                let task = BotTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    context: Some(bot_context(next.reopen_count == 0 && next.version == 1)),
                    task: Some(bot_task::Task::CustomerMessage(inbound.clone())),
                };
                Some(self.pending(key, StreamKind::Bot, id, &task))
            }
            Effect::ReturnedToBot { agent, note } => {
                let task = BotTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    context: Some(bot_context(false)),
                    task: Some(bot_task::Task::ReturnedFromAgent(ReturnedFromAgent {
                        agent_id: agent.clone(),
                        note: note.clone(),
                    })),
                };
                Some(self.pending(key, StreamKind::Bot, id, &task))
            }
            Effect::StopBot { reason } => {
                let task = match reason {
                    EndReason::Escalated => bot_task::Task::EscalationUpdate(EscalationUpdate {
                        status: EscalationStatus::Queued as i32,
                        queue: next.queue.clone(),
                        position: place.unwrap_or(0),
                        ..Default::default()
                    }),
                    _ => bot_task::Task::ConversationEnded(ConversationEnded {
                        state: next.lifecycle,
                        reason: 0,
                    }),
                };
                let task = BotTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    context: Some(bot_context(false)),
                    task: Some(task),
                };
                Some(self.pending(key, StreamKind::Bot, id, &task))
            }
            Effect::AssignAgent { agent, queue } => {
                let task = AgentTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    agent_id: agent.clone(),
                    assignment_id: next.assignment_id.clone(),
                    task: Some(agent_task::Task::NewAssignment(NewAssignment {
                        context: Some(AgentConversationContext {
                            intent: next.intent.clone(),
                            group: next.group.clone(),
                            locale: next.locale.clone(),
                            capabilities: next.capabilities.clone(),
                            device_agent: next.device_agent.clone(),
                            conversation_started_at: next.created_at,
                            reopen_count: next.reopen_count,
                        }),
                        queue: queue.clone().unwrap_or_default(),
                        skills: next.skills.clone(),
                        response_target_seconds: queue
                            .as_deref()
                            .and_then(|q| self.rules(&key.business).queue(q))
                            .map_or(0, |q| q.response_target().as_secs()),
                        summary: next.handoff_summary.clone(),
                        transfer_note: next.handoff_note.clone(),
                        previous_agent_id: next.previous_agent_id.clone(),
                        ..Default::default()
                    })),
                };
                Some(self.pending(key, StreamKind::Agent, id, &task))
            }
            Effect::ReleaseAgent { agent, reason } => {
                let task = AgentTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    agent_id: agent.clone(),
                    assignment_id: String::new(),
                    task: Some(agent_task::Task::AssignmentEnded(AssignmentEnded {
                        reason: end_reason(*reason) as i32,
                        next_owner: next.assigned_agent_id.clone(),
                    })),
                };
                Some(self.pending(key, StreamKind::Agent, id, &task))
            }
            Effect::ForwardToAgent { agent, .. } => {
                let inbound = cause.inbound?;
                let task = AgentTask {
                    meta: Some(self.meta(key, id, cause, 0)),
                    agent_id: agent.clone(),
                    assignment_id: next.assignment_id.clone(),
                    task: Some(agent_task::Task::CustomerMessage(inbound.clone())),
                };
                Some(self.pending(key, StreamKind::Agent, id, &task))
            }
            Effect::TellCustomerHours {
                message,
                next_opening,
                ..
            } => {
                let body = match next_opening {
                    Some((day, time)) => format!("{message} We open {} at {time}.", day.name()),
                    None => message.clone(),
                };
                Some(self.customer_notice(key, id, cause, body))
            }
            // Pool changes wait until the state is stored.
            Effect::Enqueue { .. } | Effect::Dequeue { .. } => None,
        }
    }

    /// A notice to the customer from routing (business hours, queue position), as an
    /// automated reply in the conversation's outbound order (its number is drawn when the
    /// state is stored).
    pub(crate) fn customer_notice(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &Cause<'_>,
        body: String,
    ) -> OutboxEvent {
        let event = OutboundMessage {
            meta: Some(self.meta(key, id, cause, 0)),
            apple_message_id: id.apple_message_id(),
            sender: Some(Actor {
                kind: ActorKind::System as i32,
                id: "routing".into(),
                display_name: String::new(),
            }),
            auto_reply: true,
            kind: Some(outbound_message::Kind::Text(OutboundText {
                body,
                attachments: Vec::new(),
            })),
            ..Default::default()
        };
        self.pending(key, StreamKind::Outbound, id, &event)
    }

    /// An outbox event of a work stream, numbered from that stream's conversation counter.
    pub(crate) fn pending<E: parley_proto::Event>(
        &self,
        key: &ConversationKey,
        kind: StreamKind,
        id: &EventId,
        event: &E,
    ) -> OutboxEvent {
        let counter = match kind {
            StreamKind::Bot => "bot",
            StreamKind::Agent => "agent",
            _ => parley_state::facts::COUNTER_OUTBOUND,
        };
        OutboxEvent {
            subject: self.namespace.subject(kind, self.partitions.of(key)),
            id: id.to_string(),
            event_type: E::TYPE.to_owned(),
            counter: counter.to_owned(),
            payload: event.encode_to_vec(),
        }
    }

    /// Publishes `outbox` (its events numbered with `sequences`, in order), then marks it
    /// done, without waiting: an outbox found not done is published again, under the same
    /// ids and numbers.
    pub(crate) async fn publish_outbox(
        &self,
        key: &ConversationKey,
        outbox: &Outbox,
        sequences: &[parley_types::Sequence],
    ) -> Result<(), Failure> {
        self.publish_events(key, outbox, sequences).await?;
        let (store, key, cause) = (self.store.clone(), key.clone(), outbox.cause.clone());
        tokio::spawn(async move {
            if let Err(error) = store.set_fields(&key, &[(outbox::DONE, &cause)]).await {
                tracing::debug!(%error, "outbox not marked done; the next input republishes it");
            }
        });
        Ok(())
    }

    /// Publishes `outbox`'s events, numbered with `sequences` in order.
    pub(crate) async fn publish_events(
        &self,
        key: &ConversationKey,
        outbox: &Outbox,
        sequences: &[parley_types::Sequence],
    ) -> Result<(), Failure> {
        let mut drawn = sequences.iter();
        for event in &outbox.events {
            let sequence = if event.counter.is_empty() {
                None
            } else {
                Some(
                    *drawn
                        .next()
                        .ok_or("outbox: fewer numbers than numbered events")?,
                )
            };
            let payload = outbox::finalize(event, sequence)?;
            let id = EventId::new(event.id.clone()).map_err(|e| format!("outbox: {e}"))?;
            self.publish(key, event.subject.clone(), &id, &event.event_type, payload)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn publish_agent(
        &self,
        key: &ConversationKey,
        id: &EventId,
        task: &AgentTask,
    ) -> Result<(), Failure> {
        self.publish(
            key,
            self.namespace
                .subject(StreamKind::Agent, self.partitions.of(key)),
            id,
            AgentTask::TYPE,
            task.encode_to_vec(),
        )
        .await
    }
}

/// The ids of the events published for `effects`: derived from the cause and each effect's
/// content (and its occurrence among identical effects), so a redelivered cause, or a retry
/// after a compare-and-set conflict that yields the same effect again, republishes the same
/// id (dropped by the stream), while a different effect never reuses an id.
pub(crate) fn effect_ids(cause: &EventId, effects: &[Effect]) -> Vec<EventId> {
    let mut seen: Vec<u64> = Vec::with_capacity(effects.len());
    effects
        .iter()
        .map(|effect| {
            let digest = fnv1a(format!("{effect:?}").as_bytes());
            let occurrence = seen.iter().filter(|d| **d == digest).count();
            seen.push(digest);
            cause.derived(
                &format!("{STAGE_ROUTING}.{digest:016x}"),
                u32::try_from(occurrence).unwrap_or(u32::MAX),
            )
        })
        .collect()
}

/// The cause of what a tick decides about one (conversation, agent, state version): the same
/// on every replica, so two replicas deciding the same thing publish the same ids. Carries no
/// opaque id.
pub(crate) fn tick_cause(
    what: &str,
    business: &BusinessId,
    agent: &str,
    tag: &str,
    version: u64,
) -> EventId {
    let digest = fnv1a(format!("{business}/{agent}/{tag}/{version}").as_bytes());
    EventId::new(format!("{STAGE_ROUTING}-{what}-{digest:016x}-v{version}"))
        .unwrap_or_else(|_| EventId::fresh())
}

/// FNV-1a, 64 bits: stable across processes and builds.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn effect_ids_follow_content_not_position() {
        #[allow(clippy::unwrap_used)]
        let cause = EventId::new("in-1").unwrap();
        let bot = |text: &str| Effect::SendToBot {
            text: text.to_owned(),
        };
        let a = effect_ids(&cause, &[bot("x"), bot("y"), bot("x")]);
        let b = effect_ids(&cause, &[bot("y"), bot("x")]);
        assert_eq!(a[1], b[0]);
        assert_eq!(a[0], b[1]);
        assert_ne!(a[0], a[2]);
        let other = effect_ids(
            &EventId::new("in-2").unwrap_or_else(|_| cause.clone()),
            &[bot("x")],
        );
        assert_ne!(other[0], a[0]);
    }
}
