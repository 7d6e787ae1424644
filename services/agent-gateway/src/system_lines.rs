//! The transcript's system lines: the `amb.events.conversation` consumer turns routing's
//! lifecycle changes (queued with the place told, assigned, transferred, handed back to the
//! bot, resolved, reopened) into `ACTOR_KIND_SYSTEM` transcript entries, so an agent reading
//! the transcript sees what happened between the messages.
//!
//! The gateway writes them (not routing) because they are for agents: routing publishes the
//! lifecycle once, on the public stream, and its compare-and-set loop stays free of
//! transcript writes. Each line's message id is the event's id, so a redelivery appends a
//! copy that readers drop. The customer's close is not repeated here: routing writes it with
//! the customer's message that closed the conversation.

use std::sync::Arc;

use async_trait::async_trait;
use parley_bus::{ConsumerSpec, Delivery, Handler, Namespace, Outcome, StreamKind};
use parley_proto::v1::{
    Actor, ActorKind, ConversationEvent, EscalationReason, LifecycleState, ResolutionReason,
    TranscriptEntry, conversation_event::Transition,
};
use parley_state::ConversationStore;
use parley_types::ConversationKey;
use prost::Message as _;

use crate::{agents::Agents, store::GatewayStore};

/// The durable consumer the gateway reads lifecycle changes with (shared by every replica).
pub fn conversation_consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Events, "agent-gateway-conversation")
        .with_filter(namespace.event_filter("conversation"))
}

/// Writes system lines into transcripts, and keeps the gateway's record of the
/// conversations waiting for an agent (for `ListConversations` and `ListQueues`).
pub(crate) struct SystemLines {
    pub(crate) conversations: Arc<dyn ConversationStore>,
    pub(crate) agents: Agents,
    pub(crate) store: GatewayStore,
}

impl SystemLines {
    fn name(&self, business: &str, agent: &str) -> String {
        self.agents
            .entry(business, agent)
            .map_or_else(|| agent.to_owned(), |a| a.display_name.clone())
    }

    /// The line for one lifecycle change, if it gets one.
    pub(crate) fn text(&self, business: &str, event: &ConversationEvent) -> Option<String> {
        let text = match event.transition.as_ref()? {
            Transition::Queued(q) => {
                let place = if q.position > 0 {
                    format!(" (place {})", q.position)
                } else {
                    String::new()
                };
                match EscalationReason::try_from(q.reason).unwrap_or_default() {
                    EscalationReason::Transfer => {
                        format!("Transferred to the queue “{}”{place}.", q.queue)
                    }
                    EscalationReason::Reassignment => {
                        format!("Back in the queue “{}”{place}.", q.queue)
                    }
                    _ => format!("Waiting for an agent in the queue “{}”{place}.", q.queue),
                }
            }
            Transition::Assigned(a) if !a.previous_agent_id.is_empty() => format!(
                "Transferred from {} to {}.",
                self.name(business, &a.previous_agent_id),
                self.name(business, &a.agent_id)
            ),
            Transition::Assigned(a) => format!("Assigned to {}.", self.name(business, &a.agent_id)),
            Transition::WithBot(b) if !b.returned_by_agent_id.is_empty() => format!(
                "Handed back to the bot by {}.",
                self.name(business, &b.returned_by_agent_id)
            ),
            Transition::Resolved(r) => {
                let by = match ResolutionReason::try_from(r.reason).unwrap_or_default() {
                    ResolutionReason::ResolvedByAgent if !r.agent_id.is_empty() => {
                        format!("Resolved by {}", self.name(business, &r.agent_id))
                    }
                    ResolutionReason::ResolvedByBot => "Resolved by the bot".to_owned(),
                    ResolutionReason::ClosedInactive => "Closed after inactivity".to_owned(),
                    ResolutionReason::ClosedByOperator => "Closed by an operator".to_owned(),
                    ResolutionReason::CustomerUnreachable => {
                        "Closed: the customer cannot be reached".to_owned()
                    }
                    _ => "Resolved".to_owned(),
                };
                let by = if r.resolution_code.trim().is_empty() {
                    by
                } else {
                    format!("{by} (wrap-up code {})", r.resolution_code)
                };
                if r.note.trim().is_empty() {
                    format!("{by}.")
                } else {
                    format!("{by}: {}", r.note)
                }
            }
            Transition::Reopened(_) => {
                "The customer wrote again: the conversation reopened.".to_owned()
            }
            Transition::Started(_) | Transition::WithBot(_) | Transition::ClosedByCustomer(_) => {
                return None;
            }
        };
        Some(text)
    }
}

/// Whether a conversation that made `transition` from `previous` may be on the waiting
/// list (only a queued one is).
fn may_be_waiting(previous: LifecycleState, transition: &Transition) -> bool {
    match previous {
        LifecycleState::Queued => true,
        LifecycleState::Unspecified => !matches!(transition, Transition::Started(_)),
        _ => false,
    }
}

