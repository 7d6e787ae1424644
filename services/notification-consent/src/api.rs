//! The notification API (HTTP/JSON, axum) for business backends. Every call carries
//! `Authorization: Bearer <token>` of a client of the policies file, scoped to one business.
//!
//! - `POST /v1/notifications` `{opaque_id, topic, text, idempotency_key}`: a business-initiated
//!   text on `topic`. Accepted (202) only for a customer who wrote to the business, has not
//!   closed the conversation, opted in to `topic`, outside the business's quiet hours. The
//!   first notification of a disclosure topic is preceded by Apple's disclosure text. Asking
//!   again with the same `idempotency_key` sends nothing new and answers the same.
//! - `POST /v1/consent` `{opaque_id, topic, status, request_id, note}`: records consent the
//!   business collected elsewhere (`status`: `opted_in` or `opted_out`).
//! - `POST /v1/consent/lookup` `{opaque_id}`: every topic's status.
//!
//! Errors are JSON `{error, message}`: 400 a bad field (named), 401 no or an unknown token, 403
//! no opt-in, 404 no conversation with this customer, 409 closed conversation or quiet hours
//! (with `Retry-After`), 415 not JSON, 503 the bus or store failed (nothing was sent; retry
//! with the same key). The outbound gate checks closed conversations and consent again: this
//! API answers early and clearly, outbound is the last gate.
//!
//! Opaque ids travel in bodies, never in paths or query strings, so no access log can hold
//! them; event ids are digests.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use jiff::Timestamp;
use parley_proto::v1::{
    Actor, ActorKind, ConsentAudit, ConsentEvent, ConsentSource, ConsentStatus, DisclosureSent,
    OptIn, OptOut, consent_event,
};
use parley_state::facts;
use parley_types::{ConversationKey, EventId, OpaqueId};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{
    ledger::{Ledger, Message, disclosure_field},
    policy::{Client, Policies},
};

/// The longest notification text Parley accepts (Apple's own limit is UNKNOWN; a longer text
/// is refused here rather than by Apple later).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The longest idempotency key or request id.
pub const MAX_KEY_LEN: usize = 128;
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The API's shared parts.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) ledger: Ledger,
    pub(crate) policies: Arc<Policies>,
}

/// The routes.
pub(crate) fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/notifications", post(notify))
        .route("/v1/consent", post(set_consent))
        .route("/v1/consent/lookup", post(lookup))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api)
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn unavailable(what: &str, error: impl std::fmt::Display) -> Self {
        tracing::warn!(%error, what, "notification API: backend failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} failed; nothing was sent, retry with the same key"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(t)| t).map_err(|rejection| {
        // axum says 422 for a well-formed body of the wrong shape; this API says 400 for
        // every bad body, and names the field.
        if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                rejection.body_text(),
            )
        } else {
            ApiError::bad(rejection.body_text())
        }
    })
}

fn authenticate<'a>(api: &'a Api, headers: &HeaderMap) -> Result<&'a Client, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "missing `Authorization: Bearer <token>`",
            )
        })?;
    api.policies
        .authenticate(token)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "unknown token"))
}

fn conversation(client: &Client, opaque_id: &str) -> Result<ConversationKey, ApiError> {
    let opaque =
        OpaqueId::new(opaque_id).map_err(|e| ApiError::bad(format!("`opaque_id`: {e}")))?;
    Ok(ConversationKey::new(client.business.clone(), opaque))
}

