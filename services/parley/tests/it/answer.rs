//! The bot's answer through the whole platform over NATS + Redis is one outbound event:
//! Apple gets the typing indicator, the greeting, the answer and the typing end in that
//! order, and the transcript one entry per visible message
//! (docs/adr/0004-one-outbound-event-per-answer.md).

use std::time::Duration;

use parley::{demo_business, up::BackendKind};
use parley_apple_sim::DeviceKind;
use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_proto::v1::{
    ActorKind, DeliveryResult, OutboundMessage, TranscriptEntry, delivery_result,
    outbound_message::Kind,
};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::ConversationKey;
use prost::Message as _;

use crate::support::{platform, server_env};

const WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_answer_is_one_outbound_event_and_apple_gets_typing_greeting_answer_typing_end() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let env = server_env(&nats, &redis, &[]);
    let platform = platform(BackendKind::Server, BackendKind::Server, env).await;
    // A reader of the outbound stream next to outbound's own consumer (limits retention).
    let ns = platform.backends.namespace.clone();
    let spec = ConsumerSpec::new(&ns, StreamKind::Outbound, "test-outbound-reader");
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .unwrap();
    let reader = platform.backends.bus.subscribe(&spec).await.unwrap();
    let results_spec = ConsumerSpec::new(&ns, StreamKind::Events, "test-delivery-reader")
        .with_filter(ns.event_filter("delivery"));
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(results_spec.clone()))
        .await
        .unwrap();
    let results = platform
        .backends
        .bus
        .subscribe(&results_spec)
        .await
        .unwrap();
    let sim = platform.sim.as_ref().unwrap();
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let sent = sim
        .devices()
        .text(&device, "what are your opening hours?")
        .await
        .unwrap();
    assert_eq!(sent.status, 200);

    // Apple gets the four parts, in order.
    let customer = device.customer.clone();
    let received = sim
        .state()
        .wait_for(WITHIN, |all| {
            all.iter()
                .filter(|r| r.customer == customer)
                .any(|r| r.body["type"] == "typing_end")
        })
        .await
        .expect("the answer reached Apple");
    let shown: Vec<(String, String)> = received
        .iter()
        .filter(|r| r.customer == customer)
        .map(|r| {
            (
                r.body["type"].as_str().unwrap_or("?").to_owned(),
                r.body["body"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let types: Vec<&str> = shown.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["typing_start", "text", "text", "typing_end"],
        "{shown:?}"
    );
    assert_eq!(
        shown[1].1, "Hi! I'm the Acme Coffee assistant.",
        "the greeting first"
    );
    assert!(!shown[2].1.is_empty(), "the answer");

    // ... from one event on the outbound stream (bounded wait for any other).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut events = Vec::new();
    while tokio::time::Instant::now() < deadline {
        for delivery in reader.fetch(16, Duration::from_millis(300)).await.unwrap() {
            delivery.ack().await.unwrap();
            events.push(OutboundMessage::decode(delivery.payload.as_ref()).unwrap());
        }
    }
    let mine: Vec<&OutboundMessage> = events
        .iter()
        .filter(|e| {
            e.meta
                .as_ref()
                .and_then(|m| m.conversation.as_ref())
                .is_some_and(|c| c.opaque_id == customer)
        })
        .collect();
    assert_eq!(mine.len(), 1, "one outbound event per answer");
    let event = mine[0];
    assert!(matches!(event.kind, Some(Kind::TypingStart(_))));
    assert_eq!(event.more.len(), 3);

    // One delivery result per visible message (the greeting and the answer, none for the
    // typing indicators); outbound writes the transcript before it publishes them.
    let event_id = event.meta.as_ref().unwrap().event_id.clone();
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut reported = Vec::new();
    while reported.len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} delivery results",
            reported.len()
        );
        for delivery in results.fetch(16, Duration::from_millis(300)).await.unwrap() {
            delivery.ack().await.unwrap();
            let result = DeliveryResult::decode(delivery.payload.as_ref()).unwrap();
            if result.outbound_event_id == event_id {
                reported.push(result);
            }
        }
    }
    assert!(
        reported
            .iter()
            .all(|r| matches!(r.outcome, Some(delivery_result::Outcome::Sent(_)))),
        "{reported:?}"
    );
    let parts = parley_wire::parts::expand(event);
    let mut ids: Vec<&str> = reported
        .iter()
        .map(|r| r.apple_message_id.as_str())
        .collect();
    ids.sort_unstable();
    let mut visible = vec![
        parts[1].apple_message_id.as_str(),
        parts[2].apple_message_id.as_str(),
    ];
    visible.sort_unstable();
    assert_eq!(ids, visible);

    // One transcript entry per visible message: the customer's, the greeting, the answer.
    let key = ConversationKey::parse(demo_business::BUSINESS_ID, &customer).unwrap();
    let entries: Vec<TranscriptEntry> = platform
        .backends
        .store
        .transcript(&key, 100)
        .await
        .unwrap()
        .iter()
        .map(|b| TranscriptEntry::decode(b.as_ref()).unwrap())
        .collect();
    let texts: Vec<(i32, &str)> = entries
        .iter()
        .map(|e| (e.author.as_ref().map_or(0, |a| a.kind), e.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (ActorKind::Customer as i32, "what are your opening hours?"),
            (ActorKind::Bot as i32, "Hi! I'm the Acme Coffee assistant."),
            (ActorKind::Bot as i32, shown[2].1.as_str()),
        ]
    );
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
