//! The `amb.events.delivery` consumer: the outcome of each agent's reply (sent, refused with
//! the reason, retrying, failed) becomes a `ReplyDelivery` event in the agent's log.
//!
//! The gateway is a subscriber of the public delivery events like any other: its own durable
//! consumer, no change to outbound. A result is the agent's when the gateway sent the reply
//! itself (it recorded the command that did, `put_command`) and the result's sender is an
//! agent of the result's business; anything else (bot, notifications, typing) is acked and
//! left alone.

use async_trait::async_trait;
use parley_bus::{ConsumerSpec, Delivery, Handler, Namespace, Outcome, StreamKind};
use parley_proto::v1::{
    ActorKind, AgentEvent, ConversationRef, DeliveryResult, ReplyDelivery, agent_event,
    delivery_result,
};
use parley_types::ConversationKey;
use prost::Message as _;

use crate::{agents::Agents, store::GatewayStore};

/// The durable consumer the gateway reads delivery results with (shared by every replica).
pub fn delivery_consumer_spec(namespace: &Namespace) -> ConsumerSpec {
    ConsumerSpec::new(namespace, StreamKind::Events, "agent-gateway-delivery")
        .with_filter(namespace.event_filter("delivery"))
}

/// Writes the agents' delivery results into their logs.
pub(crate) struct DeliveryHandler {
    pub(crate) store: GatewayStore,
    pub(crate) agents: Agents,
}

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        delay: std::time::Duration::from_millis(500),
        reason,
    }
}

/// The result as an agent may see it: no opaque id in the key, nor in any explanation
/// (Apple's error text may quote the request).
pub(crate) fn for_agent(mut result: DeliveryResult, opaque: &str) -> DeliveryResult {
    if let Some(c) = result
        .meta
        .as_mut()
        .and_then(|meta| meta.conversation.as_mut())
    {
        c.opaque_id.clear();
    }
    let scrub = |text: &mut String| {
        if !opaque.is_empty() && text.contains(opaque) {
            *text = text.replace(opaque, "<customer>");
        }
    };
    match result.outcome.as_mut() {
        Some(delivery_result::Outcome::Refused(r)) => scrub(&mut r.detail),
        Some(delivery_result::Outcome::Retrying(r)) => scrub(&mut r.detail),
        Some(delivery_result::Outcome::Failed(f)) => scrub(&mut f.detail),
        Some(delivery_result::Outcome::Sent(_)) | None => {}
    }
    result
}

#[async_trait]
impl Handler for DeliveryHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(result) = DeliveryResult::decode(delivery.payload.as_ref()) else {
            // Not ours to judge: another subscriber's problem, not an agent's.
            return Outcome::Ack;
        };
        let Some(sender) = result.sender.as_ref() else {
            return Outcome::Ack;
        };
        if sender.kind != ActorKind::Agent as i32 || sender.id.is_empty() {
            return Outcome::Ack;
        }
        let Some(key) = result
            .meta
            .as_ref()
            .and_then(|m| m.conversation.as_ref())
            .and_then(|c| ConversationKey::parse(&c.business_id, &c.opaque_id).ok())
        else {
            return Outcome::Ack;
        };
        let business = key.business.as_str();
        let agent = sender.id.clone();
        if self.agents.entry(business, &agent).is_none() {
            return Outcome::Ack;
        }
        let event_id = result
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        if event_id.is_empty() {
            return Outcome::Ack;
        }
        let command_id = match self
            .store
            .command_of(business, &result.outbound_event_id)
            .await
        {
            Ok(Some(command)) => command,
            // Not a reply this gateway sent (a typing indicator, or the record expired).
            Ok(None) => return Outcome::Ack,
            Err(error) => return retry(error),
        };
        let reference = match self.store.ref_for(&key).await {
            Ok(reference) => reference,
            Err(error) => return retry(error),
        };
        let at = result.meta.as_ref().and_then(|m| m.occurred_at);
        let event = AgentEvent {
            cursor: 0,
            at,
            event: Some(agent_event::Event::Delivery(ReplyDelivery {
                conversation: Some(ConversationRef { id: reference }),
                command_id,
                result: Some(for_agent(result, key.opaque.as_str())),
            })),
        };
        match self
            .store
            .append(business, &agent, &event_id, &event.encode_to_vec())
            .await
        {
            Ok(_) => Outcome::Ack,
            Err(error) => retry(error),
        }
    }
}
