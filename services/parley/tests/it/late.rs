//! A late arrival through the whole platform over NATS and Redis (issue 12's first loss):
//! the inbound stream refuses the publish of a customer's message N (full, discard new), so
//! ingest answers Apple 503; the customer's next message N+1 is accepted and, once routing's
//! gap timeout passes, answered; then Apple's retry of N (same id, same body) arrives: it is
//! accepted, routed and answered (before issue 12 it got 200 and was never answered), and the
//! reorder is told on `amb.events.ordering`.

use std::time::Duration;

use parley::{demo_business, up::BackendKind};
use parley_apple_sim::{DeviceKind, Received};
use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_proto::v1::{OrderingKind, OrderingNotice};
use parley_testkit::{NatsServer, RedisServer};
use prost::Message as _;
use serde_json::json;

use crate::support::{bound_stream, platform, server_env};

/// Whether Apple accepted a text for `customer` containing `words`.
fn told(all: &[Received], customer: &str, words: &str) -> bool {
    all.iter().any(|r| {
        r.customer == customer
            && r.body
                .get("body")
                .and_then(|b| b.as_str())
                .is_some_and(|b| b.contains(words))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_apple_retries_after_its_gap_was_skipped_is_answered() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    // The shortest gap timeout routing accepts (2 x its 10 s ack wait + the lease).
    let gap = Duration::from_secs(21);
    let env = server_env(
        &nats,
        &redis,
        &[
            ("PARLEY_ROUTING__GAP_TIMEOUT", "21s"),
            ("PARLEY_ROUTING__CLAIM_LEASE", "1s"),
        ],
    );
    let platform = platform(BackendKind::Server, BackendKind::Server, env).await;
    let ns = platform.backends.namespace.clone();
    let ordering = ConsumerSpec::new(&ns, StreamKind::Events, "test-ordering")
        .with_filter(ns.event_filter("ordering"));
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(ordering.clone()))
        .await
        .unwrap();
    let ordering = platform.backends.bus.subscribe(&ordering).await.unwrap();
    let sim = platform.sim.as_ref().unwrap();
    let device = sim
        .devices()
        .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    let customer = device.customer.clone();
    let answered = async |words: &str, within: Duration| {
        sim.state()
            .wait_for(within, |all| told(all, &customer, words))
            .await
            .is_some()
    };
    // Each question has its own answer in the demo's knowledge.
    let (hours, returns, menu) = (
        "opening hours",
        "return any unopened item",
        "We serve coffee",
    );

    // 1: answered as usual.
    let first = sim
        .devices()
        .text_only(&device, "what are your opening hours?")
        .await
        .unwrap();
    assert_eq!(first.status, 200);
    assert!(
        answered(hours, Duration::from_secs(20)).await,
        "the first message is answered"
    );

    // 2: the stream is full and refuses it; Apple is answered 503 (and will retry).
    let inbound = ns.stream_name(StreamKind::Inbound);
    bound_stream(&nats.url(), &inbound, None).await;
    let id = parley_types::EventId::fresh().to_string();
    let body = json!({
        "v": 1,
        "id": id,
        "type": "text",
        "sourceId": device.customer,
        "destinationId": device.business,
        "body": "what is your return policy?",
        "locale": "en_US",
    });
    let refused = sim.devices().send_raw(&device, &id, &body).await.unwrap();
    assert_eq!(refused.status, 503, "the full stream's refusal is a 503");
    bound_stream(&nats.url(), &inbound, Some(-1)).await;

    // 3: accepted; routing waits for 2, gives up after the gap timeout, and 3 is answered.
    let waiting = tokio::time::Instant::now();
    let third = sim
        .devices()
        .text_only(&device, "what is on your menu?")
        .await
        .unwrap();
    assert_eq!(third.status, 200);
    assert!(
        answered(menu, gap + Duration::from_secs(30)).await,
        "the message after the gap is answered once the gap is given up on"
    );
    assert!(
        waiting.elapsed() >= gap - Duration::from_secs(1),
        "3 went before the gap timeout: 2 was not missing"
    );
    assert!(!told(&sim.state().received(), &customer, returns));

    // Apple's retry of 2, past the gap timeout: accepted, and answered.
    let retried = sim.devices().send_raw(&device, &id, &body).await.unwrap();
    assert_eq!(retried.status, 200);
    assert!(
        answered(returns, Duration::from_secs(30)).await,
        "Apple's late retry is answered, not dropped as already passed"
    );

    // The skip and the late apply are told.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut told = Vec::new();
    while told.len() < 2 && tokio::time::Instant::now() < deadline {
        for delivery in ordering.fetch(8, Duration::from_millis(300)).await.unwrap() {
            let notice = OrderingNotice::decode(delivery.payload.as_ref()).unwrap();
            delivery.ack().await.unwrap();
            if notice.stage == "routing" {
                told.push((notice.sequence, notice.kind()));
            }
        }
    }
    assert_eq!(
        told,
        [(2, OrderingKind::Skipped), (2, OrderingKind::AppliedLate)]
    );
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
