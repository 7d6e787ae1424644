//! The consent ledger: the record per conversation and topic in the store (the one outbound's
//! gate reads), the `ConsentEvent` audit trail on `amb.events.consent`, and the messages this
//! service sends (confirmations, disclosures, notifications) on `amb.outbound`.
//!
//! Every write is idempotent by event id: the record is written before its event is
//! published, both under the same id, so a retried cause writes the same record again and
//! JetStream drops the second copy of the event; a message's outbound number is allocated
//! per event id, so a retry keeps its place in the conversation's order.

use std::{sync::Arc, time::SystemTime};

use parley_bus::{Bus, Namespace, Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ConsentEvent, ConsentStatus, EventMeta, OutboundMessage, OutboundText,
        outbound_message::Kind,
    },
};
use parley_state::{ConversationStore, facts};
use parley_types::{ConversationKey, EventId, PartitionCount};
use prost::Message as _;

use crate::error::Result;

/// The name this service gives itself in `EventMeta.producer` and as the sender of its
/// messages.
pub const PRODUCER: &str = "notification-consent";

/// The store field that says the disclosure text of a topic was sent (its value: the id of
/// the message that carried it).
pub fn disclosure_field(topic: &str) -> String {
    format!("consent_disclosure:{topic}")
}

/// The store field that keeps, per topic, the inbound sequence of the customer's decision
/// (keyword or preferences reply) its record holds. A customer message applied late (its
/// sequence was skipped at the gate and arrived after later ones) must not undo a newer
/// decision: a decision changes a topic only if its sequence is not below this mark.
pub fn decision_field(topic: &str) -> String {
    format!("consent_decided_at:{topic}")
}

/// A message to send.
pub(crate) struct Message<'a> {
    pub(crate) id: &'a EventId,
    pub(crate) cause: &'a EventId,
    pub(crate) sender: Actor,
    pub(crate) kind: Kind,
    /// `Some(topic)` for a notification the business starts (outbound requires an opt-in).
    pub(crate) notification_topic: Option<&'a str>,
}

/// A text message's content.
pub(crate) fn text(body: impl Into<String>) -> Kind {
    Kind::Text(OutboundText {
        body: body.into(),
        attachments: Vec::new(),
    })
}

/// The store and the bus, and how to address a conversation on them.
#[derive(Clone)]
pub(crate) struct Ledger {
    pub(crate) store: Arc<dyn ConversationStore>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) namespace: Namespace,
    pub(crate) partitions: PartitionCount,
}

impl Ledger {
    pub(crate) fn meta(
        &self,
        key: &ConversationKey,
        id: &EventId,
        cause: &EventId,
        sequence: u64,
    ) -> EventMeta {
        parley_wire::meta::event_meta(
            PRODUCER,
            key,
            id,
            cause.as_str(),
            sequence,
            self.partitions,
            prost_types::Timestamp::from(SystemTime::now()),
        )
    }

    /// The consent recorded for `topic` (an unreadable record counts as none: refusing is
    /// the safe side).
    pub(crate) async fn consent(
        &self,
        key: &ConversationKey,
        topic: &str,
    ) -> Result<Option<ConsentEvent>> {
        let Some(bytes) = self.store.consent(key, topic).await? else {
            return Ok(None);
        };
        match ConsentEvent::decode(bytes.as_ref()) {
            Ok(event) => Ok(Some(event)),
            Err(error) => {
                tracing::warn!(%error, conversation = %key.redacted(), topic, "unreadable consent record");
                Ok(None)
            }
        }
    }

    /// The status recorded for `topic`.
    pub(crate) async fn status(&self, key: &ConversationKey, topic: &str) -> Result<ConsentStatus> {
        Ok(self
            .consent(key, topic)
            .await?
            .map_or(ConsentStatus::None, |c| c.status()))
    }

    /// Records a change of consent (`event.meta` set) and publishes it on the audit trail.
    pub(crate) async fn record(&self, key: &ConversationKey, event: &ConsentEvent) -> Result<()> {
        let id = event_id(event)?;
        self.store
            .set_consent(key, &event.topic, event.encode_to_vec().into())
            .await?;
        self.publish_event(key, &id, event).await
    }

    /// Publishes an event on the audit trail without changing the record (a disclosure sent).
    pub(crate) async fn publish_event(
        &self,
        key: &ConversationKey,
        id: &EventId,
        event: &ConsentEvent,
    ) -> Result<()> {
        let subject = self
            .namespace
            .event_subject("consent", self.partitions.of(key));
        self.bus
            .publish(Outgoing::conversation_event(
                subject,
                id,
                ConsentEvent::TYPE,
                event.encode_to_vec(),
                key,
            ))
            .await?;
        metrics::counter!("parley_consent_events_total", "status" => event.status().as_str_name())
            .increment(1);
        Ok(())
    }

    /// Sends a text to the customer through outbound, in the conversation's order; returns
    /// its outbound sequence.
    pub(crate) async fn send(&self, key: &ConversationKey, message: Message<'_>) -> Result<u64> {
        // The conversation's one outbound counter, shared with the bot, the agent gateway and
        // routing; idempotent per event id.
        let sequence = self
            .store
            .allocate_sequence(key, facts::COUNTER_OUTBOUND, Some(message.id.as_str()))
            .await?
            .get();
        let outbound = OutboundMessage {
            meta: Some(self.meta(key, message.id, message.cause, sequence)),
            apple_message_id: message.id.apple_message_id(),
            sender: Some(message.sender),
            auto_reply: true,
            msp_agent: String::new(),
            business_initiated: message.notification_topic.is_some(),
            notification_topic: message.notification_topic.unwrap_or_default().to_owned(),
            kind: Some(message.kind),
            more: Vec::new(),
        };
        let subject = self
            .namespace
            .subject(StreamKind::Outbound, self.partitions.of(key));
        self.bus
            .publish(Outgoing::conversation_event(
                subject,
                message.id,
                OutboundMessage::TYPE,
                outbound.encode_to_vec(),
                key,
            ))
            .await?;
        Ok(sequence)
    }
}

fn event_id(event: &ConsentEvent) -> Result<EventId> {
    let id = event
        .meta
        .as_ref()
        .map(|m| m.event_id.clone())
        .unwrap_or_default();
    EventId::new(id).map_err(|e| crate::error::Error::Run(format!("consent event id: {e}")))
}
