//! The simulator against the client: rules, faults, attachments, references, webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use parley_apple::{
    client::{AppleClient, ClientConfig, ClientError, ErrorClass, FinalReason, SendHeaders},
    crypto::AttachmentKey,
    jwt::{Direction, JwtSigner, JwtVerifier},
};
use parley_apple_sim::{Device, DeviceKind, Fault, FaultScope, SimConfig, Simulator};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ==";
const MSP: &str = "msp-test";
const BIZ: &str = "biz-1";

async fn simulator() -> Simulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(
        SimConfig {
            msp_id: MSP.into(),
            secret_base64: SECRET.into(),
            businesses: vec![BIZ.into()],
            msp_webhook_url: None,
        },
        listener,
    )
    .await
    .unwrap()
}

fn client(sim: &Simulator, timeout: Duration) -> AppleClient {
    AppleClient::new(
        ClientConfig {
            base_url: sim.api_base_url(),
            request_timeout: timeout,
            ..ClientConfig::default()
        },
        Arc::new(JwtSigner::new(SECRET, MSP, Direction::Outbound).unwrap()),
    )
    .unwrap()
}

fn headers(device: &Device, id: &str) -> SendHeaders {
    SendHeaders {
        id: id.into(),
        business_id: device.business.clone(),
        customer_id: device.customer.clone(),
        auto_reply: false,
        msp_agent: Some("agent-7".into()),
        include_data_ref: false,
    }
}

fn text(device: &Device, id: &str, body: &str) -> Value {
    json!({"v": 1, "id": id, "type": "text", "sourceId": device.business,
           "destinationId": device.customer, "body": body})
}

fn interactive(device: &Device, id: &str, data: Value) -> Value {
    json!({"v": 1, "id": id, "type": "interactive", "sourceId": device.business,
           "destinationId": device.customer, "interactiveData": {
               "bid": "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension",
               "data": data,
               "receivedMessage": {"title": "Pick one", "style": "icon"},
               "replyMessage": {"title": "You picked", "style": "icon"}}})
}

fn list_picker() -> Value {
    json!({"requestIdentifier": "r-1", "mspVersion": "1.0",
           "listPicker": {"sections": [{"title": "Fruit", "order": 0, "multipleSelection": true,
             "items": [{"identifier": "1", "title": "Apple", "order": 0, "style": "default"}]}]}})
}

async fn send(
    client: &AppleClient,
    device: &Device,
    body: Value,
) -> Result<Option<Value>, ClientError> {
    // The header id is the body's, except for the case that tests a mismatch.
    let id = match body["id"].as_str() {
        Some("other") => "id-1".to_owned(),
        Some(id) => id.to_owned(),
        None => "x".to_owned(),
    };
    client
        .send_message(&headers(device, &id), serde_json::to_vec(&body).unwrap())
        .await
}

fn status_of(result: Result<Option<Value>, ClientError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(ClientError::Status { status, .. }) => status,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn accepts_and_records_valid_messages() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let c = client(&sim, Duration::from_secs(5));
    assert_eq!(
        status_of(send(&c, &device, text(&device, "m1", "Hello \u{202e}مرحبا")).await),
        200
    );
    assert_eq!(
        status_of(send(&c, &device, interactive(&device, "m2", list_picker())).await),
        200
    );
    let typing = json!({"v": 1, "id": "m3", "type": "typing_start"});
    assert_eq!(status_of(send(&c, &device, typing).await), 200);
    let received = sim.state().received_by(&device.customer);
    let ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    assert_eq!(received[0].body["body"], "Hello \u{202e}مرحبا");
    assert_eq!(received[0].msp_agent.as_deref(), Some("agent-7"));
}

