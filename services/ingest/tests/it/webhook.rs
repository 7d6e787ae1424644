//! Status codes, attacks, replay, attachments, tapbacks and references.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use parley_apple::{
    body::gzip,
    jwt::{Direction, JwtSigner},
};
use parley_apple_sim::DeviceKind;
use parley_proto::v1::{ReactionType, inbound_attachment::Outcome, inbound_message::Kind};
use serde_json::{Value, json};

use crate::harness::{BIZ, MSP, Platform, SECRET, platform, platform_with};

const CUSTOMER: &str = "urn:mbid:AQAAYtestcustomer0001";

struct Req {
    auth: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    encoding: Option<&'static str>,
}

fn text_json(id: &str, body: &str) -> Value {
    json!({"v": 1, "id": id, "type": "text", "sourceId": CUSTOMER, "destinationId": BIZ,
           "body": body, "locale": "en_US"})
}

fn valid(p: &Platform, id: &str, json: &Value) -> Req {
    Req {
        auth: Some(p.inbound_token()),
        headers: vec![
            ("id", id.to_owned()),
            ("source-id", CUSTOMER.to_owned()),
            ("destination-id", BIZ.to_owned()),
            ("device-agent", "iPhone OS".to_owned()),
            ("capability-list", "QUICK,LIST,TIME".to_owned()),
        ],
        body: gzip(&serde_json::to_vec(json).unwrap()),
        encoding: Some("gzip"),
    }
}

