//! The `amb.inbound` consumer: every customer message passes the store's in-order gate
//! (stage [`STAGE_CONSENT`]), so a conversation's keywords apply once each and in the order
//! the customer wrote them (`stop` then `subscribe` ends opted in, on any number of
//! replicas). A keyword changes the record of every topic of the business, publishes one
//! `ConsentEvent` per topic, then confirms in the customer's language. This runs whoever
//! answers the conversation (the bot, a person, an external bot): consent is a platform
//! rule, not a conversation.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use parley_bus::{Delivery, Handler, Outcome};
use parley_proto::v1::{
    Actor, ActorKind, ConsentAudit, ConsentEvent, ConsentSource, ConsentStatus, InboundMessage,
    OptIn, OptOut, consent_event, inbound_message,
};
use parley_state::{GateDecision, GatePolicy};
use parley_types::{ConversationKey, EventId, Sequence};
use prost::Message as _;
use tracing::Instrument as _;

use crate::{
    keywords::{Keyword, keyword},
    ledger::{Ledger, Message, PRODUCER},
    policy::{Confirmation, Policies},
};

/// The gate stage of this consumer (a conversation's inbound messages, in sequence order).
pub const STAGE_CONSENT: &str = "consent";

/// Handles customer messages.
pub(crate) struct InboundHandler {
    pub(crate) ledger: Ledger,
    pub(crate) policies: Arc<Policies>,
    pub(crate) gate: GatePolicy,
}

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        delay: Duration::from_millis(500),
        reason,
    }
}

fn dead(reason: &str) -> Outcome {
    Outcome::DeadLetter {
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl Handler for InboundHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Ok(event) = InboundMessage::decode(delivery.payload.as_ref()) else {
            return dead("not a parley.v1.InboundMessage");
        };
        let Some(meta) = event.meta.as_ref() else {
            return dead("the message has no meta");
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return dead("the message names no conversation");
        };
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return dead("the message's conversation key is invalid");
        };
        let Ok(event_id) = EventId::new(meta.event_id.clone()) else {
            return dead("the message has no valid id");
        };
        let Ok(sequence) = Sequence::new(meta.sequence) else {
            return dead("the message has no sequence");
        };
        match self
            .ledger
            .store
            .gate(&key, STAGE_CONSENT, sequence, &self.gate)
            .await
        {
            Ok(GateDecision::Duplicate) => return Outcome::Ack,
            Ok(GateDecision::Wait { .. }) => {
                return Outcome::Retry {
                    delay: Duration::from_millis(100),
                    reason: "waiting for an earlier message of the conversation".into(),
                };
            }
            Ok(GateDecision::Apply { skipped }) => {
                if let Some(skipped) = skipped {
                    tracing::warn!(skipped = skipped.get(), "customer message never arrived");
                }
            }
            Err(error) => return retry(format!("gate: {error}")),
        }
        let span = tracing::info_span!(
            "consent keywords",
            parley.conversation = %key.redacted(),
            parley.sequence = meta.sequence,
        );
        let outcome = match self.apply(&key, &event_id, &event).instrument(span).await {
            Ok(()) => Outcome::Ack,
            Err(error) => retry(error),
        };
        let done = if outcome == Outcome::Ack {
            self.ledger
                .store
                .complete(&key, STAGE_CONSENT, sequence)
                .await
        } else {
            self.ledger
                .store
                .release(&key, STAGE_CONSENT, sequence)
                .await
        };
        if let Err(error) = done {
            return retry(format!("gate: {error}"));
        }
        outcome
    }
}

impl InboundHandler {
    async fn apply(
        &self,
        key: &ConversationKey,
        event_id: &EventId,
        event: &InboundMessage,
    ) -> Result<(), String> {
        let Some(inbound_message::Kind::Text(text)) = event.kind.as_ref() else {
            return Ok(());
        };
        let policy = self.policies.policy(&key.business);
        let Some(found) = keyword(&text.body, &policy) else {
            return Ok(());
        };
        let (status, confirmation) = match found {
            Keyword::Unsubscribe(_) => (ConsentStatus::OptedOut, Confirmation::Unsubscribed),
            Keyword::Subscribe(_) => (ConsentStatus::OptedIn, Confirmation::Subscribed),
        };
        metrics::counter!("parley_consent_keywords_total", "status" => status.as_str_name())
            .increment(1);
        let customer = Actor {
            kind: ActorKind::Customer as i32,
            id: String::new(),
            display_name: String::new(),
        };
        for (n, topic) in policy.topics.iter().enumerate() {
            let id = event_id.derived(STAGE_CONSENT, u32::try_from(n).unwrap_or(u32::MAX));
            let change = match found {
                Keyword::Unsubscribe(_) => {
                    consent_event::Change::OptedOut(OptOut { all_topics: true })
                }
                Keyword::Subscribe(_) => consent_event::Change::OptedIn(OptIn {}),
            };
            let record = ConsentEvent {
                meta: Some(self.ledger.meta(key, &id, event_id, 0)),
                topic: topic.clone(),
                status: status as i32,
                source: ConsentSource::Keyword as i32,
                audit: Some(ConsentAudit {
                    actor: Some(customer.clone()),
                    evidence_event_id: event_id.to_string(),
                    keyword: found.word().to_owned(),
                    ..ConsentAudit::default()
                }),
                change: Some(change),
            };
            self.ledger
                .record(key, &record)
                .await
                .map_err(|e| format!("record consent: {e}"))?;
        }
        let language = event
            .locale
            .as_ref()
            .map_or("", |l| l.language_tag.as_str());
        let reply = event_id.derived(&format!("{STAGE_CONSENT}.confirm"), 0);
        self.ledger
            .send(
                key,
                Message {
                    id: &reply,
                    cause: event_id,
                    sender: Actor {
                        kind: ActorKind::System as i32,
                        id: PRODUCER.into(),
                        display_name: String::new(),
                    },
                    text: policy.confirmation(confirmation, language).to_owned(),
                    notification_topic: None,
                },
            )
            .await
            .map_err(|e| format!("confirm: {e}"))?;
        tracing::info!(
            conversation = %key.redacted(),
            status = status.as_str_name(),
            topics = policy.topics.len(),
            "consent changed by keyword"
        );
        Ok(())
    }
}
