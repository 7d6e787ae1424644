//! Apple's gateway endpoints, as an MSP calls them.

use std::{sync::Arc, time::SystemTime};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use parley_apple::crypto::AttachmentKey;
use serde_json::{Value, json};

use crate::{
    Rejection, SimState,
    state::{Received, now_ms},
    validate::{self, Endpoint, INLINE_INTERACTIVE_LIMIT},
};

/// Apple's attachment limit, plus room for the encryption (none: CTR keeps the size).
const MAX_UPLOAD: usize = 100 * 1024 * 1024;

type Shared = Arc<SimState>;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v1/message", post(message))
        .route("/v1/authenticate", post(authenticate))
        .route("/v1/preUpload", get(pre_upload))
        .route("/v1/preDownload", get(pre_download))
        .route("/v1/decodePayload", post(decode_payload))
        .route("/v1/encodePayload", post(encode_payload))
        .route("/v1/constructPayload", post(construct_payload))
        .route(
            "/upload/{token}",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD + 1)),
        )
        .route("/download/{token}", get(download))
}

fn header_value<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn required<'a>(headers: &'a HeaderMap, names: &[&str]) -> Result<&'a str, Rejection> {
    header_value(headers, names)
        .ok_or_else(|| Rejection::bad_request(format!("header {} is required", names[0])))
}

fn authorize(state: &SimState, headers: &HeaderMap) -> Result<(), Rejection> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    state
        .verifier
        .verify_authorization(authorization, SystemTime::now())
        .map(|_| ())
        .map_err(|e| {
            if e.is_missing() {
                Rejection::unauthorized(e.to_string())
            } else {
                Rejection::forbidden(e.to_string())
            }
        })
}

fn known_business(state: &SimState, business: &str) -> Result<(), Rejection> {
    if state.is_business(business) {
        Ok(())
    } else {
        Rejection::not_found("unknown business").into_err()
    }
}

trait IntoErr {
    fn into_err<T>(self) -> Result<T, Rejection>;
}

impl IntoErr for Rejection {
    fn into_err<T>(self) -> Result<T, Rejection> {
        Err(self)
    }
}

/// Applies an injected fault: `Some(response)` answers instead of the real handler.
async fn fault(state: &SimState, headers: &HeaderMap) -> Option<Response> {
    let business = header_value(headers, &["source-id"]);
    let customer = header_value(headers, &["destination-id"]);
    let fault = state.take_fault(business, customer)?;
    tokio::time::sleep(fault.latency()).await;
    if fault.hang {
        state.record_attempt(crate::state::Attempt {
            id: header_value(headers, &["id"])
                .unwrap_or_default()
                .to_owned(),
            customer: customer.unwrap_or_default().to_owned(),
            status: 0,
            at_ms: now_ms(),
        });
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(fault.status?).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, "injected fault").into_response();
    if let Some(seconds) = fault.retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Some(response)
}

async fn message(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    accept(state, Endpoint::Message, headers, body).await
}

async fn authenticate(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    accept(state, Endpoint::Authenticate, headers, body).await
}

async fn accept(state: Shared, endpoint: Endpoint, headers: HeaderMap, body: Bytes) -> Response {
    let attempt = |status: u16| crate::state::Attempt {
        id: header_value(&headers, &["id"])
            .unwrap_or_default()
            .to_owned(),
        customer: header_value(&headers, &["destination-id"])
            .unwrap_or_default()
            .to_owned(),
        status,
        at_ms: now_ms(),
    };
    if let Some(response) = fault(&state, &headers).await {
        state.record_attempt(attempt(response.status().as_u16()));
        return response;
    }
    let response = match accept_checked(&state, endpoint, &headers, &body) {
        Ok(None) => StatusCode::OK.into_response(),
        Ok(Some(answer)) => (StatusCode::OK, Json(answer)).into_response(),
        Err(rejection) => rejection.into_response(),
    };
    state.record_attempt(attempt(response.status().as_u16()));
    response
}

