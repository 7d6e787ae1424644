//! Customer devices: they send JWT-signed, gzip-compressed webhooks to the MSP's `/message`.

use std::{sync::Arc, time::SystemTime};

use bytes::Bytes;
use parley_apple::crypto::AttachmentKey;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    SimError, SimState,
    gateway::store_payload,
    validate::{APPLE_BID, INLINE_INTERACTIVE_LIMIT},
};

/// The kind of device a customer writes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// An iPhone: every capability.
    Iphone,
    /// A Mac: no forms (iPhone and iPad only).
    Mac,
    /// An Apple Watch: no list or time pickers, forms or authentication.
    Watch,
}

impl DeviceKind {
    /// The `device-agent` header Apple sends.
    pub fn device_agent(self) -> &'static str {
        match self {
            DeviceKind::Iphone => "iPhone OS",
            DeviceKind::Mac => "Mac OS X",
            DeviceKind::Watch => "Watch OS",
        }
    }

    /// The `capability-list` header Apple sends (assumed per device type: Apple documents
    /// that forms and iMessage apps need iPhone or iPad; the Watch set is a conservative
    /// guess).
    pub fn capability_list(self) -> &'static str {
        match self {
            DeviceKind::Iphone => "QUICK,LIST,TIME,AUTH,AUTH2,FORM",
            DeviceKind::Mac => "QUICK,LIST,TIME,AUTH,AUTH2",
            DeviceKind::Watch => "QUICK",
        }
    }
}

/// One simulated customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The business the customer writes to.
    pub business: String,
    /// The customer's opaque id.
    pub customer: String,
    /// The device kind.
    pub kind: DeviceKind,
}

/// What a webhook delivery produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The message id.
    pub id: String,
    /// The MSP's HTTP status.
    pub status: u16,
}

/// Sends webhooks as devices do.
#[derive(Clone)]
pub struct DeviceSender {
    state: Arc<SimState>,
    http: reqwest::Client,
    webhook: Arc<std::sync::Mutex<Option<String>>>,
}

fn opaque_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    let tail: String = (0..120)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("urn:mbid:AQAAY{tail}")
}

impl DeviceSender {
    pub(crate) fn new(state: Arc<SimState>, webhook: Option<String>) -> Result<Self, SimError> {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            // Apple gives the MSP 30 seconds.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| SimError::Config(e.to_string()))?;
        Ok(Self {
            state,
            http,
            webhook: Arc::new(std::sync::Mutex::new(webhook)),
        })
    }

    /// Points devices at the MSP's `/message` URL.
    pub fn set_webhook(&self, url: impl Into<String>) {
        if let Ok(mut webhook) = self.webhook.lock() {
            *webhook = Some(url.into());
        }
    }

    /// A new customer of `business` on a `kind` device.
    pub fn new_device(&self, business: &str, kind: DeviceKind) -> Result<Device, SimError> {
        if !self.state.is_business(business) {
            return Err(SimError::Device(format!("unknown business {business}")));
        }
        let customer = opaque_id();
        self.state.register_customer(&customer, business, kind);
        Ok(Device {
            business: business.to_owned(),
            customer,
            kind,
        })
    }

    fn envelope(device: &Device, kind: &str) -> (String, serde_json::Map<String, Value>) {
        let id = uuid::Uuid::new_v4().to_string();
        let mut body = serde_json::Map::new();
        body.insert("v".into(), json!(1));
        body.insert("id".into(), json!(id));
        body.insert("type".into(), json!(kind));
        body.insert("sourceId".into(), json!(device.customer));
        body.insert("destinationId".into(), json!(device.business));
        (id, body)
    }

    /// Sends a webhook with `body` (a full Apple message object) to the MSP.
    pub async fn send_raw(
        &self,
        device: &Device,
        id: &str,
        body: &Value,
    ) -> Result<Sent, SimError> {
        let webhook = self
            .webhook
            .lock()
            .ok()
            .and_then(|w| w.clone())
            .ok_or_else(|| SimError::Delivery("no MSP webhook configured".into()))?;
        let token = self
            .state
            .signer
            .authorization(SystemTime::now())
            .map_err(|e| SimError::Config(e.to_string()))?;
        let json = serde_json::to_vec(body).map_err(|e| SimError::Device(e.to_string()))?;
        let response = self
            .http
            .post(webhook)
            .header(http::header::AUTHORIZATION, token)
            .header("id", id)
            .header("source-id", &device.customer)
            .header("destination-id", &device.business)
            .header("device-agent", device.kind.device_agent())
            .header("capability-list", device.kind.capability_list())
            .header(http::header::CONTENT_ENCODING, "gzip")
            .body(parley_apple::body::gzip(&json))
            .send()
            .await
            .map_err(|e| SimError::Delivery(e.to_string()))?;
        Ok(Sent {
            id: id.to_owned(),
            status: response.status().as_u16(),
        })
    }

