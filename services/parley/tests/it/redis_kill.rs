//! redis-server killed -9 twice (append-only file on, synced on every write) during an
//! end-to-end run of customer messages through the whole platform over NATS + Redis: the
//! webhook, routing, the built-in bot and outbound, to the Apple simulator (issue 12).
//!
//! Apple retries every message it did not get a 200 for (same id, same body), as Apple
//! does. Afterwards: every accepted message is answered exactly once (nothing acknowledged
//! and lost), nothing reached Apple twice, each conversation's answers came in the order of
//! its questions, and a conversation the customer closed before the first kill is still
//! refused a reply after the restarts (its facts survived in the append-only file).

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use parley::{demo_business::BUSINESS_ID, up::BackendKind};
use parley_apple_sim::{Device, DeviceKind, DeviceSender, Received};
use parley_bus::{ConsumerSpec, Outgoing, StreamKind, Topology};
use parley_proto::{
    Event as _,
    v1::{
        Actor, ActorKind, DeliveryResult, EventMeta, OutboundMessage, OutboundText, RefusalReason,
        delivery_result, outbound_message,
    },
};
use parley_state::facts;
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{ConversationKey, EventId};
use prost::Message as _;
use serde_json::json;

use crate::support::{platform, server_env};

const CONVERSATIONS: usize = 200;
const PER_CONVERSATION: usize = 50;

/// The three questions, each with a words its answer (and no other) holds.
const QUESTIONS: [(&str, &str); 3] = [
    ("what are your opening hours?", "opening hours"),
    ("what is your return policy?", "return any unopened item"),
    ("what is on your menu?", "We serve coffee"),
];

/// Which question conversation `c` asks `n`-th: a fixed mix, so a reordering of two
/// different questions shows in the answers.
fn question(c: usize, n: usize) -> usize {
    (c * 31 + n * 7 + n * n) % QUESTIONS.len()
}

/// Which question an answer Apple received answers, if it is one.
fn answers(received: &Received) -> Option<usize> {
    let body = received.body.get("body")?.as_str()?;
    QUESTIONS
        .iter()
        .position(|(_, marker)| body.contains(marker))
}

