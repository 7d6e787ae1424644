//! What Apple checks in an MSP's `/message` and `/authenticate` bodies, on raw JSON.
//!
//! One function per rule family; each refusal names the field. Where Apple's sources
//! disagree, both spellings are accepted (apple-mfb-api §11).

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::{Rejection, SimState};

/// Apple's built-in interactive extension.
pub(crate) const APPLE_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";
const BID_PREFIX: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:";
/// Inline interactive data above this size comes back as a data reference.
pub(crate) const INLINE_INTERACTIVE_LIMIT: usize = 10 * 1024;
const RICH_LINK_IMAGE_LIMIT: usize = 200 * 1024;
const CUSTOM_APP_URL_LIMIT: usize = 64 * 1024;

/// Which endpoint received the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Message,
    Authenticate,
}

fn bad(reason: impl Into<String>) -> Rejection {
    Rejection::bad_request(reason)
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Rejection> {
    value
        .as_object()
        .ok_or_else(|| bad(format!("{what} must be an object")))
}

fn string<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str, Rejection> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(bad(format!("{what}.{key} must be a non-empty string"))),
        None => Err(bad(format!("{what}.{key} is required"))),
    }
}

fn first_string<'a>(
    map: &'a Map<String, Value>,
    keys: &[&str],
    what: &str,
) -> Result<&'a str, Rejection> {
    for key in keys {
        if map.contains_key(*key) {
            return string(map, key, what);
        }
    }
    Err(bad(format!("{what}.{} is required", keys[0])))
}

fn non_empty_array<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<&'a Vec<Value>, Rejection> {
    match map.get(key) {
        Some(Value::Array(items)) if !items.is_empty() => Ok(items),
        Some(_) => Err(bad(format!("{what}.{key} must be a non-empty array"))),
        None => Err(bad(format!("{what}.{key} is required"))),
    }
}

/// Checks a body; `header_id` is the `id` header. The headers' parties are checked by the
/// gateway before.
pub(crate) fn validate(
    state: &SimState,
    endpoint: Endpoint,
    body: &Value,
    header_id: &str,
    business: &str,
    customer: &str,
) -> Result<(), Rejection> {
    let message = object(body, "the body")?;
    match message.get("v") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(_) => return Err(bad("v must be the integer 1")),
        None => return Err(bad("v is required")),
    }
    let id = string(message, "id", "the body")?;
    if id != header_id {
        return Err(bad("the body id differs from the id header"));
    }
    for (key, expected) in [("sourceId", business), ("destinationId", customer)] {
        if let Some(value) = message.get(key)
            && value.as_str() != Some(expected)
        {
            return Err(bad(format!("the body {key} differs from its header")));
        }
    }
    let kind = string(message, "type", "the body")?;
    if endpoint == Endpoint::Authenticate && kind != "interactive" {
        return Err(bad(
            "/authenticate takes only interactive authentication requests",
        ));
    }
    match kind {
        "text" => text(state, message),
        "typing_start" | "typing_end" => Ok(()),
        "richLink" => rich_link(message),
        "interactive" => interactive(endpoint, message),
        "close" => Err(bad("an MSP must never send type close")),
        other => Err(bad(format!("type {other:?} is not one an MSP can send"))),
    }
}

fn text(state: &SimState, message: &Map<String, Value>) -> Result<(), Rejection> {
    let attachments = match message.get("attachments") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err(bad("attachments must be an array")),
    };
    match message.get("body") {
        Some(Value::String(body)) if !body.is_empty() => {}
        Some(Value::String(_)) | None if !attachments.is_empty() => {}
        Some(Value::String(_)) => return Err(bad("body must not be empty")),
        Some(_) => return Err(bad("body must be a string")),
        None => return Err(bad("body is required for type text")),
    }
    for (index, attachment) in attachments.iter().enumerate() {
        let what = format!("attachments[{index}]");
        let a = object(attachment, &what)?;
        string(a, "name", &what)?;
        first_string(a, &["mimeType", "mime-type"], &what)?;
        let size = a
            .get("size")
            .or_else(|| a.get("file-size"))
            .ok_or_else(|| bad(format!("{what}.size is required")))?;
        let size_ok = match size {
            Value::String(s) => s.parse::<u64>().is_ok(),
            _ => false,
        };
        if !size_ok {
            return Err(bad(format!("{what}.size has to be a string of digits")));
        }
        let key = first_string(a, &["key", "decryption-key"], &what)?;
        if parley_apple::crypto::AttachmentKey::parse(key).is_err() {
            return Err(bad(format!(
                "{what}.key must be 00 followed by 64 hex digits"
            )));
        }
        let url = first_string(a, &["url", "mmcs-url"], &what)?;
        let owner = first_string(a, &["owner", "mmcs-owner"], &what)?;
        let signature = if a.contains_key("signature-base64") {
            base64::engine::general_purpose::STANDARD
                .decode(string(a, "signature-base64", &what)?)
                .map_err(|_| bad(format!("{what}.signature-base64 is not Base64")))?
        } else {
            hex::decode(first_string(
                a,
                &["mmcs-signature-hex", "signature"],
                &what,
            )?)
            .map_err(|_| bad(format!("{what}.signature is not hex")))?
        };
        let blob = state
            .blobs
            .get(url)
            .ok_or_else(|| bad(format!("{what}.url was never uploaded")))?;
        if blob.owner != owner || blob.signature_hex != hex::encode(&signature) {
            return Err(bad(format!(
                "{what} owner or signature does not match the upload"
            )));
        }
    }
    Ok(())
}

