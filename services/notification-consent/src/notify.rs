//! The notification API's calls, whatever carries them ([`crate::http`]: HTTP/JSON,
//! [`crate::grpc`]: gRPC `parley.v1.NotificationService`). Every call names an API client of
//! the policies file by its bearer token; the client acts for one business only.
//!
//! - send a notification: a business-initiated text on a topic, only to a customer who wrote
//!   to the business, has not closed the conversation and opted in to the topic, outside the
//!   business's quiet hours; the first on a disclosure topic is preceded by Apple's disclosure
//!   text; the same idempotency key again sends nothing new and answers the same;
//! - set consent: consent the business collected elsewhere (`CONSENT_SOURCE_API`);
//! - get consent: every topic's status.
//!
//! The outbound gate checks closed conversations and consent again: the API answers early
//! and clearly, outbound is the last gate. Event ids are digests of what makes a call unique,
//! so a retry gets the same ids and no id carries an opaque id in clear.

use std::sync::Arc;

use jiff::Timestamp;
use parley_proto::v1::{
    Actor, ActorKind, ConsentAudit, ConsentEvent, ConsentSource, ConsentStatus, DisclosureSent,
    GetConsentRequest, GetConsentResponse, OptIn, OptOut, SendNotificationRequest,
    SendNotificationResponse, SetConsentRequest, TopicConsent, consent_event,
};
use parley_state::facts;
use parley_types::{ConversationKey, EventId, OpaqueId};
use sha2::{Digest as _, Sha256};

use crate::{
    ledger::{Ledger, Message, disclosure_field, text},
    policy::{Client, Policies},
};

/// The longest notification text Parley accepts (Apple's own limit is UNKNOWN; a longer text
/// is refused here rather than by Apple later).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The longest idempotency key or request id.
pub const MAX_KEY_LEN: usize = 128;
/// The longest audit note.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// Why a call was refused; each front end maps it to its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A bad field (HTTP 400, gRPC INVALID_ARGUMENT).
    Invalid,
    /// No or an unknown token (401, UNAUTHENTICATED).
    Unauthenticated,
    /// No opt-in for the topic (403, PERMISSION_DENIED).
    NoConsent,
    /// The customer never wrote to the business (404, NOT_FOUND).
    NoConversation,
    /// The customer closed the conversation (409, FAILED_PRECONDITION).
    Closed,
    /// The business's quiet hours, for this many more seconds (409 with `Retry-After`,
    /// FAILED_PRECONDITION with `retry-after` metadata).
    QuietHours(u64),
    /// The bus or the store failed; nothing was sent (503, UNAVAILABLE).
    Unavailable,
}

/// A refused call: its kind, a stable code and a line that says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The kind.
    pub kind: RefusalKind,
    /// A stable machine-readable code (`no_consent`, `quiet_hours`, …).
    pub code: &'static str,
    /// What was wrong.
    pub message: String,
}

impl Refusal {
    fn new(kind: RefusalKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    /// A bad field.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Invalid, "invalid_request", message)
    }

    fn unauthenticated(message: &str) -> Self {
        Self::new(RefusalKind::Unauthenticated, "unauthenticated", message)
    }

    fn unavailable(what: &str, error: impl std::fmt::Display) -> Self {
        tracing::warn!(%error, what, "notification API: backend failure");
        Self::new(
            RefusalKind::Unavailable,
            "unavailable",
            format!("{what} failed; nothing was sent, retry with the same key"),
        )
    }
}

/// The API's shared parts.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) ledger: Ledger,
    pub(crate) policies: Arc<Policies>,
}

fn conversation(client: &Client, opaque_id: &str) -> Result<ConversationKey, Refusal> {
    let opaque =
        OpaqueId::new(opaque_id).map_err(|e| Refusal::invalid(format!("`opaque_id`: {e}")))?;
    Ok(ConversationKey::new(client.business.clone(), opaque))
}