/// Sends one customer message as Apple does: again (same id, same body) until it gets a 200.
async fn deliver(sender: &DeviceSender, device: &Device, id: &str, text: &str) {
    let body = json!({"v": 1, "id": id, "type": "text", "sourceId": device.customer,
                      "destinationId": device.business, "body": text, "locale": "en_US"});
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match sender.send_raw(device, id, &body).await {
            Ok(sent) if sent.status == 200 => return,
            Ok(sent) => assert!(
                sent.status == 503,
                "{id}: unexpected status {}",
                sent.status
            ),
            Err(error) => tracing::debug!(%error, "webhook delivery failed; retrying"),
        }
        assert!(Instant::now() < deadline, "{id} never accepted");
        // Apple's retry interval, shortened.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_kill_redis_twice_during_10000_messages_loses_duplicates_and_reorders_nothing() {
    let nats = NatsServer::start().unwrap();
    let mut redis = RedisServer::start_durable().unwrap();
    let env = server_env(
        &nats,
        &redis,
        &[
            ("PARLEY_OUTBOUND__RATE_PER_BUSINESS", "100000"),
            ("PARLEY_OUTBOUND__BURST_PER_BUSINESS", "100000"),
            ("PARLEY_TELEMETRY__LOG_FILTER", "warn"),
        ],
    );
    let platform = platform(BackendKind::Server, BackendKind::Server, env).await;
    let ns = platform.backends.namespace.clone();
    let deliveries = ConsumerSpec::new(&ns, StreamKind::Events, "test-deliveries")
        .with_filter(ns.event_filter("delivery"));
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(deliveries.clone()))
        .await
        .unwrap();
    let sim = platform.sim.as_ref().unwrap();

    // A customer who asks, is answered, and closes the conversation before the kills.
    let closed = sim
        .devices()
        .new_device(BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    deliver(sim.devices(), &closed, "closed-m00", QUESTIONS[0].0).await;
    sim.state()
        .wait_for(Duration::from_secs(30), |all| {
            all.iter()
                .any(|r| r.customer == closed.customer && answers(r) == Some(0))
        })
        .await
        .expect("the customer who closes is answered first");
    assert_eq!(sim.devices().close(&closed).await.unwrap().status, 200);
    let before_close = sim
        .state()
        .received()
        .iter()
        .filter(|r| r.customer == closed.customer)
        .count();

    // 200 customers, 50 messages each, 16 at a time; redis-server killed twice meanwhile.
    let devices: Vec<Device> = (0..CONVERSATIONS)
        .map(|_| {
            sim.devices()
                .new_device(BUSINESS_ID, DeviceKind::Iphone)
                .unwrap()
        })
        .collect();
    let accepted = Arc::new(AtomicUsize::new(0));
    let total = CONVERSATIONS * PER_CONVERSATION;
    let started = Instant::now();
    let senders = {
        let sender = sim.devices().clone();
        let accepted = accepted.clone();
        let devices = devices.clone();
        tokio::spawn(async move {
            use futures::StreamExt as _;
            futures::stream::iter(devices.into_iter().enumerate())
                .for_each_concurrent(16, |(c, device)| {
                    let sender = sender.clone();
                    let accepted = accepted.clone();
                    async move {
                        for n in 0..PER_CONVERSATION {
                            let id = format!("c{c:03}-m{n:02}");
                            deliver(&sender, &device, &id, QUESTIONS[question(c, n)].0).await;
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
                .await;
        })
    };
    let reach = |target: usize| {
        let accepted = accepted.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(600);
            while accepted.load(Ordering::SeqCst) < target {
                assert!(
                    Instant::now() < deadline,
                    "sending stalled at {}",
                    accepted.load(Ordering::SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    for fraction in [0.25, 0.6] {
        reach((total as f64 * fraction) as usize).await;
        redis.kill().unwrap();
        // An outage of a second (the fault's length, not a wait for anything).
        tokio::time::sleep(Duration::from_secs(1)).await;
        tokio::task::block_in_place(|| redis.restart()).unwrap();
    }
    tokio::time::timeout(Duration::from_secs(900), senders)
        .await
        .expect("every message accepted")
        .unwrap();
    let send_time = started.elapsed();

    // Every accepted message is answered (bounded drain).
    let customers: HashMap<&str, usize> = devices
        .iter()
        .enumerate()
        .map(|(c, d)| (d.customer.as_str(), c))
        .collect();
    let drained = sim
        .state()
        .wait_for(Duration::from_secs(300), |all| {
            let mut answered = vec![0_usize; CONVERSATIONS];
            for r in all {
                if let Some(&c) = customers.get(r.customer.as_str())
                    && answers(r).is_some()
                {
                    answered[c] += 1;
                }
            }
            answered.iter().all(|n| *n >= PER_CONVERSATION)
        })
        .await;
    let received = sim.state().received();
    let answered: usize = received
        .iter()
        .filter(|r| customers.contains_key(r.customer.as_str()) && answers(r).is_some())
        .count();
    assert!(
        drained.is_some(),
        "{answered} of {total} messages answered after the drain"
    );

    // Nothing reached Apple twice (every message, typing indicators included, has its id).
    let mut seen = HashSet::new();
    let twice: Vec<&str> = received
        .iter()
        .filter(|r| !seen.insert((r.customer.as_str(), r.id.as_str())))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        twice.is_empty(),
        "{} messages reached Apple twice",
        twice.len()
    );

    // Each conversation's answers are its questions', in order, once each.
    for (c, device) in devices.iter().enumerate() {
        let got: Vec<usize> = received
            .iter()
            .filter(|r| r.customer == device.customer)
            .filter_map(answers)
            .collect();
        let asked: Vec<usize> = (0..PER_CONVERSATION).map(|n| question(c, n)).collect();
        assert_eq!(
            got, asked,
            "conversation {c}: answers out of order or missing"
        );
    }

    // The conversation closed before the kills is still closed: a reply is refused.
    let key = ConversationKey::parse(BUSINESS_ID, &closed.customer).unwrap();
    let id = EventId::fresh();
    let sequence = platform
        .backends
        .store
        .allocate_sequence(&key, facts::COUNTER_OUTBOUND, Some(id.as_str()))
        .await
        .unwrap();
    let partition = platform.config.partitions.of(&key);
    let reply = OutboundMessage {
        meta: Some(EventMeta {
            event_id: id.to_string(),
            conversation: Some(parley_proto::v1::ConversationKey {
                business_id: BUSINESS_ID.into(),
                opaque_id: closed.customer.clone(),
            }),
            sequence: sequence.get(),
            partition: partition.get(),
            producer: "test".into(),
            schema_version: 1,
            ..Default::default()
        }),
        apple_message_id: id.apple_message_id(),
        sender: Some(Actor {
            kind: ActorKind::Agent as i32,
            id: "test".into(),
            display_name: "Test".into(),
        }),
        kind: Some(outbound_message::Kind::Text(OutboundText {
            body: "are you still there?".into(),
            attachments: vec![],
        })),
        ..Default::default()
    };
    platform
        .backends
        .bus
        .publish(
            Outgoing::new(
                ns.subject(StreamKind::Outbound, partition),
                id.to_string(),
                OutboundMessage::TYPE,
                reply.encode_to_vec(),
            )
            .with_ordering_key(key.stable_hash()),
        )
        .await
        .unwrap();
    let results = platform.backends.bus.subscribe(&deliveries).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let outcome = loop {
        assert!(
            Instant::now() < deadline,
            "no delivery result for the reply"
        );
        let batch = results
            .fetch(500, Duration::from_millis(500))
            .await
            .unwrap_or_default();
        let mut found = None;
        for delivery in batch {
            let result = DeliveryResult::decode(delivery.payload.as_ref()).unwrap();
            delivery.ack().await.unwrap();
            if result.outbound_event_id == id.as_str() {
                found = result.outcome;
            }
        }
        if let Some(outcome) = found {
            break outcome;
        }
    };
    let delivery_result::Outcome::Refused(refused) = outcome else {
        panic!("the reply to a closed conversation was not refused: {outcome:?}");
    };
    assert_eq!(refused.reason(), RefusalReason::ConversationClosed);
    let after = sim
        .state()
        .received()
        .iter()
        .filter(|r| r.customer == closed.customer)
        .count();
    assert_eq!(
        after, before_close,
        "nothing reached the closed conversation"
    );
    eprintln!(
        "{total} messages in {send_time:?} with redis-server killed twice; {} received at Apple",
        received.len()
    );
    tokio::time::timeout(Duration::from_secs(15), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
