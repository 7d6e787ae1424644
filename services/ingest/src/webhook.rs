//! `POST /message`: one Apple message in, at most one event out.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use parley_apple::{
    body::{BodyError, decode_body},
    headers::InboundHeaders,
    model::{Message, MessageType},
};
use parley_bus::{Outgoing, StreamKind};
use parley_proto::{
    Event as _,
    v1::{ConversationKey as KeyProto, EventMeta, InboundMessage},
};
use parley_types::{BusinessId, ConversationKey, EventId, OpaqueId};
use prost::Message as _;
use tracing::Instrument as _;

use crate::{Ingest, IngestError};

use parley_state::facts::{
    COUNTER_INBOUND, CUSTOMER_ACTIVE_AT as ACTIVE_AT, CUSTOMER_CLOSED_AT as CLOSED_AT,
    DEVICE_AGENT, DEVICE_CAPABILITIES as CAPABILITIES, SCOPE_APPLE_RECEIVED as APPLE_SCOPE,
};

pub(crate) async fn message(
    State(ingest): State<Ingest>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let span = tracing::info_span!(
        "POST /message",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/message",
        http.response.status_code = tracing::field::Empty,
        apple.message_id = tracing::field::Empty,
        parley.conversation = tracing::field::Empty,
    );
    let outcome = accept(&ingest, &headers, &body)
        .instrument(span.clone())
        .await;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(error) => error.status(),
    };
    span.record("http.response.status_code", status.as_u16());
    metrics::counter!("parley_ingest_requests_total", "status" => status.as_u16().to_string())
        .increment(1);
    match outcome {
        Ok(duplicate) => {
            if duplicate {
                metrics::counter!("parley_ingest_duplicates_total").increment(1);
            }
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(error) => {
            let _entered = span.enter();
            if error.status().is_server_error() {
                tracing::warn!(%error, "webhook not accepted; Apple will retry");
            } else {
                tracing::info!(status = status.as_u16(), %error, "webhook refused");
            }
            error.into_response()
        }
    }
}

fn now() -> prost_types::Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
    }
}