fn rich_link(message: &Map<String, Value>) -> Result<(), Rejection> {
    let data = object(
        message
            .get("richLinkData")
            .ok_or_else(|| bad("richLinkData is required for type richLink"))?,
        "richLinkData",
    )?;
    let url = string(data, "url", "richLinkData")?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(bad(
            "richLinkData.url must be an http(s) URL (custom schemes do not work)",
        ));
    }
    string(data, "title", "richLinkData")?;
    if let Some(image) = data
        .get("assets")
        .and_then(|a| a.get("image"))
        .and_then(|i| i.get("data"))
        .and_then(Value::as_str)
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(image)
            .map_err(|_| bad("richLinkData.assets.image.data is not Base64"))?;
        if bytes.len() > RICH_LINK_IMAGE_LIMIT {
            return Err(bad("richLinkData.assets.image is larger than 200 kB"));
        }
    }
    Ok(())
}

fn interactive(endpoint: Endpoint, message: &Map<String, Value>) -> Result<(), Rejection> {
    if let Some(reference) = message.get("interactiveDataRef") {
        let r = object(reference, "interactiveDataRef")?;
        for key in ["bid", "url", "owner"] {
            string(r, key, "interactiveDataRef")?;
        }
        return Ok(());
    }
    let data = object(
        message
            .get("interactiveData")
            .ok_or_else(|| bad("interactiveData or interactiveDataRef is required"))?,
        "interactiveData",
    )?;
    let bid = string(data, "bid", "interactiveData")?;
    if !bid.starts_with(BID_PREFIX) {
        return Err(bad("interactiveData.bid is not a Messages extension id"));
    }
    if bid != APPLE_BID {
        // A business's own iMessage app: its data travels in URL.
        let url = string(data, "URL", "interactiveData")?;
        if url.len() > CUSTOM_APP_URL_LIMIT {
            return Err(bad("interactiveData.URL is larger than 64 KB"));
        }
        return Ok(());
    }
    let payload = object(
        data.get("data")
            .ok_or_else(|| bad("interactiveData.data is required"))?,
        "interactiveData.data",
    )?;
    let what = "interactiveData.data";
    string(payload, "requestIdentifier", what)?;
    first_string(payload, &["version", "mspVersion"], what)?;
    let features: Vec<&str> = [
        "listPicker",
        "event",
        "quick-reply",
        "payment",
        "authenticate",
        "dynamic",
    ]
    .into_iter()
    .filter(|k| payload.contains_key(*k))
    .collect();
    let feature = match features.as_slice() {
        [one] => *one,
        [] => return Err(bad("interactiveData.data names no interactive feature")),
        _ => {
            return Err(bad(format!(
                "interactiveData.data names several features: {features:?}"
            )));
        }
    };
    let is_auth = feature == "authenticate";
    if is_auth != (endpoint == Endpoint::Authenticate) {
        return Err(bad(if is_auth {
            "authentication requests go to /authenticate, not /message"
        } else {
            "/authenticate takes only authentication requests"
        }));
    }
    let body = payload.get(feature).unwrap_or(&Value::Null);
    match feature {
        "listPicker" => list_picker(body),
        "event" => time_picker(body),
        "quick-reply" => quick_reply(body),
        "payment" => apple_pay(body),
        "authenticate" => authentication(body),
        _ => form(body),
    }
}

fn items(map: &Map<String, Value>, what: &str) -> Result<(), Rejection> {
    for (index, item) in non_empty_array(map, "items", what)?.iter().enumerate() {
        let what = format!("{what}.items[{index}]");
        let item = object(item, &what)?;
        string(item, "identifier", &what)?;
        string(item, "title", &what)?;
    }
    Ok(())
}