fn accept_checked(
    state: &SimState,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Value>, Rejection> {
    authorize(state, headers)?;
    let id = required(headers, &["id"])?;
    let business = required(headers, &["source-id"])?;
    let customer = required(headers, &["destination-id"])?;
    known_business(state, business)?;
    match state.customer(customer) {
        Some(c) if c.business == business => {}
        _ => return Rejection::not_found("unknown destination").into_err(),
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::bad_request(format!("the body is not JSON: {e}")))?;
    validate::validate(state, endpoint, &json, id, business, customer)?;
    let answer = data_ref_answer(state, headers, &json);
    state.record(Received {
        endpoint: match endpoint {
            Endpoint::Message => "/message".into(),
            Endpoint::Authenticate => "/authenticate".into(),
        },
        business: business.to_owned(),
        customer: customer.to_owned(),
        id: id.to_owned(),
        auto_reply: header_value(headers, &["auto-reply"])
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        msp_agent: header_value(headers, &["msp-agent"]).map(|v| v.chars().take(64).collect()),
        body: json,
        received_at_ms: now_ms(),
    });
    Ok(answer)
}

/// With `include-data-ref: true` and interactive data over 10 KB, Apple answers with a
/// reusable reference to it.
fn data_ref_answer(state: &SimState, headers: &HeaderMap, json: &Value) -> Option<Value> {
    let wanted = header_value(headers, &["include-data-ref"])
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let data = json.get("interactiveData")?;
    let encoded = serde_json::to_vec(data).ok()?;
    if !wanted || encoded.len() <= INLINE_INTERACTIVE_LIMIT {
        return None;
    }
    let reference = store_payload(state, data);
    let mut data_ref = reference;
    if let Some(map) = data_ref.as_object_mut() {
        map.remove("key");
        map.insert(
            "dataRefSig".into(),
            Value::String(uuid::Uuid::new_v4().simple().to_string()),
        );
    }
    Some(json!({ "dataRef": data_ref }))
}

/// Stores interactive data behind an encrypted reference (gzip(JSON) is the simulator's
/// opaque encoding) and returns the reference fields.
pub(crate) fn store_payload(state: &SimState, interactive_data: &Value) -> Value {
    let plain = parley_apple::body::gzip(&serde_json::to_vec(interactive_data).unwrap_or_default());
    let key = AttachmentKey::generate();
    let sealed = parley_apple::crypto::encrypt(&key, &plain);
    let size = sealed.len();
    let (url, blob) = state.blobs.put(&state.public_base(), Bytes::from(sealed));
    let signature = hex::decode(&blob.signature_hex).unwrap_or_default();
    let bid = interactive_data
        .get("bid")
        .and_then(Value::as_str)
        .unwrap_or(validate::APPLE_BID);
    if let Ok(mut payloads) = state.payloads.lock() {
        payloads.insert(url.clone(), interactive_data.clone());
    }
    json!({
        "bid": bid,
        "url": url,
        "owner": blob.owner,
        "size": size,
        "key": key.to_wire(),
        "signature": blob.signature_hex,
        "signature-base64": base64::engine::general_purpose::STANDARD.encode(signature),
        "title": "Interactive message",
    })
}

async fn pre_upload(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(response) = fault(&state, &headers).await {
        return response;
    }
    let checked = (|| -> Result<Value, Rejection> {
        authorize(&state, &headers)?;
        let business = required(&headers, &["source-id"])?;
        known_business(&state, business)?;
        // Apple's samples send MMCS-Size; its doc sample shows size: accept both.
        let size: u64 = required(&headers, &["mmcs-size", "size"])?
            .parse()
            .map_err(|_| Rejection::bad_request("MMCS-Size must be a number of bytes"))?;
        if size > MAX_UPLOAD as u64 {
            return Rejection::bad_request("attachments are limited to 100 MB").into_err();
        }
        let (token, mmcs_url, owner) = state.blobs.reserve(&state.public_base(), size);
        Ok(json!({
            "upload-url": format!("{}/upload/{token}", state.public_base()),
            "mmcs-url": mmcs_url,
            "mmcs-owner": owner,
        }))
    })();
    match checked {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn upload(State(state): State<Shared>, Path(token): Path<String>, body: Bytes) -> Response {
    match state.blobs.complete(&token, body) {
        Ok(signature) => (
            StatusCode::OK,
            Json(json!({"singleFile": {
                "fileChecksum": base64::engine::general_purpose::STANDARD.encode(signature)
            }})),
        )
            .into_response(),
        Err(reason) => Rejection::bad_request(reason).into_response(),
    }
}

async fn pre_download(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(response) = fault(&state, &headers).await {
        return response;
    }
    let checked = (|| -> Result<Value, Rejection> {
        authorize(&state, &headers)?;
        let business = required(&headers, &["source-id"])?;
        known_business(&state, business)?;
        // Apple's samples use MMCS-Url/-Signature/-Owner; others use url/signature/owner.
        let url = required(&headers, &["mmcs-url", "url"])?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(required(&headers, &["mmcs-signature", "signature"])?)
            .map_err(|_| Rejection::bad_request("MMCS-Signature must be Base64"))?;
        let owner = required(&headers, &["mmcs-owner", "owner"])?;
        let token = state
            .blobs
            .authorize_download(url, owner, &signature)
            .map_err(|reason| {
                if reason.starts_with("unknown") {
                    Rejection::not_found(reason)
                } else {
                    Rejection::bad_request(reason)
                }
            })?;
        Ok(json!({ "download-url": format!("{}/download/{token}", state.public_base()) }))
    })();
    match checked {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn download(State(state): State<Shared>, Path(token): Path<String>) -> Response {
    match state.blobs.download(&token) {
        Some(bytes) => (StatusCode::OK, bytes).into_response(),
        None => Rejection::not_found("unknown download url").into_response(),
    }
}

async fn decode_payload(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let checked = (|| -> Result<Value, Rejection> {
        authorize(&state, &headers)?;
        let business = required(&headers, &["source-id"])?;
        known_business(&state, business)?;
        required(&headers, &["bid"])?;
        // Apple's sample posts the raw decrypted bytes; one third party posts them gunzipped.
        // Accept both.
        let plain = if parley_apple::body::is_gzip(&body) {
            parley_apple::body::decode_body(&body, None, &parley_apple::body::BodyLimits::default())
                .map_err(|e| Rejection::bad_request(format!("payload: {e}")))?
        } else {
            body.to_vec()
        };
        serde_json::from_slice::<Value>(&plain)
            .map_err(|_| Rejection::bad_request("the payload is not a decrypted data reference"))
    })();
    match checked {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn encode_payload(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let checked = (|| -> Result<Vec<u8>, Rejection> {
        authorize(&state, &headers)?;
        serde_json::from_slice::<Value>(&body)
            .map_err(|_| Rejection::bad_request("the body is not JSON"))?;
        Ok(parley_apple::body::gzip(&body))
    })();
    match checked {
        Ok(bytes) => (StatusCode::OK, bytes).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn construct_payload(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = (|| -> Result<Value, Rejection> {
        authorize(&state, &headers)?;
        let request: Value = serde_json::from_slice(&body)
            .map_err(|_| Rejection::bad_request("the body is not JSON"))?;
        let url = request
            .get("link")
            .and_then(|l| l.get("url"))
            .and_then(Value::as_str)
            .ok_or_else(|| Rejection::bad_request("link.url is required"))?;
        if !url.starts_with("https://") {
            return Rejection::bad_request("the URL has no App Clip").into_err();
        }
        let reference = store_payload(&state, &json!({ "url": url }));
        Ok(json!({ "version": "1.0", "richLinkDataRef": reference }))
    })();
    match checked {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}
