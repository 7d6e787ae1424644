//! The notification API over HTTP/JSON (axum), on notification-consent's HTTP port. Every
//! call carries `Authorization: Bearer <token>`; W3C `traceparent` is honoured.
//!
//! - `POST /v1/notifications` `{opaque_id, topic, text, idempotency_key}` → 202
//!   `{event_id, sequence, disclosure_event_id}`
//! - `POST /v1/consent` `{opaque_id, topic, status, request_id, note}` (`status`: `opted_in`
//!   or `opted_out`) → 200 `{topic, status, source, changed_at, event_id}`
//! - `POST /v1/consent/lookup` `{opaque_id}` → 200 `{topics: [...]}`
//!
//! Errors are JSON `{error, message}`: 400 a bad field or body (named), 401 no or an unknown
//! token, 403 `no_consent`, 404 `no_conversation`, 409 `conversation_closed` or
//! `quiet_hours` (with `Retry-After`), 415 not JSON, 503 `unavailable` (nothing was sent;
//! retry with the same key). Opaque ids travel in bodies, never in paths or query strings,
//! so no access log can hold them.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use jiff::Timestamp;
use parley_proto::v1::{
    ConsentSource, ConsentStatus, GetConsentRequest, SendNotificationRequest, SetConsentRequest,
    TopicConsent,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use crate::notify::{Api, Refusal, RefusalKind};

const MAX_BODY_BYTES: usize = 64 * 1024;

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
struct HttpError(Refusal, StatusCode);

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl From<Refusal> for HttpError {
    fn from(refusal: Refusal) -> Self {
        let status = match refusal.kind {
            RefusalKind::Invalid => StatusCode::BAD_REQUEST,
            RefusalKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            RefusalKind::NoConsent => StatusCode::FORBIDDEN,
            RefusalKind::NoConversation => StatusCode::NOT_FOUND,
            RefusalKind::Closed | RefusalKind::QuietHours(_) => StatusCode::CONFLICT,
            RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        Self(refusal, status)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let Self(refusal, status) = self;
        let mut response = (
            status,
            Json(ErrorBody {
                error: refusal.code,
                message: &refusal.message,
            }),
        )
            .into_response();
        if let RefusalKind::QuietHours(seconds) = refusal.kind
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn json<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, HttpError> {
    body.map(|Json(t)| t).map_err(|rejection| {
        // axum says 422 for a well-formed body of the wrong shape; this API says 400 for
        // every bad body, and names the field.
        if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            HttpError(
                Refusal {
                    kind: RefusalKind::Invalid,
                    code: "unsupported_media_type",
                    message: rejection.body_text(),
                },
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            )
        } else {
            Refusal::invalid(rejection.body_text()).into()
        }
    })
}

fn span(name: &'static str, headers: &HeaderMap) -> tracing::Span {
    let span = tracing::info_span!("notification_api", call = name, transport = "http");
    let metadata = tonic::metadata::MetadataMap::from_headers(headers.clone());
    parley_telemetry::set_parent_from(&span, &parley_telemetry::MetadataExtractor(&metadata));
    span
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// `POST /v1/notifications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationBody {
    opaque_id: String,
    topic: String,
    text: String,
    idempotency_key: String,
}

#[derive(Debug, Serialize)]
struct NotificationAccepted {
    event_id: String,
    sequence: u64,
    disclosure_event_id: Option<String>,
}

async fn notify(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<NotificationBody>, JsonRejection>,
) -> Result<(StatusCode, Json<NotificationAccepted>), HttpError> {
    async {
        let client = api.authenticate(authorization(&headers))?;
        let body = json(body)?;
        let accepted = api
            .send_notification(
                client,
                SendNotificationRequest {
                    opaque_id: body.opaque_id,
                    topic: body.topic,
                    text: body.text,
                    idempotency_key: body.idempotency_key,
                },
            )
            .await?;
        Ok((
            StatusCode::ACCEPTED,
            Json(NotificationAccepted {
                event_id: accepted.event_id,
                sequence: accepted.sequence,
                disclosure_event_id: Some(accepted.disclosure_event_id).filter(|d| !d.is_empty()),
            }),
        ))
    }
    .instrument(span("send_notification", &headers))
    .await
}

/// A consent status in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    None,
    OptedIn,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    opaque_id: String,
    topic: String,
    status: Status,
    request_id: String,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Serialize)]
struct TopicConsentBody {
    topic: String,
    status: Status,
    /// `keyword`, `api`, …; empty if never decided.
    source: String,
    /// RFC 3339; empty if never decided.
    changed_at: String,
    event_id: String,
}

impl From<TopicConsent> for TopicConsentBody {
    fn from(t: TopicConsent) -> Self {
        let source = if t.source() == ConsentSource::Unspecified {
            String::new()
        } else {
            t.source()
                .as_str_name()
                .trim_start_matches("CONSENT_SOURCE_")
                .to_ascii_lowercase()
        };
        Self {
            status: t.status().into(),
            source,
            changed_at: t
                .changed_at
                .and_then(|at| Timestamp::new(at.seconds, at.nanos).ok())
                .map(|at| at.to_string())
                .unwrap_or_default(),
            topic: t.topic,
            event_id: t.event_id,
        }
    }
}

async fn set_consent(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<ConsentBody>, JsonRejection>,
) -> Result<Json<TopicConsentBody>, HttpError> {
    async {
        let client = api.authenticate(authorization(&headers))?;
        let body = json(body)?;
        let status = match body.status {
            Status::OptedIn => ConsentStatus::OptedIn,
            Status::OptedOut => ConsentStatus::OptedOut,
            Status::None => {
                return Err(Refusal::invalid("`status`: `opted_in` or `opted_out`").into());
            }
        };
        let recorded = api
            .set_consent(
                client,
                SetConsentRequest {
                    opaque_id: body.opaque_id,
                    topic: body.topic,
                    status: status as i32,
                    request_id: body.request_id,
                    note: body.note,
                },
            )
            .await?;
        Ok(Json(recorded.into()))
    }
    .instrument(span("set_consent", &headers))
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupBody {
    opaque_id: String,
}

#[derive(Debug, Serialize)]
struct LookupAnswer {
    topics: Vec<TopicConsentBody>,
}

async fn lookup(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Json<LookupBody>, JsonRejection>,
) -> Result<Json<LookupAnswer>, HttpError> {
    async {
        let client = api.authenticate(authorization(&headers))?;
        let body = json(body)?;
        let found = api
            .get_consent(
                client,
                GetConsentRequest {
                    opaque_id: body.opaque_id,
                },
            )
            .await?;
        Ok(Json(LookupAnswer {
            topics: found.topics.into_iter().map(Into::into).collect(),
        }))
    }
    .instrument(span("get_consent", &headers))
    .await
}