fn printable_key(field: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > MAX_KEY_LEN || !value.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::bad(format!(
            "`{field}`: 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// An event id for an API call: a digest of everything that makes the call unique, so a
/// retry gets the same id and no id carries an opaque id in clear.
fn api_event_id(prefix: &str, parts: &[&str]) -> Result<EventId, ApiError> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    EventId::new(format!("{prefix}-{}", hex_prefix(&digest)))
        .map_err(|e| ApiError::bad(format!("event id: {e}")))
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn api_actor(client: &Client) -> Actor {
    Actor {
        kind: ActorKind::Notification as i32,
        id: client.name.clone(),
        display_name: String::new(),
    }
}

/// `POST /v1/notifications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRequest {
    /// The customer.
    pub opaque_id: String,
    /// The consent topic.
    pub topic: String,
    /// The text.
    pub text: String,
    /// Makes a retry of the same notification send nothing new.
    pub idempotency_key: String,
}

/// The answer to an accepted notification.
#[derive(Debug, Serialize, Deserialize)]
pub struct NotificationAccepted {
    /// The `OutboundMessage`'s event id (its `amb.events.delivery` report names it).
    pub event_id: String,
    /// Its place in the conversation's outbound order.
    pub sequence: u64,
    /// The disclosure sent before it, if this was the topic's first notification.
    pub disclosure_event_id: Option<String>,
}

async fn notify(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<NotificationRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<NotificationAccepted>), ApiError> {
    let client = authenticate(&api, &headers)?;
    let request = json(body)?;
    let key = conversation(client, &request.opaque_id)?;
    let policy = api.policies.policy(&key.business);
    if !policy.has_topic(&request.topic) {
        return Err(ApiError::bad(format!(
            "`topic`: {:?} is not one of the business's topics {:?}",
            request.topic, policy.topics
        )));
    }
    if request.text.trim().is_empty() || request.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad(format!(
            "`text`: 1 to {MAX_TEXT_CHARS} characters, not only white space"
        )));
    }
    printable_key("idempotency_key", &request.idempotency_key)?;
    check_conversation(&api, &key).await?;
    let status = api
        .ledger
        .status(&key, &request.topic)
        .await
        .map_err(|e| ApiError::unavailable("reading consent", e))?;
    if status != ConsentStatus::OptedIn {
        metrics::counter!("parley_notifications_total", "result" => "no_consent").increment(1);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no_consent",
            format!(
                "the customer has not opted in to {:?} (status {})",
                request.topic,
                status.as_str_name()
            ),
        ));
    }
    if let Some(until) = policy
        .quiet_hours
        .as_ref()
        .and_then(|q| q.ends_after(Timestamp::now()))
    {
        metrics::counter!("parley_notifications_total", "result" => "quiet_hours").increment(1);
        let seconds = until.duration_since(Timestamp::now()).as_secs().max(1);
        let mut error = ApiError::new(
            StatusCode::CONFLICT,
            "quiet_hours",
            format!("the business's quiet hours last until {until}; send again then"),
        );
        error.retry_after = u64::try_from(seconds).ok();
        return Err(error);
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
    let mut disclosure_event_id = None;
    if policy.disclosure_topics.contains(&request.topic) {
        let field = disclosure_field(&request.topic);
        let sent = api
            .ledger
            .store
            .get_fields(&key, &[field.as_str()])
            .await
            .map_err(|e| ApiError::unavailable("reading the disclosure mark", e))?
            .into_iter()
            .next()
            .flatten();
        // At least once: two first notifications at the same moment may both send it; a
        // notification is never sent without it.
        if sent.is_none() {
            let disclosure = id.derived("notification.disclosure", 0);
            api.ledger
                .send(
                    &key,
                    Message {
                        id: &disclosure,
                        cause: &id,
                        sender: actor.clone(),
                        text: policy.disclosure_text.clone(),
                        notification_topic: Some(&request.topic),
                    },
                )
                .await
                .map_err(|e| ApiError::unavailable("sending the disclosure", e))?;
            let audit_id = disclosure.derived("notification.disclosure.audit", 0);
            let event = ConsentEvent {
                meta: Some(api.ledger.meta(&key, &audit_id, &id, 0)),
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
            api.ledger
                .publish_event(&key, &audit_id, &event)
                .await
                .map_err(|e| ApiError::unavailable("recording the disclosure", e))?;
            api.ledger
                .store
                .set_fields(&key, &[(field.as_str(), disclosure.as_str())])
                .await
                .map_err(|e| ApiError::unavailable("recording the disclosure", e))?;
            disclosure_event_id = Some(disclosure.to_string());
        }
    }
    let sequence = api
        .ledger
        .send(
            &key,
            Message {
                id: &id,
                cause: &id,
                sender: actor,
                text: request.text,
                notification_topic: Some(&request.topic),
            },
        )
        .await
        .map_err(|e| ApiError::unavailable("publishing the notification", e))?;
    metrics::counter!("parley_notifications_total", "result" => "accepted").increment(1);
    tracing::info!(
        conversation = %key.redacted(),
        topic = %request.topic,
        sequence,
        "notification accepted"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(NotificationAccepted {
            event_id: id.to_string(),
            sequence,
            disclosure_event_id,
        }),
    ))
}

/// Only customers start conversations, and after they close one nothing is sent until they
/// write again.
async fn check_conversation(api: &Api, key: &ConversationKey) -> Result<(), ApiError> {
    let marks = api
        .ledger
        .store
        .get_fields(key, &[facts::CUSTOMER_ACTIVE_AT, facts::CUSTOMER_CLOSED_AT])
        .await
        .map_err(|e| ApiError::unavailable("reading the conversation", e))?;
    let mark = |i: usize| {
        marks
            .get(i)
            .cloned()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok())
    };
    let Some(active) = mark(0) else {
        metrics::counter!("parley_notifications_total", "result" => "no_conversation").increment(1);
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_conversation",
            "this customer has not written to the business (or the record expired): only \
             customers start conversations",
        ));
    };
    if mark(1).is_some_and(|closed| closed > active) {
        metrics::counter!("parley_notifications_total", "result" => "closed").increment(1);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conversation_closed",
            "the customer closed the conversation; nothing is sent until they write again",
        ));
    }
    Ok(())
}