/// One case per rule Apple enforces: (what, request body, expected status).
#[tokio::test]
async fn rejects_what_apple_would_reject() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let c = client(&sim, Duration::from_secs(5));
    let with = |mutate: &dyn Fn(&mut Value)| {
        let mut body = text(&device, "id-1", "hi");
        mutate(&mut body);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "v missing",
            with(&|b| {
                b.as_object_mut().unwrap().remove("v");
            }),
        ),
        ("v is 2", with(&|b| b["v"] = json!(2))),
        ("v is a string", with(&|b| b["v"] = json!("1"))),
        ("body id differs", with(&|b| b["id"] = json!("other"))),
        (
            "type missing",
            with(&|b| {
                b.as_object_mut().unwrap().remove("type");
            }),
        ),
        ("unknown type", with(&|b| b["type"] = json!("sticker"))),
        ("close from the MSP", with(&|b| b["type"] = json!("close"))),
        (
            "text without body",
            with(&|b| {
                b.as_object_mut().unwrap().remove("body");
            }),
        ),
        ("empty text", with(&|b| b["body"] = json!(""))),
        (
            "sourceId differs",
            with(&|b| b["sourceId"] = json!("someone")),
        ),
        (
            "attachment never uploaded",
            with(&|b| {
                b["attachments"] = json!([{
            "name": "a.png", "mimeType": "image/png", "size": "3", "key": AttachmentKey::generate().to_wire(),
            "url": "https://nowhere/x", "owner": "o", "signature-base64": "AAAA"}])
            }),
        ),
        (
            "attachment size not a string",
            with(&|b| {
                b["attachments"] = json!([{
            "name": "a.png", "mimeType": "image/png", "size": 3, "key": AttachmentKey::generate().to_wire(),
            "url": "u", "owner": "o", "signature-base64": "AAAA"}])
            }),
        ),
        (
            "attachment bad key",
            with(&|b| {
                b["attachments"] = json!([{
            "name": "a.png", "mimeType": "image/png", "size": "3", "key": "00abc",
            "url": "u", "owner": "o", "signature-base64": "AAAA"}])
            }),
        ),
        (
            "rich link without data",
            with(&|b| b["type"] = json!("richLink")),
        ),
        (
            "rich link custom scheme",
            with(&|b| {
                b["type"] = json!("richLink");
                b["richLinkData"] = json!({"url": "myapp://x", "title": "t"});
            }),
        ),
        (
            "interactive without data",
            with(&|b| b["type"] = json!("interactive")),
        ),
        (
            "interactive without bid",
            interactive(&device, "id-1", list_picker()).pipe(|mut b| {
                b["interactiveData"].as_object_mut().unwrap().remove("bid");
                b
            }),
        ),
        (
            "interactive without requestIdentifier",
            interactive(&device, "id-1", list_picker()).pipe(|mut b| {
                b["interactiveData"]["data"]
                    .as_object_mut()
                    .unwrap()
                    .remove("requestIdentifier");
                b
            }),
        ),
        (
            "interactive without version",
            interactive(&device, "id-1", list_picker()).pipe(|mut b| {
                b["interactiveData"]["data"]
                    .as_object_mut()
                    .unwrap()
                    .remove("mspVersion");
                b
            }),
        ),
        (
            "list picker without sections",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "listPicker": {"sections": []}}),
            ),
        ),
        (
            "list picker item without title",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "listPicker": {"sections": [{"items": [{"identifier": "1"}]}]}}),
            ),
        ),
        (
            "time picker zero duration",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "event": {"timeslots": [{"identifier": "0", "startTime": "2026-07-10T17:00+0000", "duration": 0}]}}),
            ),
        ),
        (
            "quick reply without items",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "quick-reply": {"summaryText": "?", "items": []}}),
            ),
        ),
        (
            "apple pay without merchant session",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "payment": {"paymentRequest": {"countryCode": "US", "currencyCode": "USD", "total": {"label": "t", "amount": "1.00"}, "applePay": {"merchantIdentifier": "m"}}, "endpoints": {"paymentGatewayUrl": "https://p"}}}),
            ),
        ),
        (
            "form with a long page id",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "dynamic": {"template": "messageForms", "data": {"pages": [{"pageIdentifier": "x".repeat(20), "type": "input"}]}}}),
            ),
        ),
        (
            "authentication sent to /message",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "authenticate": {"oauth2": {"responseType": "code", "scope": ["a"], "state": "s", "redirectURI": "https://r"}}}),
            ),
        ),
        (
            "two features at once",
            interactive(
                &device,
                "id-1",
                json!({"requestIdentifier": "r", "version": "1.0", "quick-reply": {"items": [{"identifier": "1", "title": "a"}]}, "event": {"timeslots": []}}),
            ),
        ),
    ];
    for (what, body) in cases {
        assert_eq!(status_of(send(&c, &device, body).await), 400, "{what}");
    }
    assert!(
        sim.state().received().is_empty(),
        "nothing refused is recorded"
    );
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for Value {}

