//! The `amb.agent` consumer: each `AgentTask` becomes an `AgentEvent` in its agent's log.

use std::sync::Arc;

use async_trait::async_trait;
use parley_bus::{Delivery, Handler, Outcome};
use parley_proto::v1::{
    AgentEvent, AgentTask, AssignmentEndReason, AssignmentOffer, ConversationRef, CustomerMessage,
    InboundMessage, InteractiveDataRef, ReplyDelivery, UnassignReason, Unassigned, agent_event,
    agent_task, inbound_message, interactive_reply,
};
use parley_runtime::ordered::{self, Admission};
use parley_state::{ConversationStore, GatePolicy};
use parley_types::{ConversationKey, Sequence};
use prost::Message as _;

use crate::store::GatewayStore;

/// Writes agent tasks into the agents' logs.
pub(crate) struct TaskHandler {
    /// The gateway's keys.
    pub(crate) store: GatewayStore,
    /// The conversation store, for the ordering gate.
    pub(crate) conversations: Arc<dyn ConversationStore>,
    /// How the gate waits for missing sequences.
    pub(crate) gate: GatePolicy,
}

/// The gate stage of the gateway (a conversation's agent tasks, in `meta.sequence` order).
pub(crate) const STAGE: &str = "agent-gateway";

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        delay: std::time::Duration::from_millis(500),
        reason,
    }
}

fn unassign_reason(reason: i32) -> UnassignReason {
    match AssignmentEndReason::try_from(reason).unwrap_or_default() {
        AssignmentEndReason::Transferred => UnassignReason::Transferred,
        AssignmentEndReason::NoReply | AssignmentEndReason::OfferExpired => {
            UnassignReason::NoAnswer
        }
        AssignmentEndReason::AgentOffline => UnassignReason::PresenceLost,
        AssignmentEndReason::Resolved => UnassignReason::Resolved,
        AssignmentEndReason::ClosedByCustomer | AssignmentEndReason::Closed => {
            UnassignReason::ClosedByCustomer
        }
        _ => UnassignReason::Unspecified,
    }
}

/// A customer's message as an agent may see it: without the opaque id and, for an
/// interactive reply whose data reference could not be fetched, without Apple's JSON of the
/// message (`raw_json` then holds the whole message: `sourceId`, the reference's key and URL)
/// and without the reference's locators and key (its bundle id, size and title stay).
pub(crate) fn for_agent(mut message: InboundMessage) -> InboundMessage {
    if let Some(c) = message
        .meta
        .as_mut()
        .and_then(|meta| meta.conversation.as_mut())
    {
        c.opaque_id.clear();
    }
    if let Some(inbound_message::Kind::InteractiveReply(reply)) = message.kind.as_mut()
        && let Some(interactive_reply::Reply::DataRefFailure(failure)) = reply.reply.as_mut()
    {
        reply.raw_json.clear();
        if let Some(reference) = failure.data_ref.take() {
            failure.data_ref = Some(InteractiveDataRef {
                bid: reference.bid,
                size: reference.size,
                title: reference.title,
                ..InteractiveDataRef::default()
            });
        }
    }
    message
}

