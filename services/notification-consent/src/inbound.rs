//! The `amb.inbound` consumer: every customer message passes the store's in-order gate
//! (stage [`STAGE_CONSENT`]), so a conversation's keywords apply once each and in the order
//! the customer wrote them (`stop` then `subscribe` ends opted in, on any number of
//! replicas). A keyword changes the record of every topic of the business, publishes one
//! `ConsentEvent` per topic, then confirms in the customer's language; after an opt-out it
//! also sends the message-preferences list picker (every topic, several may be chosen), and
//! the customer's choice there opts in to the chosen topics and out of the others. This runs
//! whoever answers the conversation (the bot, a person, an external bot): consent is a
//! platform rule, not a conversation.
//!
//! A message skipped at the gate and applied late (after later ones) is applied for what it
//! still decides: a topic keeps the newest customer decision by sequence (the record's mark,
//! [`decision_field`]), so a late `subscribe` never undoes a later `stop`.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use async_trait::async_trait;
use parley_bus::{Delivery, Handler, Outcome};
use parley_proto::v1::{
    Actor, ActorKind, BubbleLayout, Capability, ConsentAudit, ConsentEvent, ConsentSource,
    ConsentStatus, InboundMessage, InteractiveCommon, ListPickerItem, ListPickerRequest,
    ListPickerSection, OptIn, OptOut, consent_event, inbound_message, interactive_reply,
    outbound_message::Kind,
};
use parley_runtime::ordered::{self, Admission};
use parley_state::GatePolicy;
use parley_types::{ConversationKey, EventId, Sequence};
use parley_wire::consent::{preference_item, preference_topic};
use prost::Message as _;
use tracing::Instrument as _;

use crate::{
    keywords::{Keyword, keyword},
    ledger::{Ledger, Message, PRODUCER, decision_field, text},
    policy::{Policies, Policy, Text},
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
        let store = &*self.ledger.store;
        // Most messages say nothing about consent: they pass the gate in order, applied and
        // completed in one store call.
        let Some(decision) = self.decision(&key, &event) else {
            return ordered::pass(store, &key, STAGE_CONSENT, sequence, &self.gate).await;
        };
        let claim = match ordered::admit(store, &key, STAGE_CONSENT, sequence, &self.gate).await {
            Admission::Proceed(claim) => claim,
            Admission::Settle(outcome) => return outcome,
        };
        let span = tracing::info_span!(
            "consent keywords",
            parley.conversation = %key.redacted(),
            parley.sequence = meta.sequence,
        );
        let outcome = match self
            .apply(&key, &event_id, sequence, claim.late, &event, decision)
            .instrument(span)
            .await
        {
            Ok(()) => Outcome::Ack,
            Err(error) => retry(error),
        };
        ordered::finish(store, &key, claim, &self.gate, outcome).await
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((key, sequence)) =
            parley_wire::meta::position::<InboundMessage>(&delivery.payload)
        {
            ordered::release_after_panic(&*self.ledger.store, &key, STAGE_CONSENT, sequence).await;
        }
    }
}

/// What a customer's message changes: every topic to one status (a keyword), or each topic
/// as the preferences list picker says (selected: in; the others: out).
enum Decision {
    Keyword(Keyword),
    Preferences(BTreeSet<String>),
}