async fn post(p: &Platform, req: Req) -> (u16, String) {
    let mut builder = reqwest::Client::new().post(&p.webhook);
    if let Some(auth) = req.auth {
        builder = builder.header("authorization", auth);
    }
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    if let Some(encoding) = req.encoding {
        builder = builder.header("content-encoding", encoding);
    }
    let response = builder.body(req.body).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token with a forged header over valid claims and signature bytes.
fn forged(header: &str) -> String {
    let valid = JwtSigner::new(SECRET, MSP, Direction::Inbound)
        .unwrap()
        .sign_at(now_secs())
        .unwrap();
    let parts: Vec<&str> = valid.split('.').collect();
    format!("Bearer {}.{}.{}", b64(header), parts[1], parts[2])
}

fn signed(secret: &str, msp: &str, direction: Direction, iat: u64) -> String {
    format!(
        "Bearer {}",
        JwtSigner::new(secret, msp, direction)
            .unwrap()
            .sign_at(iat)
            .unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_and_nothing_published_for_bad_input() {
    let p = platform().await;
    let with = |f: &dyn Fn(&mut Req)| {
        let mut r = valid(&p, "m-x", &text_json("m-x", "hi"));
        f(&mut r);
        r
    };
    let header = |name: &'static str, value: &str| {
        let value = value.to_owned();
        move |r: &mut Req| {
            r.headers.retain(|(n, _)| *n != name);
            if !value.is_empty() {
                r.headers.push((name, value.clone()));
            }
        }
    };
    let body = |json: Value| move |r: &mut Req| r.body = gzip(&serde_json::to_vec(&json).unwrap());
    let mut bomb_encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut bomb_encoder, &vec![b' '; 8 << 20]).unwrap();
    let bomb = bomb_encoder.finish().unwrap();
    assert!(
        bomb.len() < 64 * 1024,
        "the bomb fits the encoded limit: {}",
        bomb.len()
    );
    let zipped = gzip(&serde_json::to_vec(&text_json("m-x", "hi")).unwrap());
    let cases: Vec<(&str, Req, u16)> = vec![
        ("no token", with(&|r| r.auth = None), 401),
        (
            "empty authorization",
            with(&|r| r.auth = Some(String::new())),
            401,
        ),
        (
            "not bearer",
            with(&|r| r.auth = Some("Basic abc".into())),
            403,
        ),
        (
            "alg none",
            with(&|r| {
                r.auth = Some(format!(
                    "Bearer {}.{}.",
                    b64(r#"{"alg":"none"}"#),
                    b64(&format!(r#"{{"aud":"{MSP}","iat":{}}}"#, now_secs()))
                ))
            }),
            403,
        ),
        (
            "alg None",
            with(&|r| r.auth = Some(forged(r#"{"alg":"None"}"#))),
            403,
        ),
        (
            "HS512",
            with(&|r| r.auth = Some(forged(r#"{"alg":"HS512","typ":"JWT"}"#))),
            403,
        ),
        (
            "RS256",
            with(&|r| r.auth = Some(forged(r#"{"alg":"RS256","typ":"JWT"}"#))),
            403,
        ),
        (
            "wrong key",
            with(&|r| r.auth = Some(signed("b3RoZXIta2V5", MSP, Direction::Inbound, now_secs()))),
            403,
        ),
        (
            "wrong aud",
            with(&|r| r.auth = Some(signed(SECRET, "other-msp", Direction::Inbound, now_secs()))),
            403,
        ),
        (
            "iss instead of aud",
            with(&|r| r.auth = Some(signed(SECRET, MSP, Direction::Outbound, now_secs()))),
            403,
        ),
        (
            "stale iat",
            with(&|r| {
                r.auth = Some(signed(
                    SECRET,
                    MSP,
                    Direction::Inbound,
                    now_secs() - 3600 - 360,
                ))
            }),
            403,
        ),
        (
            "future iat",
            with(&|r| r.auth = Some(signed(SECRET, MSP, Direction::Inbound, now_secs() + 360))),
            403,
        ),
        (
            "malformed base64",
            with(&|r| r.auth = Some("Bearer !!!.###.$$$".into())),
            403,
        ),
        (
            "64 KB token",
            with(&|r| r.auth = Some(format!("Bearer {}", "a".repeat(64 * 1024)))),
            403,
        ),
        ("missing id", with(&header("id", "")), 400),
        ("missing source-id", with(&header("source-id", "")), 400),
        (
            "missing destination-id",
            with(&header("destination-id", "")),
            400,
        ),
        (
            "opaque id breaks a hash tag",
            with(&header("source-id", "urn:mbid:{evil}")),
            400,
        ),
        (
            "opaque id with a space",
            with(&header("source-id", "urn:mbid:a b")),
            400,
        ),
        ("not json", with(&|r| r.body = gzip(b"{not json")), 400),
        (
            "v is 2",
            with(&body(
                json!({"v": 2, "id": "m-x", "type": "text", "body": "hi"}),
            )),
            400,
        ),
        (
            "unknown type",
            with(&body(json!({"v": 1, "id": "m-x", "type": "sticker"}))),
            400,
        ),
        (
            "no type",
            with(&body(json!({"v": 1, "id": "m-x", "body": "hi"}))),
            400,
        ),
        (
            "rich link from a customer",
            with(&body(
                json!({"v": 1, "id": "m-x", "type": "richLink", "richLinkData": {"url": "https://a", "title": "t"}}),
            )),
            400,
        ),
        (
            "truncated gzip",
            with(&|r| r.body = zipped[..zipped.len() - 8].to_vec()),
            400,
        ),
        (
            "corrupt gzip",
            with(&|r| {
                r.body = zipped.clone();
                r.body.extend_from_slice(b"garbage");
            }),
            400,
        ),
        (
            "unknown content encoding",
            with(&|r| {
                r.body = serde_json::to_vec(&text_json("m-x", "hi")).unwrap();
                r.encoding = Some("br");
            }),
            400,
        ),
        ("empty body", with(&|r| r.body = Vec::new()), 400),
        (
            "unknown business",
            with(&header("destination-id", "biz-unknown")),
            404,
        ),
        (
            "past the encoded limit",
            with(&|r| r.body = vec![b'{'; 64 * 1024 + 1]),
            413,
        ),
        ("gzip bomb", with(&|r| r.body = bomb.clone()), 413),
    ];
    let count = cases.len();
    for (what, req, expected) in cases {
        let (status, reason) = post(&p, req).await;
        assert_eq!(status, expected, "{what}: {reason}");
        assert!(!reason.trim().is_empty(), "{what}: no reason given");
        assert!(
            !reason.contains('\n') || reason.trim_end().lines().count() == 1,
            "{what}: one line: {reason:?}"
        );
    }
    assert!(count >= 30);
    p.no_more_events(Duration::from_millis(800)).await;
    // A valid request still works, plain or gzip, with or without the header.
    let (status, _) = post(&p, valid(&p, "ok-1", &text_json("ok-1", "hello"))).await;
    assert_eq!(status, 200);
    let mut plain = valid(&p, "ok-2", &text_json("ok-2", "hello"));
    plain.body = serde_json::to_vec(&text_json("ok-2", "hello")).unwrap();
    plain.encoding = None;
    assert_eq!(post(&p, plain).await.0, 200);
    let mut unlabeled = valid(&p, "ok-3", &text_json("ok-3", "hello"));
    unlabeled.encoding = None;
    assert_eq!(post(&p, unlabeled).await.0, 200);
    let events = p.events(3, Duration::from_secs(10)).await;
    let ids: Vec<&str> = events.iter().map(|e| e.apple_message_id.as_str()).collect();
    assert_eq!(ids, ["ok-1", "ok-2", "ok-3"]);
    let sequences: Vec<u64> = events
        .iter()
        .map(|e| e.meta.as_ref().unwrap().sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
    p.no_more_events(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_gets_200_and_one_event() {
    let p = platform().await;
    let json = text_json("replay-1", "once only");
    for _ in 0..100 {
        let (status, body) = post(&p, valid(&p, "replay-1", &json)).await;
        assert_eq!(status, 200, "{body}");
    }
    let events = p.events(2, Duration::from_secs(3)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    let meta = event.meta.as_ref().unwrap();
    assert_eq!(meta.sequence, 1);
    assert_eq!(meta.producer, "ingest");
    assert_eq!(event.apple_message_id, "replay-1");
    assert_eq!(event.locale.as_ref().unwrap().language_tag, "en-US");
    match event.kind.as_ref().unwrap() {
        Kind::Text(text) => assert_eq!(text.body, "once only"),
        other => panic!("{other:?}"),
    }
    // The next message gets the next sequence: the replays burnt none.
    assert_eq!(
        post(&p, valid(&p, "replay-2", &text_json("replay-2", "next")))
            .await
            .0,
        200
    );
    let next = p.events(1, Duration::from_secs(5)).await;
    assert_eq!(next[0].meta.as_ref().unwrap().sequence, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_attachments_tapbacks_and_references_become_typed_events() {
    let p = platform().await;
    let phone = p.sim.devices().new_device(BIZ, DeviceKind::Iphone).unwrap();
    assert_eq!(
        p.sim
            .devices()
            .text(&phone, "مرحبا 👋 hello")
            .await
            .unwrap()
            .status,
        200
    );
    let picture: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(
        p.sim
            .devices()
            .attachment(&phone, "photo.jpg", "image/jpeg", &picture, "look")
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        p.sim
            .devices()
            .tapback(&phone, "Loved", "hello")
            .await
            .unwrap()
            .status,
        200
    );
    let reply = json!({"requestIdentifier": "r-1", "version": "1.0",
        "listPicker": {"sections": [{"title": "Stores", "items": [{"identifier": "s1", "title": "Main St", "selected": true}]}]},
        "replyMessage": {"title": "Main St"}});
    assert_eq!(
        p.sim
            .devices()
            .interactive_reply(&phone, reply, true)
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(p.sim.devices().close(&phone).await.unwrap().status, 200);
    let events = p.events(6, Duration::from_secs(20)).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e.kind.as_ref().unwrap() {
            Kind::TypingStart(_) => "typing_start",
            Kind::Text(_) => "text",
            Kind::Reaction(_) => "reaction",
            Kind::InteractiveReply(_) => "interactive",
            Kind::Close(_) => "close",
            Kind::TypingEnd(_) => "typing_end",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "typing_start",
            "text",
            "text",
            "reaction",
            "interactive",
            "close"
        ]
    );
    // Sequences follow the order Apple sent them.
    let sequences: Vec<u64> = events
        .iter()
        .map(|e| e.meta.as_ref().unwrap().sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 6]);
    for event in &events {
        assert_eq!(
            event.capabilities.as_ref().unwrap().capabilities.len(),
            6,
            "iPhone capabilities carried"
        );
        assert_eq!(
            event
                .meta
                .as_ref()
                .unwrap()
                .conversation
                .as_ref()
                .unwrap()
                .opaque_id,
            phone.customer
        );
    }
    let Kind::Text(text) = events[1].kind.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(
        text.body, "مرحبا 👋 hello",
        "right-to-left text and emoji pass through untouched"
    );
    // The attachment was downloaded, decrypted and stored byte-identical.
    let Kind::Text(with_file) = events[2].kind.as_ref().unwrap() else {
        panic!()
    };
    let Some(Outcome::Stored(stored)) = with_file.attachments[0].outcome.as_ref() else {
        panic!("{:?}", with_file.attachments)
    };
    assert_eq!(stored.name, "photo.jpg");
    assert_eq!(stored.size_bytes, picture.len() as u64);
    let blob = stored.blob.as_ref().unwrap();
    let on_disk = std::fs::read(p.blobs.path().join(&blob.key)).unwrap();
    assert_eq!(on_disk, picture);
    assert!(
        !blob.key.contains(&phone.customer),
        "blob keys do not hold the opaque id"
    );
    let Kind::Reaction(reaction) = events[3].kind.as_ref().unwrap() else {
        panic!()
    };
    assert_eq!(reaction.r#type, ReactionType::Love as i32);
    assert_eq!(reaction.target_excerpt, "hello");
    let Kind::InteractiveReply(interactive) = events[4].kind.as_ref().unwrap() else {
        panic!()
    };
    assert!(interactive.from_data_ref);
    assert_eq!(interactive.request_identifier, "r-1");
    match interactive.reply.as_ref().unwrap() {
        parley_proto::v1::interactive_reply::Reply::ListPicker(picker) => {
            assert_eq!(picker.sections[0].items[0].title, "Main St");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_is_reported_and_the_text_kept() {
    let p = platform().await;
    // An attachment that was never uploaded: preDownload answers 404.
    let attachment = json!({"name": "ghost.png", "mimeType": "image/png", "size": "10",
        "key": format!("00{}", "ab".repeat(32)), "url": "http://127.0.0.1:1/mmcs/none",
        "owner": "nobody", "signature": "00ff"});
    let json = json!({"v": 1, "id": "f-1", "type": "text", "body": "\u{fffc}see this", "attachments": [attachment]});
    assert_eq!(post(&p, valid(&p, "f-1", &json)).await.0, 200);
    let events = p.events(1, Duration::from_secs(15)).await;
    let Kind::Text(text) = events[0].kind.as_ref().unwrap() else {
        panic!()
    };
    assert!(
        text.body.contains("see this"),
        "the text part is kept: {:?}",
        text.body
    );
    match text.attachments[0].outcome.as_ref().unwrap() {
        Outcome::Failed(failure) => {
            assert_eq!(failure.name, "ghost.png");
            assert_ne!(failure.reason, 0);
            assert!(!failure.detail.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_nats_down_means_503_never_200_then_recovery() {
    let mut p = platform().await;
    p.nats.kill().unwrap();
    let (status, reason) = post(
        &p,
        valid(&p, "down-1", &text_json("down-1", "are you there")),
    )
    .await;
    assert_eq!(status, 503, "{reason}");
    p.nats.restart().unwrap();
    // Apple retries the same message: it is accepted once NATS is back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = post(
            &p,
            valid(&p, "down-1", &text_json("down-1", "are you there")),
        )
        .await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = p.events(2, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].meta.as_ref().unwrap().sequence,
        1,
        "the retry reused its sequence"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_the_jetstream_window_is_still_one_event() {
    let p = platform_with(|config| config.nats.duplicate_window = Duration::from_secs(1)).await;
    let json = text_json("late-1", "hello");
    assert_eq!(post(&p, valid(&p, "late-1", &json)).await.0, 200);
    assert_eq!(p.events(1, Duration::from_secs(5)).await.len(), 1);
    // Let JetStream's window pass (this waits for time itself, nothing to synchronise on).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(post(&p, valid(&p, "late-1", &json)).await.0, 200);
    p.no_more_events(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_records_what_the_outbound_gate_needs() {
    use parley_state::facts;
    let p = platform().await;
    let watch = p.sim.devices().new_device(BIZ, DeviceKind::Watch).unwrap();
    let key = parley_types::ConversationKey::parse(BIZ, &watch.customer).unwrap();
    let fields = |names: &'static [&'static str]| {
        let store = p.backends.store.clone();
        let key = key.clone();
        async move { store.get_fields(&key, names).await.unwrap() }
    };
    let names: &[&str] = &[
        facts::CUSTOMER_CLOSED_AT,
        facts::CUSTOMER_ACTIVE_AT,
        facts::DEVICE_CAPABILITIES,
        facts::DEVICE_AGENT,
    ];
    p.sim.devices().text(&watch, "hi").await.unwrap();
    let after_text = fields(names).await;
    assert_eq!(after_text[0], None);
    assert_eq!(
        after_text[1].as_deref(),
        Some("2"),
        "typing_start (1) does not count, the text (2) does"
    );
    assert_eq!(after_text[2].as_deref(), Some("QUICK"));
    assert_eq!(after_text[3].as_deref(), Some("Watch OS"));
    p.sim.devices().close(&watch).await.unwrap();
    let after_close = fields(names).await;
    assert_eq!(after_close[0].as_deref(), Some("3"));
    assert_eq!(
        after_close[1].as_deref(),
        Some("2"),
        "closed: the close is the newer mark"
    );
    p.sim.devices().text(&watch, "back again").await.unwrap();
    let reopened = fields(names).await;
    assert_eq!(
        reopened[1].as_deref(),
        Some("5"),
        "the next message reopens"
    );
    assert_eq!(p.events(5, Duration::from_secs(10)).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intent_group_locale_capabilities_and_device_are_carried() {
    let p = platform().await;
    let json = json!({"v": 1, "id": "ctx-1", "type": "text", "body": "hello", "locale": "ar_SA",
                      "intent": "order_status", "group": "support_en"});
    let mut req = valid(&p, "ctx-1", &json);
    req.headers.retain(|(n, _)| *n != "capability-list");
    req.headers
        .push(("capability-list", "quick%2Clist%2CAUTH2".to_owned()));
    assert_eq!(post(&p, req).await.0, 200);
    let event = p.events(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(event.intent, "order_status");
    assert_eq!(event.group, "support_en");
    assert_eq!(event.locale.as_ref().unwrap().language_tag, "ar-SA");
    assert_eq!(event.device_agent.as_ref().unwrap().raw, "iPhone OS");
    let capabilities = &event.capabilities.as_ref().unwrap().capabilities;
    assert_eq!(capabilities.len(), 3, "{capabilities:?}");
    let meta = event.meta.as_ref().unwrap();
    assert!(meta.partition < p.config.partitions.get());
    assert!(meta.event_id.starts_with("in-"));
}