#[tokio::test]
async fn authorization_and_parties_are_checked() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let raw = reqwest::Client::new();
    let url = format!("{}/message", sim.api_base_url());
    let body = serde_json::to_vec(&text(&device, "id-1", "hi")).unwrap();
    let post = |auth: Option<String>, source: &str, destination: &str| {
        let mut request = raw
            .post(&url)
            .header("id", "id-1")
            .header("Source-Id", source)
            .header("Destination-Id", destination)
            .body(body.clone());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    let good = JwtSigner::new(SECRET, MSP, Direction::Outbound)
        .unwrap()
        .authorization(SystemTime::now())
        .unwrap();
    let inbound = JwtSigner::new(SECRET, MSP, Direction::Inbound)
        .unwrap()
        .authorization(SystemTime::now())
        .unwrap();
    let wrong_key = JwtSigner::new("b3RoZXI=", MSP, Direction::Outbound)
        .unwrap()
        .authorization(SystemTime::now())
        .unwrap();
    assert_eq!(
        post(None, BIZ, &device.customer).await.unwrap().status(),
        401
    );
    assert_eq!(
        post(Some(wrong_key), BIZ, &device.customer)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post(Some(inbound), BIZ, &device.customer)
            .await
            .unwrap()
            .status(),
        403,
        "iss is required"
    );
    assert_eq!(
        post(Some(good.clone()), "other-biz", &device.customer)
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post(Some(good.clone()), BIZ, "urn:mbid:unknown")
            .await
            .unwrap()
            .status(),
        404
    );
    let missing_id = raw
        .post(&url)
        .header("authorization", &good)
        .header("Source-Id", BIZ)
        .header("Destination-Id", &device.customer)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(missing_id.status(), 400);
    let not_json = raw
        .post(&url)
        .header("authorization", &good)
        .header("id", "id-1")
        .header("Source-Id", BIZ)
        .header("Destination-Id", &device.customer)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(
        post(Some(good), BIZ, &device.customer)
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_client_classifies_every_status() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let c = client(&sim, Duration::from_millis(700));
    let cases = [
        (Some(400), None, ErrorClass::Final(FinalReason::BadRequest)),
        (
            Some(401),
            None,
            ErrorClass::Final(FinalReason::Unauthorized),
        ),
        (Some(403), None, ErrorClass::Final(FinalReason::Forbidden)),
        (Some(404), None, ErrorClass::Final(FinalReason::Unreachable)),
        (
            Some(429),
            Some(7),
            ErrorClass::Retryable {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (Some(500), None, ErrorClass::Retryable { retry_after: None }),
        (
            Some(503),
            Some(2),
            ErrorClass::Retryable {
                retry_after: Some(Duration::from_secs(2)),
            },
        ),
    ];
    for (status, retry_after_secs, expected) in cases {
        sim.state().add_fault(Fault {
            scope: FaultScope::Customer(device.customer.clone()),
            status,
            retry_after_secs,
            latency_ms: 0,
            hang: false,
            times: Some(1),
            duration_ms: None,
        });
        let error = send(&c, &device, text(&device, "f", "hi"))
            .await
            .unwrap_err();
        assert_eq!(error.class(), expected, "{status:?}");
    }
    // A hanging gateway is a timeout, which is retryable.
    sim.state().add_fault(Fault {
        scope: FaultScope::Business(BIZ.into()),
        status: None,
        retry_after_secs: None,
        latency_ms: 0,
        hang: true,
        times: Some(1),
        duration_ms: None,
    });
    let error = send(&c, &device, text(&device, "h", "hi"))
        .await
        .unwrap_err();
    assert_eq!(error, ClientError::Timeout);
    assert_eq!(error.class(), ErrorClass::Retryable { retry_after: None });
    // Faults used up: the next message goes through.
    assert_eq!(
        status_of(send(&c, &device, text(&device, "ok", "hi")).await),
        200
    );
}

/// A sink that hashes what it is given and keeps nothing (memory stays bounded).
#[derive(Default)]
struct HashSink(Sha256, u64);

impl tokio::io::AsyncWrite for HashSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A 64 KiB block of varied bytes; attachments repeat it.
fn pattern() -> Vec<u8> {
    (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

/// A reader that yields `left` bytes of the pattern without holding them all.
struct Generated {
    left: u64,
    block: Vec<u8>,
    offset: usize,
}

impl Generated {
    fn new(len: u64) -> Self {
        Self {
            left: len,
            block: pattern(),
            offset: 0,
        }
    }
}

impl tokio::io::AsyncRead for Generated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64)
            .min(self.left)
            .min((self.block.len() - self.offset) as u64) as usize;
        let start = self.offset;
        buf.put_slice(&self.block[start..start + n]);
        self.offset = (self.offset + n) % self.block.len();
        self.left -= n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

fn generated_digest(len: u64) -> Vec<u8> {
    let block = pattern();
    let mut hash = Sha256::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        hash.update(&block[..n]);
        left -= n as u64;
    }
    hash.finalize().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_round_trip_byte_identical() {
    let sim = simulator().await;
    let c = client(&sim, Duration::from_secs(60));
    for size in [0u64, 1, 1 << 20, 100 * 1024 * 1024] {
        let key = AttachmentKey::generate();
        let slot = c.pre_upload(BIZ, size).await.unwrap();
        let receipt = c
            .upload_encrypted(&slot.upload_url, &key, Generated::new(size), size)
            .await
            .unwrap();
        let signature_hex = hex::encode(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &receipt.file_checksum,
            )
            .unwrap(),
        );
        let download = c
            .pre_download(BIZ, &slot.mmcs_url, &signature_hex, &slot.mmcs_owner)
            .await
            .unwrap();
        let mut sink = HashSink::default();
        let got = c
            .download_decrypted(&download, size, &key, &mut sink)
            .await
            .unwrap();
        assert_eq!(got, size);
        assert_eq!(
            sink.0.finalize().to_vec(),
            generated_digest(size),
            "{size} bytes differ after the round trip"
        );
        // A size that does not match what is stored is an error, not garbage.
        if size == 1 << 20 {
            let mut sink = HashSink::default();
            let error = c
                .download_decrypted(&download, size - 1, &key, &mut sink)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ClientError::SizeMismatch { .. }),
                "{error:?}"
            );
            let error = c
                .download_decrypted(&download, size + 1, &key, &mut HashSink::default())
                .await
                .unwrap_err();
            assert!(
                matches!(error, ClientError::SizeMismatch { .. }),
                "{error:?}"
            );
        }
    }
    // A bad signature or owner is refused at preDownload.
    let key = AttachmentKey::generate();
    let slot = c.pre_upload(BIZ, 3).await.unwrap();
    c.upload_encrypted(&slot.upload_url, &key, Generated::new(3), 3)
        .await
        .unwrap();
    let error = c
        .pre_download(BIZ, &slot.mmcs_url, "00", &slot.mmcs_owner)
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final(FinalReason::BadRequest));
    // An upload shorter than announced is refused.
    let slot = c.pre_upload(BIZ, 10).await.unwrap();
    let error = c
        .upload_encrypted(&slot.upload_url, &key, Generated::new(4), 4)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Status { status: 400, .. }),
        "{error:?}"
    );
    // Past 100 MB is refused before anything is sent.
    assert!(matches!(
        c.pre_upload(BIZ, 100 * 1024 * 1024 + 1).await,
        Err(ClientError::TooLarge { .. })
    ));
}