    async fn send(
        &self,
        device: &Device,
        kind: &str,
        fill: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<Sent, SimError> {
        let (id, mut body) = Self::envelope(device, kind);
        fill(&mut body);
        self.send_raw(device, &id, &Value::Object(body)).await
    }

    /// `typing_start`.
    pub async fn typing_start(&self, device: &Device) -> Result<Sent, SimError> {
        self.send(device, "typing_start", |_| {}).await
    }

    /// `typing_end`.
    pub async fn typing_end(&self, device: &Device) -> Result<Sent, SimError> {
        self.send(device, "typing_end", |_| {}).await
    }

    /// `close`: the customer deleted the conversation.
    pub async fn close(&self, device: &Device) -> Result<Sent, SimError> {
        self.send(device, "close", |_| {}).await
    }

    /// A text message, preceded by `typing_start` as Apple does; returns the text's result.
    pub async fn text(&self, device: &Device, text: &str) -> Result<Sent, SimError> {
        self.typing_start(device).await?;
        self.text_only(device, text).await
    }

    /// A text message without the `typing_start` before it.
    pub async fn text_only(&self, device: &Device, text: &str) -> Result<Sent, SimError> {
        self.send(device, "text", |body| {
            body.insert("body".into(), json!(text));
            body.insert("locale".into(), json!("en_US"));
        })
        .await
    }

    /// A tapback, as Apple sends it: a text whose body describes the reaction
    /// (`reaction` is e.g. "Liked", "Loved", "Laughed at").
    pub async fn tapback(
        &self,
        device: &Device,
        reaction: &str,
        quoted: &str,
    ) -> Result<Sent, SimError> {
        self.text_only(device, &format!("{reaction} \u{201c}{quoted}\u{201d}"))
            .await
    }

    /// A text with one encrypted attachment stored in the simulator's blob store.
    pub async fn attachment(
        &self,
        device: &Device,
        name: &str,
        mime_type: &str,
        plaintext: &[u8],
        caption: &str,
    ) -> Result<Sent, SimError> {
        let key = AttachmentKey::generate();
        let sealed = parley_apple::crypto::encrypt(&key, plaintext);
        let size = sealed.len();
        let (url, blob) = self
            .state
            .blobs
            .put(&self.state.public_base(), Bytes::from(sealed));
        let signature = hex::decode(&blob.signature_hex).unwrap_or_default();
        use base64::Engine as _;
        let attachment = json!({
            "name": name,
            "mimeType": mime_type,
            "size": size.to_string(),
            "key": key.to_wire(),
            "url": url,
            "owner": blob.owner,
            "signature": blob.signature_hex,
            "signature-base64": base64::engine::general_purpose::STANDARD.encode(signature),
        });
        self.send(device, "text", |body| {
            body.insert("body".into(), json!(format!("\u{fffc}{caption}")));
            body.insert("attachments".into(), json!([attachment]));
        })
        .await
    }

    /// The reply to an interactive message: `data` is the reply's `interactiveData.data`.
    /// Sent inline when it fits in 10 KB, otherwise as an encrypted `interactiveDataRef`
    /// (also when `by_reference` forces it).
    pub async fn interactive_reply(
        &self,
        device: &Device,
        data: Value,
        by_reference: bool,
    ) -> Result<Sent, SimError> {
        let interactive = json!({ "bid": APPLE_BID, "data": data });
        let inline = serde_json::to_vec(&interactive).map_or(usize::MAX, |v| v.len());
        if by_reference || inline > INLINE_INTERACTIVE_LIMIT {
            let reference = store_payload(&self.state, &interactive);
            self.send(device, "interactive", |body| {
                body.insert("interactiveDataRef".into(), reference);
            })
            .await
        } else {
            self.send(device, "interactive", |body| {
                body.insert("interactiveData".into(), interactive);
            })
            .await
        }
    }

    /// Posts the Apple Pay payment to the business's gateway URL as the device does (plain
    /// JSON, no token) and returns the answer.
    pub async fn pay(
        &self,
        gateway_url: &str,
        request_identifier: &str,
    ) -> Result<Value, SimError> {
        let body = json!({
            "requestIdentifier": request_identifier,
            "version": "1.0",
            "payment": {
                "paymentToken": {
                    "paymentMethod": { "displayName": "Visa 1234", "network": "Visa", "type": "debit" },
                    "transactionIdentifier": uuid::Uuid::new_v4().simple().to_string(),
                    "paymentData": { "version": "EC_v1", "data": "c2ltdWxhdGVk" }
                },
                "billingContact": { "postalCode": "95014", "countryCode": "US" },
                "shippingContact": { "givenName": "Test", "familyName": "Customer" }
            }
        });
        let response = self
            .http
            .post(gateway_url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SimError::Delivery(e.to_string()))?;
        response
            .json()
            .await
            .map_err(|e| SimError::Delivery(e.to_string()))
    }
}