/// A consent status in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No decision recorded.
    None,
    /// Opted in.
    OptedIn,
    /// Opted out.
    OptedOut,
}

impl From<ConsentStatus> for Status {
    fn from(status: ConsentStatus) -> Self {
        match status {
            ConsentStatus::OptedIn => Status::OptedIn,
            ConsentStatus::OptedOut => Status::OptedOut,
            ConsentStatus::None | ConsentStatus::Unspecified => Status::None,
        }
    }
}

/// `POST /v1/consent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The customer.
    pub opaque_id: String,
    /// The topic.
    pub topic: String,
    /// `opted_in` or `opted_out`.
    pub status: Status,
    /// The business's id of this request (a retry with the same id records nothing new).
    pub request_id: String,
    /// Evidence or a reason, for the audit trail.
    #[serde(default)]
    pub note: String,
}

/// The consent of one topic.
#[derive(Debug, Serialize, Deserialize)]
pub struct TopicConsent {
    /// The topic.
    pub topic: String,
    /// Its status.
    pub status: Status,
    /// Where the last change came from (`keyword`, `api`, …), empty if none.
    pub source: String,
    /// When it changed (RFC 3339), empty if never.
    pub changed_at: String,
    /// The change's event id, empty if none.
    pub event_id: String,
}

async fn set_consent(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<ConsentRequest>, JsonRejection>,
) -> Result<Json<TopicConsent>, ApiError> {
    let client = authenticate(&api, &headers)?;
    let request = json(body)?;
    let key = conversation(client, &request.opaque_id)?;
    let policy = api.policies.policy(&key.business);
    if !policy.has_topic(&request.topic) {
        return Err(ApiError::bad(format!(
            "`topic`: {:?} is not one of the business's topics {:?}",
            request.topic, policy.topics
        )));
    }
    printable_key("request_id", &request.request_id)?;
    if request.note.chars().count() > 1_000 {
        return Err(ApiError::bad("`note`: at most 1000 characters"));
    }
    let (status, change) = match request.status {
        Status::OptedIn => (
            ConsentStatus::OptedIn,
            consent_event::Change::OptedIn(OptIn {}),
        ),
        Status::OptedOut => (
            ConsentStatus::OptedOut,
            consent_event::Change::OptedOut(OptOut { all_topics: false }),
        ),
        Status::None => {
            return Err(ApiError::bad("`status`: `opted_in` or `opted_out`"));
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
        meta: Some(api.ledger.meta(&key, &id, &id, 0)),
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
    api.ledger
        .record(&key, &event)
        .await
        .map_err(|e| ApiError::unavailable("recording consent", e))?;
    tracing::info!(conversation = %key.redacted(), topic = %request.topic, status = status.as_str_name(), "consent recorded through the API");
    Ok(Json(topic_consent(&request.topic, Some(&event))))
}

fn topic_consent(topic: &str, event: Option<&ConsentEvent>) -> TopicConsent {
    let Some(event) = event else {
        return TopicConsent {
            topic: topic.to_owned(),
            status: Status::None,
            source: String::new(),
            changed_at: String::new(),
            event_id: String::new(),
        };
    };
    let meta = event.meta.clone().unwrap_or_default();
    TopicConsent {
        topic: topic.to_owned(),
        status: event.status().into(),
        source: event
            .source()
            .as_str_name()
            .trim_start_matches("CONSENT_SOURCE_")
            .to_ascii_lowercase(),
        changed_at: meta
            .occurred_at
            .and_then(|t| Timestamp::new(t.seconds, t.nanos).ok())
            .map(|t| t.to_string())
            .unwrap_or_default(),
        event_id: meta.event_id,
    }
}

/// `POST /v1/consent/lookup`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The customer.
    pub opaque_id: String,
}

/// Every topic's consent.
#[derive(Debug, Serialize, Deserialize)]
pub struct LookupResponse {
    /// In the policy's order.
    pub topics: Vec<TopicConsent>,
}

async fn lookup(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<LookupRequest>, JsonRejection>,
) -> Result<Json<LookupResponse>, ApiError> {
    let client = authenticate(&api, &headers)?;
    let request = json(body)?;
    let key = conversation(client, &request.opaque_id)?;
    let policy = api.policies.policy(&key.business);
    let mut topics = Vec::with_capacity(policy.topics.len());
    for topic in &policy.topics {
        let event = api
            .ledger
            .consent(&key, topic)
            .await
            .map_err(|e| ApiError::unavailable("reading consent", e))?;
        topics.push(topic_consent(topic, event.as_ref()));
    }
    Ok(Json(LookupResponse { topics }))
}