/// A tiny MSP: records what devices send, verifying Apple's token and gzip.
async fn msp(sim: &Simulator) -> Arc<Mutex<Vec<(http::HeaderMap, Value)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let verifier = Arc::new(
        JwtVerifier::new(SECRET, MSP, Direction::Inbound, Duration::from_secs(3600)).unwrap(),
    );
    let app = axum::Router::new().route(
        "/message",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                let verifier = verifier.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if verifier
                        .verify_authorization(auth, SystemTime::now())
                        .is_err()
                    {
                        return http::StatusCode::FORBIDDEN;
                    }
                    assert!(parley_apple::body::is_gzip(&body));
                    let json =
                        parley_apple::body::decode_body(&body, None, &Default::default()).unwrap();
                    seen.lock()
                        .unwrap()
                        .push((headers, serde_json::from_slice(&json).unwrap()));
                    http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sim.devices()
        .set_webhook(format!("http://{address}/message"));
    seen
}

#[tokio::test]
async fn devices_send_signed_gzip_webhooks() {
    let sim = simulator().await;
    let seen = msp(&sim).await;
    let phone = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let watch = sim.devices().new_device(BIZ, DeviceKind::Watch).unwrap();
    assert_eq!(
        sim.devices().text(&phone, "Hello").await.unwrap().status,
        200
    );
    sim.devices()
        .tapback(&watch, "Liked", "Hello")
        .await
        .unwrap();
    sim.devices().close(&phone).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|(_, b)| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["typing_start", "text", "text", "close"]);
    let (headers, body) = &seen[1];
    assert_eq!(body["body"], "Hello");
    assert_eq!(headers["source-id"], phone.customer.as_str());
    assert_eq!(headers["destination-id"], BIZ);
    assert_eq!(headers["device-agent"], "iPhone OS");
    assert_eq!(
        headers["capability-list"],
        "QUICK,LIST,TIME,AUTH,AUTH2,FORM"
    );
    assert_eq!(headers["id"], body["id"].as_str().unwrap());
    assert_eq!(seen[2].0["device-agent"], "Watch OS");
    assert_eq!(seen[2].1["body"], "Liked \u{201c}Hello\u{201d}");
}