/// The agent event for one task (its cursor is set when read back from the log).
pub(crate) async fn to_event(
    store: &GatewayStore,
    key: &ConversationKey,
    task: AgentTask,
) -> Result<Option<AgentEvent>, String> {
    let reference = store.ref_for(key).await?;
    if matches!(task.task, Some(agent_task::Task::NewAssignment(_))) {
        // The agent may read this conversation's transcript from now on, also after it left.
        store
            .put_offered(key.business.as_str(), &task.agent_id, &reference)
            .await?;
    }
    let conversation = Some(ConversationRef { id: reference });
    let at = task.meta.as_ref().and_then(|m| m.occurred_at);
    let event = match task.task {
        None => return Ok(None),
        Some(agent_task::Task::NewAssignment(a)) => {
            let context = a.context.unwrap_or_default();
            agent_event::Event::Assignment(AssignmentOffer {
                conversation,
                queue: a.queue,
                intent: context.intent,
                group: context.group,
                locale: context.locale,
                capabilities: context.capabilities,
                waited_seconds: 0,
                response_target_seconds: a.response_target_seconds,
                summary: a.summary,
                transfer_note: a.transfer_note,
                previous_agent_id: a.previous_agent_id,
            })
        }
        Some(agent_task::Task::AssignmentEnded(e)) => agent_event::Event::Unassigned(Unassigned {
            conversation,
            reason: unassign_reason(e.reason) as i32,
        }),
        Some(agent_task::Task::CustomerMessage(m)) => {
            agent_event::Event::CustomerMessage(CustomerMessage {
                conversation,
                message: Some(for_agent(m)),
            })
        }
        Some(agent_task::Task::Delivery(d)) => {
            let command_id = store
                .command_of(key.business.as_str(), &d.outbound_event_id)
                .await?
                .unwrap_or_default();
            let mut result = d;
            if let Some(c) = result
                .meta
                .as_mut()
                .and_then(|meta| meta.conversation.as_mut())
            {
                c.opaque_id.clear();
            }
            agent_event::Event::Delivery(ReplyDelivery {
                conversation,
                command_id,
                result: Some(result),
            })
        }
    };
    Ok(Some(AgentEvent {
        cursor: 0,
        at,
        event: Some(event),
    }))
}

#[async_trait]
impl Handler for TaskHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let task = match AgentTask::decode(delivery.payload.as_ref()) {
            Ok(task) => task,
            Err(error) => {
                return Outcome::DeadLetter {
                    reason: format!("not a parley.v1.AgentTask: {error}"),
                };
            }
        };
        let Some(meta) = task.meta.clone() else {
            return Outcome::DeadLetter {
                reason: "the task has no meta".into(),
            };
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return Outcome::DeadLetter {
                reason: "the task names no conversation".into(),
            };
        };
        let key = match ConversationKey::parse(&conversation.business_id, &conversation.opaque_id) {
            Ok(key) => key,
            Err(error) => {
                return Outcome::DeadLetter {
                    reason: format!("conversation: {error}"),
                };
            }
        };
        if meta.event_id.is_empty() || task.agent_id.is_empty() {
            return Outcome::DeadLetter {
                reason: "the task has no event id or no agent".into(),
            };
        }
        // Replicas consume the same durable consumer concurrently: a conversation's tasks are
        // applied strictly in `meta.sequence` order through the store's gate (0: unsequenced).
        let store = &*self.conversations;
        let claim = match Sequence::new(meta.sequence) {
            Ok(sequence) => match ordered::admit(store, &key, STAGE, sequence, &self.gate).await {
                Admission::Proceed(claim) => Some(claim),
                Admission::Settle(outcome) => return outcome,
            },
            Err(_) => None,
        };
        let outcome = self.apply(&key, &meta.event_id, task).await;
        match claim {
            Some(claim) => ordered::finish(store, &key, claim, &self.gate, outcome).await,
            None => outcome,
        }
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((key, sequence)) = parley_wire::meta::position::<AgentTask>(&delivery.payload) {
            ordered::release_after_panic(&*self.conversations, &key, STAGE, sequence).await;
        }
    }
}

impl TaskHandler {
    async fn apply(&self, key: &ConversationKey, event_id: &str, task: AgentTask) -> Outcome {
        let agent = task.agent_id.clone();
        let event = match to_event(&self.store, key, task).await {
            Ok(Some(event)) => event,
            Ok(None) => {
                return Outcome::DeadLetter {
                    reason: "the task has no task".into(),
                };
            }
            Err(error) => return retry(error),
        };
        match self
            .store
            .append(
                key.business.as_str(),
                &agent,
                event_id,
                &event.encode_to_vec(),
            )
            .await
        {
            Ok(_) => Outcome::Ack,
            Err(error) => retry(error),
        }
    }
}

/// Shared handle for the consumer.
pub(crate) fn handler(
    store: GatewayStore,
    conversations: Arc<dyn ConversationStore>,
    gate: GatePolicy,
) -> Arc<TaskHandler> {
    Arc::new(TaskHandler {
        store,
        conversations,
        gate,
    })
}