/// Accepts one webhook; `Ok(true)` for a duplicate Apple already got a 200 for.
async fn accept(ingest: &Ingest, headers: &HeaderMap, body: &[u8]) -> Result<bool, IngestError> {
    let inner = &ingest.inner;
    // 1. Who is calling.
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    inner
        .verifier
        .verify_authorization(authorization, SystemTime::now())
        .map_err(|e| {
            if e.is_missing() {
                IngestError::Unauthenticated(e.to_string())
            } else {
                IngestError::Forbidden(e.to_string())
            }
        })?;
    // 2. What was sent.
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let json = decode_body(body, content_encoding, &inner.limits).map_err(|e| match e {
        BodyError::TooLarge { .. } => IngestError::TooLarge(e.to_string()),
        other => IngestError::BadRequest(other.to_string()),
    })?;
    let apple_headers =
        InboundHeaders::parse(headers).map_err(|e| IngestError::BadRequest(e.to_string()))?;
    if !inner.businesses.contains(&apple_headers.destination_id) {
        return Err(IngestError::UnknownBusiness(
            "destination-id is not a business this MSP serves".into(),
        ));
    }
    let message = Message::parse(&json).map_err(|e| IngestError::BadRequest(e.to_string()))?;
    message
        .validate_inbound()
        .map_err(|e| IngestError::BadRequest(e.to_string()))?;
    if !message.kind.is_known() || message.kind == MessageType::RichLink {
        return Err(IngestError::BadRequest(format!(
            "type {} is not one a customer sends",
            message.kind.as_str()
        )));
    }
    let business = BusinessId::new(apple_headers.destination_id.clone())
        .map_err(|e| IngestError::BadRequest(format!("destination-id: {e}")))?;
    let opaque = OpaqueId::new(apple_headers.source_id.clone())
        .map_err(|e| IngestError::BadRequest(format!("source-id: {e}")))?;
    let key = ConversationKey::new(business, opaque);
    let apple_id = apple_headers.id.clone();
    let span = tracing::Span::current();
    span.record("apple.message_id", apple_id.as_str());
    span.record("parley.conversation", key.redacted().as_str());
    let event_id = EventId::from_apple(&key.business, &apple_id)
        .map_err(|e| IngestError::BadRequest(format!("id: {e}")))?;

    // 3. Seen before: Apple already has (or had) its 200; nothing new is published.
    // 4. Otherwise the sequence: the same Apple id always gets the same number, so a retry
    // after a failed publish leaves no gap. One store call for both.
    let store = &inner.backends.store;
    let Some(sequence) =
        number_and_record_facts(ingest, &key, &apple_id, &apple_headers, &message).await?
    else {
        return Ok(true);
    };

    // 5. Attachments and interactive data by reference: downloaded and decrypted now
    // (Apple asks MSPs to, and reference URLs may expire quickly).
    let resolved = crate::attachments::resolve(ingest, &key, &event_id, &message).await;
    let mut event = parley_wire::inbound::to_event(
        &apple_headers,
        &message,
        resolved.attachments,
        resolved.data_ref,
    )
    .map_err(|e| IngestError::BadRequest(e.to_string()))?;
    let partition = inner.partitions.of(&key);
    let at = now();
    event.meta = Some(EventMeta {
        event_id: event_id.to_string(),
        conversation: Some(KeyProto {
            business_id: key.business.to_string(),
            opaque_id: key.opaque.as_str().to_owned(),
        }),
        sequence: sequence.get(),
        partition: partition.get(),
        occurred_at: Some(at),
        published_at: Some(at),
        causation_id: String::new(),
        schema_version: 1,
        producer: "ingest".into(),
    });

    // 6. Stored in JetStream before Apple hears 200.
    let outgoing = Outgoing::new(
        inner
            .backends
            .namespace
            .subject(StreamKind::Inbound, partition),
        event_id.to_string(),
        InboundMessage::TYPE,
        event.encode_to_vec(),
    )
    .with_ordering_key(key.stable_hash());
    let published = inner
        .backends
        .bus
        .publish(outgoing)
        .await
        .map_err(|e| IngestError::Unavailable(format!("event not stored: {e}")))?;
    if let Err(error) = store
        .remember(&key, APPLE_SCOPE, &apple_id, inner.dedup_ttl)
        .await
    {
        // The event is stored; JetStream's window still drops a quick retry.
        tracing::warn!(%error, "published, but the de-duplication record was not written");
    }
    Ok(published.duplicate)
}

/// Unless Apple's message was recorded as published already (then `None`), allocates its
/// number (the same Apple id always gets the same one) and records what ingest alone knows
/// about the customer, before the event exists, so the outbound gate sees it by the time
/// any reply is produced: the device's facts, and the close or activity mark raised to the
/// message's number. One store call.
async fn number_and_record_facts(
    ingest: &Ingest,
    key: &ConversationKey,
    apple_id: &str,
    headers: &InboundHeaders,
    message: &Message,
) -> Result<Option<parley_types::Sequence>, IngestError> {
    let store = &ingest.inner.backends.store;
    let capabilities = headers.capabilities.to_header_value();
    let agent = headers
        .device_agent
        .as_ref()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let raise = match message.kind {
        MessageType::Close => Some(CLOSED_AT),
        MessageType::TypingStart | MessageType::TypingEnd => None,
        _ => Some(ACTIVE_AT),
    };
    store
        .allocate_recording(
            key,
            Some((APPLE_SCOPE, apple_id)),
            &[(CAPABILITIES, &capabilities), (DEVICE_AGENT, &agent)],
            COUNTER_INBOUND,
            Some(apple_id),
            raise,
        )
        .await
        .map_err(|e| IngestError::Unavailable(format!("state store: {e}")))
}