#[tokio::test]
async fn interactive_replies_by_reference_decode_to_the_same_json() {
    let sim = simulator().await;
    let seen = msp(&sim).await;
    let c = client(&sim, Duration::from_secs(10));
    let phone = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let reply = json!({"requestIdentifier": "r-1", "version": "1.0",
        "listPicker": {"sections": [{"items": [{"identifier": "1", "title": "Apple"}]}]},
        "replyMessage": {"title": "Apple", "alternateTitle": "Apple"}});
    sim.devices()
        .interactive_reply(&phone, reply.clone(), true)
        .await
        .unwrap();
    let (_, body) = seen.lock().unwrap()[0].clone();
    let reference = &body["interactiveDataRef"];
    assert!(body.get("interactiveData").is_none());
    let size = reference["size"].as_u64().unwrap();
    let key = AttachmentKey::parse(reference["key"].as_str().unwrap()).unwrap();
    let url = c
        .pre_download(
            BIZ,
            reference["url"].as_str().unwrap(),
            reference["signature"].as_str().unwrap(),
            reference["owner"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let mut plain = Vec::new();
    c.download_decrypted(&url, size, &key, &mut plain)
        .await
        .unwrap();
    let decoded = c
        .decode_payload(BIZ, reference["bid"].as_str().unwrap(), plain)
        .await
        .unwrap();
    assert_eq!(decoded["data"], reply);
}

#[tokio::test]
async fn large_interactive_messages_return_a_data_ref() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let c = client(&sim, Duration::from_secs(5));
    let items: Vec<Value> = (0..200).map(|i| json!({"identifier": i.to_string(), "title": format!("Item number {i} with a long title")})).collect();
    let big = interactive(
        &device,
        "big-1",
        json!({"requestIdentifier": "r", "version": "1.0", "listPicker": {"sections": [{"items": items}]}}),
    );
    let mut h = headers(&device, "big-1");
    h.include_data_ref = true;
    let answer = c
        .send_message(&h, serde_json::to_vec(&big).unwrap())
        .await
        .unwrap()
        .unwrap();
    let data_ref = &answer["dataRef"];
    for key in [
        "bid",
        "owner",
        "url",
        "size",
        "signature",
        "signature-base64",
        "dataRefSig",
    ] {
        assert!(
            data_ref.get(key).is_some(),
            "dataRef.{key} missing: {answer}"
        );
    }
    // Reusing the reference is a valid message.
    let reuse =
        json!({"v": 1, "id": "big-2", "type": "interactive", "interactiveDataRef": data_ref});
    assert_eq!(status_of(send(&c, &device, reuse).await), 200);
    // Small messages get an empty answer.
    assert_eq!(
        c.send_message(
            &h,
            serde_json::to_vec(&text(&device, "big-1", "hi")).unwrap()
        )
        .await
        .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_control_api_drives_devices_faults_and_reads() {
    let sim = simulator().await;
    let seen = msp(&sim).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let device: Value = http
        .post(format!("{base}/control/devices"))
        .json(&json!({"business": BIZ, "kind": "mac"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = device["customer"].as_str().unwrap().to_owned();
    assert_eq!(device["kind"], "mac");
    let sent: Value = http
        .post(format!("{base}/control/devices/{customer}/script"))
        .json(&json!({"steps": [{"text": "hello"}, {"tapback": {"reaction": "Loved", "quoted": "hi"}}, {"close": true}]}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 3);
    assert!(sent.as_array().unwrap().iter().all(|s| s["status"] == 200));
    let kinds: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["typing_start", "text", "text", "close"]);
    assert_eq!(seen.lock().unwrap()[0].0["device-agent"], "Mac OS X");
    let unknown = http
        .post(format!("{base}/control/devices/urn:mbid:nobody/text"))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);

    // A fault through the control API, then what Apple received.
    let c = client(&sim, Duration::from_secs(5));
    let device = Device {
        business: BIZ.into(),
        customer: customer.clone(),
        kind: DeviceKind::Mac,
    };
    let added = http.post(format!("{base}/control/faults"))
        .json(&json!({"scope": {"kind": "customer", "id": customer}, "status": 503, "retry_after_secs": 1, "times": 1}))
        .send().await.unwrap();
    assert_eq!(added.status(), 204);
    let error = send(&c, &device, text(&device, "r1", "reply"))
        .await
        .unwrap_err();
    assert_eq!(
        error.class(),
        ErrorClass::Retryable {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert_eq!(
        status_of(send(&c, &device, text(&device, "r2", "reply")).await),
        200
    );
    let received: Value = http
        .get(format!("{base}/control/received?customer={customer}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r2"]);
    assert_eq!(
        http.delete(format!("{base}/control/faults"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}

#[tokio::test]
async fn faults_can_be_limited_in_time_and_every_attempt_is_logged() {
    let sim = simulator().await;
    let device = sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    let c = client(&sim, Duration::from_secs(5));
    sim.state().add_fault(Fault {
        scope: FaultScope::All,
        status: Some(503),
        retry_after_secs: None,
        latency_ms: 0,
        hang: false,
        times: None,
        duration_ms: Some(300),
    });
    assert_eq!(
        status_of(send(&c, &device, text(&device, "t1", "hi")).await),
        503
    );
    let started = tokio::time::Instant::now();
    loop {
        let status = status_of(send(&c, &device, text(&device, "t2", "hi")).await);
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the fault never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let attempts = sim.state().attempts();
    assert_eq!(attempts.first().unwrap().status, 503);
    assert_eq!(attempts.last().unwrap().status, 200);
    assert_eq!(attempts.last().unwrap().id, "t2");
    assert_eq!(attempts.last().unwrap().customer, device.customer);
}

#[tokio::test]
async fn a_device_posts_the_payment_to_the_gateway_url_as_plain_json() {
    let sim = simulator().await;
    let seen = Arc::new(Mutex::new(None::<(http::HeaderMap, Value)>));
    let app = axum::Router::new().route(
        "/pay",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    *seen.lock().unwrap() = Some((headers, serde_json::from_slice(&body).unwrap()));
                    axum::Json(json!({"status": "STATUS_SUCCESS"}))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let answer = sim
        .devices()
        .pay(&format!("http://{address}/pay"), "req-9")
        .await
        .unwrap();
    assert_eq!(answer["status"], "STATUS_SUCCESS");
    let (headers, body) = seen.lock().unwrap().clone().unwrap();
    assert!(
        headers.get("authorization").is_none(),
        "no token on the payment callback"
    );
    assert!(!parley_apple::body::is_gzip(body.to_string().as_bytes()));
    assert_eq!(body["requestIdentifier"], "req-9");
    assert_eq!(
        body["payment"]["paymentToken"]["paymentMethod"]["network"],
        "Visa"
    );
}