fn printable_key(field: &str, value: &str) -> Result<(), Refusal> {
    if value.is_empty() || value.len() > MAX_KEY_LEN || !value.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(Refusal::invalid(format!(
            "`{field}`: 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// An event id for an API call: a digest of everything that makes the call unique.
fn api_event_id(prefix: &str, parts: &[&str]) -> Result<EventId, Refusal> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    EventId::new(format!("{prefix}-{hex}")).map_err(|e| Refusal::invalid(format!("event id: {e}")))
}

fn api_actor(client: &Client) -> Actor {
    Actor {
        kind: ActorKind::Notification as i32,
        id: client.name.clone(),
        display_name: String::new(),
    }
}

fn known_topic(api: &Api, key: &ConversationKey, topic: &str) -> Result<(), Refusal> {
    let policy = api.policies.policy(&key.business);
    if policy.has_topic(topic) {
        Ok(())
    } else {
        Err(Refusal::invalid(format!(
            "`topic`: {topic:?} is not one of the business's topics {:?}",
            policy.topics
        )))
    }
}

impl Api {
    /// The client whose token an `Authorization` value (`Bearer <token>`) carries.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<&Client, Refusal> {
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::unauthenticated("missing `authorization: Bearer <token>`"))?;
        self.policies
            .authenticate(token)
            .ok_or_else(|| Refusal::unauthenticated("unknown token"))
    }

    /// Sends a notification.
    pub(crate) async fn send_notification(
        &self,
        client: &Client,
        request: SendNotificationRequest,
    ) -> Result<SendNotificationResponse, Refusal> {
        let key = conversation(client, &request.opaque_id)?;
        known_topic(self, &key, &request.topic)?;
        if request.text.trim().is_empty() || request.text.chars().count() > MAX_TEXT_CHARS {
            return Err(Refusal::invalid(format!(
                "`text`: 1 to {MAX_TEXT_CHARS} characters, not only white space"
            )));
        }
        printable_key("idempotency_key", &request.idempotency_key)?;
        self.check_conversation(&key).await?;
        let status = self
            .ledger
            .status(&key, &request.topic)
            .await
            .map_err(|e| Refusal::unavailable("reading consent", e))?;
        if status != ConsentStatus::OptedIn {
            metrics::counter!("parley_notifications_total", "result" => "no_consent").increment(1);
            return Err(Refusal::new(
                RefusalKind::NoConsent,
                "no_consent",
                format!(
                    "the customer has not opted in to {:?} (status {})",
                    request.topic,
                    status.as_str_name()
                ),
            ));
        }
        let policy = self.policies.policy(&key.business);
        let now = Timestamp::now();
        if let Some(until) = policy.quiet_hours.as_ref().and_then(|q| q.ends_after(now)) {
            metrics::counter!("parley_notifications_total", "result" => "quiet_hours").increment(1);
            let seconds = u64::try_from(until.duration_since(now).as_secs().max(1)).unwrap_or(1);
            return Err(Refusal::new(
                RefusalKind::QuietHours(seconds),
                "quiet_hours",
                format!("the business's quiet hours last until {until}; send again then"),
            ));
        }
        let id = api_event_id(
            "notif",
            &[
                &client.name,
                key.business.as_str(),
                key.opaque.as_str(),
                &request.idempotency_key,
            ],
        )?;
        let actor = api_actor(client);
        let mut disclosure_event_id = String::new();
        if policy.disclosure_topics.contains(&request.topic) {
            let field = disclosure_field(&request.topic);
            let sent = self
                .ledger
                .store
                .get_fields(&key, &[field.as_str()])
                .await
                .map_err(|e| Refusal::unavailable("reading the disclosure mark", e))?
                .into_iter()
                .next()
                .flatten();
            // At least once: two first notifications at the same moment may both send it; a
            // notification is never sent without it.
            if sent.is_none() {
                let disclosure = id.derived("notification.disclosure", 0);
                self.ledger
                    .send(
                        &key,
                        Message {
                            id: &disclosure,
                            cause: &id,
                            sender: actor.clone(),
                            kind: text(policy.disclosure_text.clone()),
                            notification_topic: Some(&request.topic),
                        },
                    )
                    .await
                    .map_err(|e| Refusal::unavailable("sending the disclosure", e))?;
                let audit_id = disclosure.derived("notification.disclosure.audit", 0);
                let event = ConsentEvent {
                    meta: Some(self.ledger.meta(&key, &audit_id, &id, 0)),
                    topic: request.topic.clone(),
                    status: status as i32,
                    source: ConsentSource::Api as i32,
                    audit: Some(ConsentAudit {
                        actor: Some(actor.clone()),
                        disclosure_text: policy.disclosure_text.clone(),
                        request_id: request.idempotency_key.clone(),
                        ..ConsentAudit::default()
                    }),
                    change: Some(consent_event::Change::DisclosureSent(DisclosureSent {
                        outbound_event_id: disclosure.to_string(),
                    })),
                };
                self.ledger
                    .publish_event(&key, &audit_id, &event)
                    .await
                    .map_err(|e| Refusal::unavailable("recording the disclosure", e))?;
                self.ledger
                    .store
                    .set_fields(&key, &[(field.as_str(), disclosure.as_str())])
                    .await
                    .map_err(|e| Refusal::unavailable("recording the disclosure", e))?;
                disclosure_event_id = disclosure.to_string();
            }
        }
        let sequence = self
            .ledger
            .send(
                &key,
                Message {
                    id: &id,
                    cause: &id,
                    sender: actor,
                    kind: text(request.text),
                    notification_topic: Some(&request.topic),
                },
            )
            .await
            .map_err(|e| Refusal::unavailable("publishing the notification", e))?;
        metrics::counter!("parley_notifications_total", "result" => "accepted").increment(1);
        tracing::info!(
            conversation = %key.redacted(),
            topic = %request.topic,
            sequence,
            "notification accepted"
        );
        Ok(SendNotificationResponse {
            event_id: id.to_string(),
            sequence,
            disclosure_event_id,
        })
    }

    /// Only customers start conversations, and after they close one nothing is sent until
    /// they write again.
    async fn check_conversation(&self, key: &ConversationKey) -> Result<(), Refusal> {
        let marks = self
            .ledger
            .store
            .get_fields(key, &[facts::CUSTOMER_ACTIVE_AT, facts::CUSTOMER_CLOSED_AT])
            .await
            .map_err(|e| Refusal::unavailable("reading the conversation", e))?;
        let mark = |i: usize| {
            marks
                .get(i)
                .cloned()
                .flatten()
                .and_then(|v| v.parse::<u64>().ok())
        };
        let Some(active) = mark(0) else {
            metrics::counter!("parley_notifications_total", "result" => "no_conversation")
                .increment(1);
            return Err(Refusal::new(
                RefusalKind::NoConversation,
                "no_conversation",
                "this customer has not written to the business (or the record expired): only \
                 customers start conversations",
            ));
        };
        if mark(1).is_some_and(|closed| closed > active) {
            metrics::counter!("parley_notifications_total", "result" => "closed").increment(1);
            return Err(Refusal::new(
                RefusalKind::Closed,
                "conversation_closed",
                "the customer closed the conversation; nothing is sent until they write again",
            ));
        }
        Ok(())
    }

    /// Records consent collected elsewhere.
    pub(crate) async fn set_consent(
        &self,
        client: &Client,
        request: SetConsentRequest,
    ) -> Result<TopicConsent, Refusal> {
        let key = conversation(client, &request.opaque_id)?;
        known_topic(self, &key, &request.topic)?;
        printable_key("request_id", &request.request_id)?;
        if request.note.chars().count() > MAX_NOTE_CHARS {
            return Err(Refusal::invalid(format!(
                "`note`: at most {MAX_NOTE_CHARS} characters"
            )));
        }
        let (status, change) = match request.status() {
            ConsentStatus::OptedIn => (
                ConsentStatus::OptedIn,
                consent_event::Change::OptedIn(OptIn {}),
            ),
            ConsentStatus::OptedOut => (
                ConsentStatus::OptedOut,
                consent_event::Change::OptedOut(OptOut { all_topics: false }),
            ),
            ConsentStatus::None | ConsentStatus::Unspecified => {
                return Err(Refusal::invalid("`status`: opted in or opted out"));
            }
        };
        let id = api_event_id(
            "consent-api",
            &[
                &client.name,
                key.business.as_str(),
                key.opaque.as_str(),
                &request.topic,
                &request.request_id,
            ],
        )?;
        let event = ConsentEvent {
            meta: Some(self.ledger.meta(&key, &id, &id, 0)),
            topic: request.topic.clone(),
            status: status as i32,
            source: ConsentSource::Api as i32,
            audit: Some(ConsentAudit {
                actor: Some(api_actor(client)),
                request_id: request.request_id,
                note: request.note,
                ..ConsentAudit::default()
            }),
            change: Some(change),
        };
        self.ledger
            .record(&key, &event)
            .await
            .map_err(|e| Refusal::unavailable("recording consent", e))?;
        tracing::info!(
            conversation = %key.redacted(),
            topic = %request.topic,
            status = status.as_str_name(),
            "consent recorded through the API"
        );
        Ok(topic_consent(&request.topic, Some(&event)))
    }

    /// Every topic's consent.
    pub(crate) async fn get_consent(
        &self,
        client: &Client,
        request: GetConsentRequest,
    ) -> Result<GetConsentResponse, Refusal> {
        let key = conversation(client, &request.opaque_id)?;
        let policy = self.policies.policy(&key.business);
        let mut topics = Vec::with_capacity(policy.topics.len());
        for topic in &policy.topics {
            let event = self
                .ledger
                .consent(&key, topic)
                .await
                .map_err(|e| Refusal::unavailable("reading consent", e))?;
            topics.push(topic_consent(topic, event.as_ref()));
        }
        Ok(GetConsentResponse { topics })
    }
}

fn topic_consent(topic: &str, event: Option<&ConsentEvent>) -> TopicConsent {
    let Some(event) = event else {
        return TopicConsent {
            topic: topic.to_owned(),
            status: ConsentStatus::None as i32,
            ..TopicConsent::default()
        };
    };
    let meta = event.meta.clone().unwrap_or_default();
    TopicConsent {
        topic: topic.to_owned(),
        status: event.status,
        source: event.source,
        changed_at: meta.occurred_at,
        event_id: meta.event_id,
    }
}