impl InboundHandler {
    /// What the customer's message changes, if anything: read from the message and the
    /// business's policy alone.
    fn decision(&self, key: &ConversationKey, event: &InboundMessage) -> Option<Decision> {
        let policy = self.policies.policy(&key.business);
        match event.kind.as_ref() {
            Some(inbound_message::Kind::Text(text)) => {
                keyword(&text.body, &policy).map(Decision::Keyword)
            }
            Some(inbound_message::Kind::InteractiveReply(reply)) => {
                let Some(interactive_reply::Reply::ListPicker(list)) = reply.reply.as_ref() else {
                    return None;
                };
                let items: Vec<&str> = list
                    .sections
                    .iter()
                    .flat_map(|s| s.items.iter())
                    .filter_map(|i| preference_topic(&i.identifier))
                    .collect();
                if items.is_empty() {
                    return None;
                }
                Some(Decision::Preferences(
                    items
                        .into_iter()
                        .filter(|t| policy.has_topic(t))
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            _ => None,
        }
    }

    async fn apply(
        &self,
        key: &ConversationKey,
        event_id: &EventId,
        sequence: Sequence,
        late: bool,
        event: &InboundMessage,
        decision: Decision,
    ) -> Result<(), String> {
        let policy = self.policies.policy(&key.business);
        let language = event
            .locale
            .as_ref()
            .map_or("", |l| l.language_tag.as_str());
        let customer = Actor {
            kind: ActorKind::Customer as i32,
            id: String::new(),
            display_name: String::new(),
        };
        let (source, word) = match &decision {
            Decision::Keyword(found) => (ConsentSource::Keyword, found.word().to_owned()),
            Decision::Preferences(_) => (ConsentSource::PreferencesMenu, String::new()),
        };
        // The topics this decision still changes: not those a newer customer decision set
        // (only a late message can find one; messages in order are the newest by
        // construction). A redelivery of this same message finds its own mark, equal, and
        // applies again (every write is idempotent by id).
        let fields: Vec<String> = policy.topics.iter().map(|t| decision_field(t)).collect();
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        let marks = self
            .ledger
            .store
            .get_fields(key, &names)
            .await
            .map_err(|e| format!("read consent marks: {e}"))?;
        let newer = |n: usize| {
            marks
                .get(n)
                .cloned()
                .flatten()
                .and_then(|m| m.parse::<u64>().ok())
                .is_some_and(|m| m > sequence.get())
        };
        let changed: Vec<usize> = (0..policy.topics.len()).filter(|&n| !newer(n)).collect();
        if changed.len() < policy.topics.len() {
            metrics::counter!("parley_consent_late_superseded_total")
                .increment((policy.topics.len() - changed.len()) as u64);
            tracing::warn!(
                conversation = %key.redacted(),
                sequence = sequence.get(),
                late,
                kept = policy.topics.len() - changed.len(),
                "a customer's consent decision arrived after a newer one; the newer is kept"
            );
        }
        if changed.is_empty() {
            // Nothing to change, and nothing to confirm: the customer was told the newer.
            return Ok(());
        }
        let value = sequence.get().to_string();
        let marked: Vec<(&str, &str)> = changed
            .iter()
            .map(|&n| (names[n], value.as_str()))
            .collect();
        self.ledger
            .store
            .set_fields(key, &marked)
            .await
            .map_err(|e| format!("mark consent: {e}"))?;
        for (n, topic) in policy.topics.iter().enumerate() {
            if !changed.contains(&n) {
                continue;
            }
            let id = event_id.derived(STAGE_CONSENT, u32::try_from(n).unwrap_or(u32::MAX));
            let opted_in = match &decision {
                Decision::Keyword(Keyword::Unsubscribe(_)) => false,
                Decision::Keyword(Keyword::Subscribe(_)) => true,
                Decision::Preferences(chosen) => chosen.contains(topic),
            };
            let (status, change) = if opted_in {
                (
                    ConsentStatus::OptedIn,
                    consent_event::Change::OptedIn(OptIn {}),
                )
            } else {
                (
                    ConsentStatus::OptedOut,
                    consent_event::Change::OptedOut(OptOut {
                        all_topics: matches!(decision, Decision::Keyword(_)),
                    }),
                )
            };
            metrics::counter!("parley_consent_changes_total", "status" => status.as_str_name())
                .increment(1);
            let record = ConsentEvent {
                meta: Some(self.ledger.meta(key, &id, event_id, 0)),
                topic: topic.clone(),
                status: status as i32,
                source: source as i32,
                audit: Some(ConsentAudit {
                    actor: Some(customer.clone()),
                    evidence_event_id: event_id.to_string(),
                    keyword: word.clone(),
                    ..ConsentAudit::default()
                }),
                change: Some(change),
            };
            self.ledger
                .record(key, &record)
                .await
                .map_err(|e| format!("record consent: {e}"))?;
        }
        let confirmation = match &decision {
            Decision::Keyword(Keyword::Unsubscribe(_)) => Text::Unsubscribed,
            Decision::Keyword(Keyword::Subscribe(_)) => Text::Subscribed,
            Decision::Preferences(_) => Text::PreferencesSaved,
        };
        let mut replies = vec![text(policy.text(confirmation, language))];
        // After an opt-out, the topics to choose from (Apple: a list picker to choose
        // notification types), where the device can show one: as text, a numbered list would
        // read as an answer to the bot's last menu.
        if matches!(decision, Decision::Keyword(Keyword::Unsubscribe(_)))
            && can_show_list_picker(event)
        {
            replies.push(preferences_picker(&policy, language));
        }
        let sender = Actor {
            kind: ActorKind::System as i32,
            id: PRODUCER.into(),
            display_name: String::new(),
        };
        for (n, kind) in replies.into_iter().enumerate() {
            let reply = event_id.derived(
                &format!("{STAGE_CONSENT}.confirm"),
                u32::try_from(n).unwrap_or(u32::MAX),
            );
            self.ledger
                .send(
                    key,
                    Message {
                        id: &reply,
                        cause: event_id,
                        sender: sender.clone(),
                        kind,
                        notification_topic: None,
                    },
                )
                .await
                .map_err(|e| format!("confirm: {e}"))?;
        }
        tracing::info!(
            conversation = %key.redacted(),
            source = source.as_str_name(),
            topics = policy.topics.len(),
            "consent changed by the customer"
        );
        Ok(())
    }
}

/// Whether the device said it shows list pickers (a message without capabilities is given
/// the benefit of the doubt: outbound's gate decides, as for every message).
fn can_show_list_picker(event: &InboundMessage) -> bool {
    event
        .capabilities
        .as_ref()
        .is_none_or(|c| c.capabilities.contains(&(Capability::ListPicker as i32)))
}

/// The message-preferences list picker: every topic, several may be chosen.
fn preferences_picker(policy: &Policy, language: &str) -> Kind {
    let bubble = BubbleLayout {
        title: policy.text(Text::PreferencesTitle, language).to_owned(),
        subtitle: policy.text(Text::PreferencesSubtitle, language).to_owned(),
        ..BubbleLayout::default()
    };
    Kind::ListPicker(ListPickerRequest {
        common: Some(InteractiveCommon {
            received_message: Some(bubble.clone()),
            reply_message: Some(bubble),
            ..InteractiveCommon::default()
        }),
        sections: vec![ListPickerSection {
            title: policy.text(Text::PreferencesTitle, language).to_owned(),
            order: 0,
            multiple_selection: true,
            items: policy
                .topics
                .iter()
                .enumerate()
                .map(|(order, topic)| ListPickerItem {
                    identifier: preference_item(topic),
                    title: policy.topic_title(topic, language),
                    subtitle: String::new(),
                    order: u32::try_from(order).unwrap_or(u32::MAX),
                    style: "default".into(),
                    image_identifier: String::new(),
                })
                .collect(),
        }],
    })
}
