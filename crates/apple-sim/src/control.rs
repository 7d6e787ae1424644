//! The JSON control API: drive devices, inject faults, read what Apple received.
//!
//! - `POST /control/devices` `{"business", "kind"}` → a device
//! - `POST /control/devices/{customer}/text` `{"text"}`; `/typing` `{"start": bool}`;
//!   `/close`; `/tapback` `{"reaction", "quoted"}`; `/attachment`
//!   `{"name", "mime_type", "data_base64", "caption"}`; `/interactive-reply`
//!   `{"data", "by_reference"}` → `{"id", "status"}` (the MSP's answer)
//! - `POST /control/devices/{customer}/script` `{"steps": [{"text": "…"}, {"typing": true},
//!   {"tapback": {"reaction", "quoted"}}, {"close": true}]}` → every step's `{"id", "status"}`
//! - `GET /control/received` (optionally `?customer=`) → what Apple accepted
//! - `POST /control/faults` (a fault) and `DELETE /control/faults`

use std::{collections::HashMap, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::{Device, DeviceKind, DeviceSender, Fault, SimError, SimState};

#[derive(Clone)]
pub(crate) struct Control {
    pub(crate) state: Arc<SimState>,
    pub(crate) devices: DeviceSender,
}

pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/control/devices", post(new_device))
        .route("/control/devices/{customer}/text", post(text))
        .route("/control/devices/{customer}/typing", post(typing))
        .route("/control/devices/{customer}/close", post(close))
        .route("/control/devices/{customer}/tapback", post(tapback))
        .route("/control/devices/{customer}/attachment", post(attachment))
        .route(
            "/control/devices/{customer}/interactive-reply",
            post(interactive_reply),
        )
        .route("/control/devices/{customer}/script", post(script))
        .route("/control/received", get(received))
        .route("/control/faults", post(add_fault))
        .route("/control/faults", delete(clear_faults))
}

fn answer<T: serde::Serialize>(result: Result<T, SimError>) -> Response {
    match result {
        Ok(value) => (StatusCode::OK, Json(value)).into_response(),
        Err(SimError::Device(reason)) => (StatusCode::BAD_REQUEST, reason).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

impl Control {
    fn device(&self, customer: &str) -> Result<Device, SimError> {
        let known = self
            .state
            .customer(customer)
            .ok_or_else(|| SimError::Device(format!("unknown device {customer}")))?;
        Ok(Device {
            business: known.business,
            customer: customer.to_owned(),
            kind: known.kind,
        })
    }
}

#[derive(Deserialize)]
struct NewDevice {
    business: String,
    kind: DeviceKind,
}

async fn new_device(State(c): State<Control>, Json(request): Json<NewDevice>) -> Response {
    answer(c.devices.new_device(&request.business, request.kind))
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

async fn text(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<Text>,
) -> Response {
    let result = match c.device(&customer) {
        Ok(device) => c.devices.text(&device, &r.text).await,
        Err(e) => Err(e),
    };
    answer(result)
}

#[derive(Deserialize)]
struct Typing {
    start: bool,
}

async fn typing(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<Typing>,
) -> Response {
    let result = match c.device(&customer) {
        Ok(device) if r.start => c.devices.typing_start(&device).await,
        Ok(device) => c.devices.typing_end(&device).await,
        Err(e) => Err(e),
    };
    answer(result)
}

async fn close(State(c): State<Control>, Path(customer): Path<String>) -> Response {
    let result = match c.device(&customer) {
        Ok(device) => c.devices.close(&device).await,
        Err(e) => Err(e),
    };
    answer(result)
}

#[derive(Deserialize)]
struct Tapback {
    reaction: String,
    quoted: String,
}

async fn tapback(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<Tapback>,
) -> Response {
    let result = match c.device(&customer) {
        Ok(device) => c.devices.tapback(&device, &r.reaction, &r.quoted).await,
        Err(e) => Err(e),
    };
    answer(result)
}

#[derive(Deserialize)]
struct Attachment {
    name: String,
    mime_type: String,
    data_base64: String,
    #[serde(default)]
    caption: String,
}

async fn attachment(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<Attachment>,
) -> Response {
    let result = async {
        let device = c.device(&customer)?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(&r.data_base64)
            .map_err(|e| SimError::Device(format!("data_base64: {e}")))?;
        c.devices
            .attachment(&device, &r.name, &r.mime_type, &data, &r.caption)
            .await
    }
    .await;
    answer(result)
}

#[derive(Deserialize)]
struct InteractiveReply {
    data: Value,
    #[serde(default)]
    by_reference: bool,
}

async fn interactive_reply(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<InteractiveReply>,
) -> Response {
    let result = match c.device(&customer) {
        Ok(device) => {
            c.devices
                .interactive_reply(&device, r.data, r.by_reference)
                .await
        }
        Err(e) => Err(e),
    };
    answer(result)
}

/// One step of a scripted conversation.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// A text (with `typing_start` before it).
    Text(String),
    /// `typing_start` (true) or `typing_end` (false).
    Typing(bool),
    /// A tapback.
    Tapback(Tapback),
    /// `close` (when true; `false` is a no-op step).
    Close(bool),
}

#[derive(Deserialize)]
struct Script {
    steps: Vec<Step>,
}

async fn script(
    State(c): State<Control>,
    Path(customer): Path<String>,
    Json(r): Json<Script>,
) -> Response {
    let result = async {
        let device = c.device(&customer)?;
        let mut sent = Vec::with_capacity(r.steps.len());
        for step in r.steps {
            sent.push(match step {
                Step::Text(text) => c.devices.text(&device, &text).await?,
                Step::Typing(true) => c.devices.typing_start(&device).await?,
                Step::Typing(false) => c.devices.typing_end(&device).await?,
                Step::Tapback(t) => c.devices.tapback(&device, &t.reaction, &t.quoted).await?,
                Step::Close(true) => c.devices.close(&device).await?,
                Step::Close(false) => continue,
            });
        }
        Ok(sent)
    }
    .await;
    answer(result)
}

async fn received(
    State(c): State<Control>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let received = match query.get("customer") {
        Some(customer) => c.state.received_by(customer),
        None => c.state.received(),
    };
    (StatusCode::OK, Json(received)).into_response()
}

async fn add_fault(State(c): State<Control>, Json(fault): Json<Fault>) -> Response {
    c.state.add_fault(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(c): State<Control>) -> Response {
    c.state.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}