fn list_picker(body: &Value) -> Result<(), Rejection> {
    let picker = object(body, "listPicker")?;
    for (index, section) in non_empty_array(picker, "sections", "listPicker")?
        .iter()
        .enumerate()
    {
        let what = format!("listPicker.sections[{index}]");
        items(object(section, &what)?, &what)?;
    }
    Ok(())
}

fn time_picker(body: &Value) -> Result<(), Rejection> {
    let event = object(body, "event")?;
    for (index, slot) in non_empty_array(event, "timeslots", "event")?
        .iter()
        .enumerate()
    {
        let what = format!("event.timeslots[{index}]");
        let slot = object(slot, &what)?;
        string(slot, "identifier", &what)?;
        string(slot, "startTime", &what)?;
        match slot.get("duration").and_then(Value::as_u64) {
            Some(seconds) if seconds > 0 => {}
            _ => {
                return Err(bad(format!(
                    "{what}.duration must be a positive number of seconds"
                )));
            }
        }
    }
    Ok(())
}

fn quick_reply(body: &Value) -> Result<(), Rejection> {
    let quick = object(body, "quick-reply")?;
    items(quick, "quick-reply")
}

fn apple_pay(body: &Value) -> Result<(), Rejection> {
    let payment = object(body, "payment")?;
    let request = object(
        payment
            .get("paymentRequest")
            .ok_or_else(|| bad("payment.paymentRequest is required"))?,
        "payment.paymentRequest",
    )?;
    for key in ["countryCode", "currencyCode"] {
        string(request, key, "payment.paymentRequest")?;
    }
    object(
        request
            .get("total")
            .ok_or_else(|| bad("payment.paymentRequest.total is required"))?,
        "payment.paymentRequest.total",
    )?;
    let apple_pay = object(
        request
            .get("applePay")
            .ok_or_else(|| bad("payment.paymentRequest.applePay is required"))?,
        "payment.paymentRequest.applePay",
    )?;
    string(
        apple_pay,
        "merchantIdentifier",
        "payment.paymentRequest.applePay",
    )?;
    object(
        payment
            .get("merchantSession")
            .ok_or_else(|| bad("payment.merchantSession is required"))?,
        "payment.merchantSession",
    )?;
    let endpoints = object(
        payment
            .get("endpoints")
            .ok_or_else(|| bad("payment.endpoints is required"))?,
        "payment.endpoints",
    )?;
    string(endpoints, "paymentGatewayUrl", "payment.endpoints")?;
    Ok(())
}

fn authentication(body: &Value) -> Result<(), Rejection> {
    let auth = object(body, "authenticate")?;
    let oauth = object(
        auth.get("oauth2")
            .ok_or_else(|| bad("authenticate.oauth2 is required"))?,
        "authenticate.oauth2",
    )?;
    let response_type = string(oauth, "responseType", "authenticate.oauth2")?;
    string(oauth, "state", "authenticate.oauth2")?;
    non_empty_array(oauth, "scope", "authenticate.oauth2")?;
    if response_type == "code" && !oauth.contains_key("responseEncryptionKey") {
        string(oauth, "redirectURI", "authenticate.oauth2")?;
    } else {
        let key = string(oauth, "responseEncryptionKey", "authenticate.oauth2")?;
        let point = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| bad("authenticate.oauth2.responseEncryptionKey is not Base64"))?;
        if point.len() != 97 || point.first() != Some(&4) {
            return Err(bad(
                "authenticate.oauth2.responseEncryptionKey is not an uncompressed P-384 point",
            ));
        }
    }
    Ok(())
}

fn form(body: &Value) -> Result<(), Rejection> {
    let dynamic = object(body, "dynamic")?;
    let template = string(dynamic, "template", "dynamic")?;
    if template != "messageForms" && template != "form" {
        return Err(bad(format!(
            "dynamic.template {template:?} is not a form template"
        )));
    }
    let data = object(
        dynamic
            .get("data")
            .ok_or_else(|| bad("dynamic.data is required"))?,
        "dynamic.data",
    )?;
    for (index, page) in non_empty_array(data, "pages", "dynamic.data")?
        .iter()
        .enumerate()
    {
        let what = format!("dynamic.data.pages[{index}]");
        let page = object(page, &what)?;
        let id = string(page, "pageIdentifier", &what)?;
        if id.chars().count() >= 20 {
            return Err(bad(format!(
                "{what}.pageIdentifier must be shorter than 20 characters"
            )));
        }
        let kind = string(page, "type", &what)?;
        if !matches!(kind, "select" | "picker" | "datePicker" | "input") {
            return Err(bad(format!("{what}.type {kind:?} is not a form page type")));
        }
    }
    Ok(())
}
