//! Every kind reaches Apple as Apple expects it, in order, once.

use std::time::Duration;

use bytes::Bytes;
use object_store::{ObjectStoreExt as _, PutPayload, path::Path};
use parley_apple::{
    client::{AppleClient, ClientConfig},
    crypto::AttachmentKey,
    jwt::{Direction, JwtSigner},
};
use parley_apple_sim::DeviceKind;
use parley_proto::v1::{
    ActorKind, AttachmentRef, BlobRef, InteractiveCommon, ListPickerItem, ListPickerRequest,
    ListPickerSection, OutboundText, QuickReplyItem, QuickReplyRequest, RichLink, TypingStart,
    delivery_result::Outcome, outbound_message::Kind,
};

use crate::harness::{BIZ, MSP, SECRET, platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_reaches_apple_in_order_with_the_right_headers() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let typing = p.event(&key, Kind::TypingStart(TypingStart {})).await;
    let mut text = p
        .event(
            &key,
            Kind::Text(OutboundText {
                body: "Hello \u{202b}שלום\u{202c} 👋".into(),
                attachments: vec![],
            }),
        )
        .await;
    text.sender.as_mut().unwrap().kind = ActorKind::Bot as i32;
    let link = p
        .event(
            &key,
            Kind::RichLink(RichLink {
                url: "https://example.com/store".into(),
                title: "Our store".into(),
                ..Default::default()
            }),
        )
        .await;
    let quick = p
        .event(
            &key,
            Kind::QuickReply(QuickReplyRequest {
                common: Some(InteractiveCommon::default()),
                summary_text: "How can we help?".into(),
                items: vec![
                    QuickReplyItem {
                        identifier: "1".into(),
                        title: "Hours".into(),
                    },
                    QuickReplyItem {
                        identifier: "2".into(),
                        title: "Agent".into(),
                    },
                ],
            }),
        )
        .await;
    let list = p
        .event(
            &key,
            Kind::ListPicker(ListPickerRequest {
                common: Some(InteractiveCommon::default()),
                sections: vec![ListPickerSection {
                    title: "Stores".into(),
                    items: vec![ListPickerItem {
                        identifier: "s1".into(),
                        title: "Main St".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            }),
        )
        .await;
    let events = [typing, text, link, quick, list];
    for event in &events {
        p.publish(event).await;
    }
    let received = p
        .received(&device.customer, 5, Duration::from_secs(20))
        .await;
    let types: Vec<&str> = received
        .iter()
        .map(|r| r.body["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "typing_start",
            "text",
            "richLink",
            "interactive",
            "interactive"
        ]
    );
    for (event, received) in events.iter().zip(&received) {
        assert_eq!(received.id, event.apple_message_id);
    }
    assert_eq!(received[1].body["body"], "Hello \u{202b}שלום\u{202c} 👋");
    assert!(received[1].auto_reply, "a bot's message carries auto-reply");
    assert!(!received[2].auto_reply);
    assert_eq!(received[2].msp_agent.as_deref(), Some("Sam"));
    for event in &events {
        let result = p.outcome_of(event, Duration::from_secs(10)).await;
        assert!(
            matches!(result.outcome, Some(Outcome::Sent(_))),
            "{result:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_encrypted_uploaded_and_arrive_byte_identical() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let file: Vec<u8> = (0..2_000_000u32)
        .map(|i| (i.wrapping_mul(7919) >> 3) as u8)
        .collect();
    p.blobs
        .put(
            &Path::from("outbound/menu.pdf"),
            PutPayload::from(Bytes::from(file.clone())),
        )
        .await
        .unwrap();
    let event = p
        .event(
            &key,
            Kind::Text(OutboundText {
                body: "Here is our menu".into(),
                attachments: vec![AttachmentRef {
                    blob: Some(BlobRef {
                        store: "blobs".into(),
                        key: "outbound/menu.pdf".into(),
                        ..Default::default()
                    }),
                    mime_type: "application/pdf".into(),
                    size_bytes: file.len() as u64,
                    name: "menu.pdf".into(),
                }],
            }),
        )
        .await;
    p.publish(&event).await;
    let received = p
        .received(&device.customer, 1, Duration::from_secs(20))
        .await;
    let body = &received[0].body;
    assert_eq!(
        body["body"].as_str().unwrap().matches('\u{fffc}').count(),
        1
    );
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["name"], "menu.pdf");
    assert_eq!(attachment["mimeType"], "application/pdf");
    assert_eq!(attachment["size"], file.len().to_string());
    // Download it as the customer's device would and compare.
    let client = AppleClient::new(
        ClientConfig {
            base_url: p.sim.api_base_url(),
            ..ClientConfig::default()
        },
        std::sync::Arc::new(JwtSigner::new(SECRET, MSP, Direction::Outbound).unwrap()),
    )
    .unwrap();
    let signature = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        attachment["signature-base64"].as_str().unwrap(),
    )
    .unwrap();
    let url = client
        .pre_download(
            BIZ,
            attachment["url"].as_str().unwrap(),
            &hex::encode(signature),
            attachment["owner"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let mut plain = Vec::new();
    let key = AttachmentKey::parse(attachment["key"].as_str().unwrap()).unwrap();
    client
        .download_decrypted(&url, file.len() as u64, &key, &mut plain)
        .await
        .unwrap();
    assert_eq!(plain, file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_is_not_posted_again() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let event = p.text(&key, "only once").await;
    p.received(&device.customer, 1, Duration::from_secs(10))
        .await;
    assert!(matches!(
        p.outcome_of(&event, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    // The same event again, past JetStream's de-duplication (another Nats-Msg-Id), as a
    // redelivery after the window would bring it.
    let meta = event.meta.as_ref().unwrap();
    let partition = parley_types::Partition::new(meta.partition, p.config.partitions).unwrap();
    p.backends
        .bus
        .publish(parley_bus::Outgoing::new(
            p.backends
                .namespace
                .subject(parley_bus::StreamKind::Outbound, partition),
            format!("{}-again", meta.event_id),
            "parley.v1.OutboundMessage",
            prost::Message::encode_to_vec(&event),
        ))
        .await
        .unwrap();
    let later = p.text(&key, "the next one").await;
    p.received(&device.customer, 2, Duration::from_secs(10))
        .await;
    assert!(matches!(
        p.outcome_of(&later, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    let received = p.sim.state().received_by(&device.customer);
    let bodies: Vec<&str> = received
        .iter()
        .map(|r| r.body["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["only once", "the next one"]);
    let attempts = p
        .sim
        .state()
        .attempts()
        .into_iter()
        .filter(|a| a.id == event.apple_message_id)
        .count();
    assert_eq!(attempts, 1, "Apple was asked once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_conversations_each_in_order() {
    let p = platform().await;
    let mut customers = Vec::new();
    for _ in 0..10 {
        customers.push(p.customer(DeviceKind::Iphone).await);
    }
    for n in 0..15 {
        for (_, key) in &customers {
            p.text(key, &format!("{n:02}")).await;
        }
    }
    for (device, _) in &customers {
        let received = p
            .received(&device.customer, 15, Duration::from_secs(30))
            .await;
        let bodies: Vec<String> = received
            .iter()
            .map(|r| r.body["body"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (0..15).map(|n| format!("{n:02}")).collect();
        assert_eq!(bodies, expected, "{}", device.customer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_business_is_held_to_its_rate() {
    let p = crate::harness::platform_with(|c| {
        c.outbound.rate_per_business = 5.0;
        c.outbound.burst_per_business = 5;
    })
    .await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    for n in 0..15 {
        p.text(&key, &format!("{n:02}")).await;
    }
    let received = p
        .received(&device.customer, 15, Duration::from_secs(30))
        .await;
    // A burst of 5, then 5 per second: the 15th cannot arrive before 2 s after the first.
    let span = received[14].received_at_ms - received[0].received_at_ms;
    assert!(
        span >= 1_800,
        "15 messages within {span} ms at 5/s with a burst of 5"
    );
    let bodies: Vec<&str> = received
        .iter()
        .map(|r| r.body["body"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..15).map(|n| format!("{n:02}")).collect();
    assert_eq!(
        bodies,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_apple_message_id_is_derived_from_the_event_id() {
    let p = platform().await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    let mut event = p
        .event(
            &key,
            Kind::Text(OutboundText {
                body: "a routing notice".into(),
                attachments: Vec::new(),
            }),
        )
        .await;
    event.apple_message_id.clear();
    p.publish(&event).await;
    let result = p.outcome_of(&event, Duration::from_secs(10)).await;
    assert!(
        matches!(result.outcome, Some(Outcome::Sent(_))),
        "{result:?}"
    );
    let want = parley_types::EventId::new(event.meta.as_ref().unwrap().event_id.clone())
        .unwrap()
        .apple_message_id();
    assert_eq!(
        result.apple_message_id, want,
        "the result names the id sent"
    );
    let received = p
        .received(&device.customer, 1, Duration::from_secs(10))
        .await;
    assert_eq!(received[0].id, want);
    assert_eq!(received[0].body["id"].as_str(), Some(want.as_str()));
}