#[async_trait]
impl Handler for SystemLines {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(event) = ConversationEvent::decode(delivery.payload.as_ref()) else {
            // Not ours to judge: the public stream's other subscribers see it too.
            return Outcome::Ack;
        };
        let Some(meta) = event.meta.as_ref() else {
            return Outcome::Ack;
        };
        let Some(key) = meta
            .conversation
            .as_ref()
            .and_then(|c| ConversationKey::parse(&c.business_id, &c.opaque_id).ok())
        else {
            return Outcome::Ack;
        };
        if meta.event_id.is_empty() {
            return Outcome::Ack;
        }
        let waiting = match event.transition.as_ref() {
            Some(Transition::Queued(q)) => {
                let since = event
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.state_entered_at)
                    .or(meta.occurred_at)
                    .map_or(0, |t| {
                        u64::try_from(t.seconds)
                            .unwrap_or(0)
                            .saturating_mul(1000)
                            .saturating_add(u64::try_from(t.nanos).unwrap_or(0) / 1_000_000)
                    });
                self.store
                    .put_waiting(
                        &key,
                        &crate::store::Waiting {
                            opaque: String::new(),
                            queue: q.queue.clone(),
                            since_ms: since,
                            skills: q.skills.clone(),
                            response_target_seconds: q.response_target_seconds,
                        },
                    )
                    .await
            }
            // Only a conversation that was queued can be on the waiting list: every other
            // transition (a new conversation, the bot's, an agent's) skips the round trip.
            // A producer that leaves the previous state unset is taken at its word only for
            // a brand-new conversation.
            Some(transition) if may_be_waiting(event.previous_state(), transition) => {
                self.store.drop_waiting(&key).await
            }
            Some(_) | None => Ok(()),
        };
        if let Err(error) = waiting {
            return Outcome::Retry {
                delay: std::time::Duration::from_millis(500),
                reason: format!("waiting record: {error}"),
            };
        }
        let Some(text) = self.text(key.business.as_str(), &event) else {
            return Outcome::Ack;
        };
        let entry = TranscriptEntry {
            author: Some(Actor {
                kind: ActorKind::System as i32,
                ..Actor::default()
            }),
            at: meta.occurred_at,
            text,
            message_id: meta.event_id.clone(),
            ..TranscriptEntry::default()
        };
        match self
            .conversations
            .append_transcript(&key, entry.encode_to_vec().into())
            .await
        {
            Ok(()) => Outcome::Ack,
            Err(error) => Outcome::Retry {
                delay: std::time::Duration::from_millis(500),
                reason: format!("transcript: {error}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use parley_proto::v1::{Assigned, HandedToBot, Queued, Resolved};

    use super::*;

    fn lines() -> SystemLines {
        let agents = Agents::parse(&format!(
            "[[agents]]\nbusiness = \"b\"\nid = \"a1\"\ndisplay_name = \"Ava\"\ntoken_sha256 = \"{}\"\n",
            crate::agents::token_sha256("t")
        ))
        .expect("valid");
        SystemLines {
            conversations: Arc::new(parley_state::EmbeddedStore::new(
                parley_state::StoreSettings::default(),
            )),
            agents,
            store: GatewayStore::in_memory(std::time::Duration::from_secs(60)),
        }
    }

    #[test]
    fn only_a_queued_conversation_is_dropped_from_the_waiting_list() {
        let assigned = Transition::Assigned(Assigned::default());
        let with_bot = Transition::WithBot(HandedToBot::default());
        let started = Transition::Started(parley_proto::v1::ConversationStarted::default());
        assert!(may_be_waiting(LifecycleState::Queued, &assigned));
        assert!(may_be_waiting(LifecycleState::Queued, &with_bot));
        assert!(!may_be_waiting(LifecycleState::New, &with_bot));
        assert!(!may_be_waiting(LifecycleState::WithBot, &assigned));
        assert!(!may_be_waiting(LifecycleState::Unspecified, &started));
        // A producer that does not say where the conversation was: drop, to be safe.
        assert!(may_be_waiting(LifecycleState::Unspecified, &assigned));
    }

    fn text(transition: Transition) -> Option<String> {
        lines().text(
            "b",
            &ConversationEvent {
                transition: Some(transition),
                ..ConversationEvent::default()
            },
        )
    }

    #[test]
    fn lifecycle_changes_read_as_sentences_with_agents_names() {
        assert_eq!(
            text(Transition::Queued(Queued {
                queue: "general".into(),
                position: 2,
                ..Queued::default()
            }))
            .as_deref(),
            Some("Waiting for an agent in the queue “general” (place 2).")
        );
        assert_eq!(
            text(Transition::Assigned(Assigned {
                agent_id: "a1".into(),
                ..Assigned::default()
            }))
            .as_deref(),
            Some("Assigned to Ava.")
        );
        assert_eq!(
            text(Transition::Assigned(Assigned {
                agent_id: "a2".into(),
                previous_agent_id: "a1".into(),
                ..Assigned::default()
            }))
            .as_deref(),
            Some("Transferred from Ava to a2.")
        );
        assert_eq!(
            text(Transition::WithBot(HandedToBot {
                bot_id: "bot".into(),
                returned_by_agent_id: "a1".into(),
            }))
            .as_deref(),
            Some("Handed back to the bot by Ava.")
        );
        assert_eq!(
            text(Transition::Resolved(Resolved {
                reason: ResolutionReason::ResolvedByAgent as i32,
                agent_id: "a1".into(),
                note: "refund sent".into(),
                ..Resolved::default()
            }))
            .as_deref(),
            Some("Resolved by Ava: refund sent")
        );
        assert_eq!(
            text(Transition::Resolved(Resolved {
                reason: ResolutionReason::ResolvedByAgent as i32,
                agent_id: "a1".into(),
                resolution_code: "refunded".into(),
                note: String::new(),
            }))
            .as_deref(),
            Some("Resolved by Ava (wrap-up code refunded).")
        );
        assert_eq!(
            text(Transition::WithBot(HandedToBot::default())),
            None,
            "the bot's first turn is no line"
        );
    }
}
