//! One hot conversation does not slow the others (issue 12): Apple answers one customer's
//! requests after 5 s each while that customer has 600 answers waiting, and 100 other
//! customers, each asking once, are all answered meanwhile, through the whole platform over
//! NATS + Redis. Each stage's consumer caps what one conversation holds in flight, so the hot
//! conversation's backlog cannot take the budget the others need.
//!
//! The latencies of the 100, before and with the hot backlog, are printed (the bound the
//! test enforces is that every one is answered within a minute while the hot conversation
//! is still backed up; a shared lane would hold them behind its 20 s per answer).

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use parley::{demo_business::BUSINESS_ID, up::BackendKind};
use parley_apple_sim::{Device, DeviceKind, Fault, FaultScope, Received, Simulator};
use parley_testkit::{NatsServer, RedisServer};
use serde_json::json;

use crate::support::{platform, server_env};

const OTHERS: usize = 100;
const HOT_BACKLOG: usize = 600;
const QUESTION: &str = "what are your opening hours?";

fn is_answer(r: &Received, customer: &str) -> bool {
    r.customer == customer
        && r.body
            .get("body")
            .and_then(|b| b.as_str())
            .is_some_and(|b| b.contains("opening hours"))
}

/// One question from each of `devices`, 20 at a time; answers how long each took from the
/// webhook to Apple's receipt of its answer (bounded by `within`).
async fn ask_each(sim: &Simulator, devices: &[Device], within: Duration) -> Vec<Duration> {
    let started = Instant::now();
    let mut waits: Vec<Duration> = futures::stream::iter(devices)
        .map(|device| async move {
            let asked = Instant::now();
            let id = parley_types::EventId::fresh().to_string();
            let body = json!({"v": 1, "id": id, "type": "text", "sourceId": device.customer,
                              "destinationId": device.business, "body": QUESTION,
                              "locale": "en_US"});
            let sent = sim.devices().send_raw(device, &id, &body).await.unwrap();
            assert_eq!(sent.status, 200);
            let left = within.saturating_sub(started.elapsed());
            sim.state()
                .wait_for(left, |all| {
                    all.iter().any(|r| is_answer(r, &device.customer))
                })
                .await
                .unwrap_or_else(|| {
                    panic!("a customer was not answered within {within:?} of the first question")
                });
            asked.elapsed()
        })
        .buffer_unordered(20)
        .collect()
        .await;
    waits.sort();
    waits
}

fn p99(waits: &[Duration]) -> Duration {
    waits[(waits.len() * 99 / 100).min(waits.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_one_slow_conversation_with_a_backlog_does_not_hold_up_100_others() {
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
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
    let sim = platform.sim.as_ref().unwrap();
    let new_devices = |n: usize| -> Vec<Device> {
        (0..n)
            .map(|_| {
                sim.devices()
                    .new_device(BUSINESS_ID, DeviceKind::Iphone)
                    .unwrap()
            })
            .collect()
    };

    // Without a hot conversation: the reference latencies.
    let quiet = ask_each(sim, &new_devices(OTHERS), Duration::from_secs(60)).await;

    // A hot conversation: Apple takes 5 s for each of its requests, and it has 600 questions
    // waiting (each answer is four requests: typing, greeting or answer, typing end).
    let hot = sim
        .devices()
        .new_device(BUSINESS_ID, DeviceKind::Iphone)
        .unwrap();
    sim.state().add_fault(Fault {
        scope: FaultScope::Customer(hot.customer.clone()),
        status: None,
        retry_after_secs: None,
        latency_ms: 5_000,
        hang: false,
        times: None,
        duration_ms: None,
    });
    for n in 0..HOT_BACKLOG {
        let id = format!("hot-{n:03}");
        let body = json!({"v": 1, "id": id, "type": "text", "sourceId": hot.customer,
                          "destinationId": hot.business, "body": QUESTION, "locale": "en_US"});
        let sent = sim.devices().send_raw(&hot, &id, &body).await.unwrap();
        assert_eq!(sent.status, 200, "{id}");
    }

    // Every hot answer is on the outbound stream (more than a consumer holds in flight)
    // before the others ask.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let outbound = platform
        .backends
        .namespace
        .stream_name(parley_bus::StreamKind::Outbound);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut stream = js.get_stream(&outbound).await.unwrap();
        let published = stream.info().await.unwrap().state.last_sequence;
        if published >= (OTHERS + HOT_BACKLOG) as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {published} answers on the outbound stream"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 100 new customers ask once each: every one is answered within the minute.
    let busy = ask_each(sim, &new_devices(OTHERS), Duration::from_secs(60)).await;
    let hot_answered = sim
        .state()
        .received()
        .iter()
        .filter(|r| is_answer(r, &hot.customer))
        .count();
    assert!(
        hot_answered < HOT_BACKLOG / 10,
        "the hot conversation was still backed up meanwhile ({hot_answered} answered)"
    );
    eprintln!(
        "100 customers, p99 webhook to Apple: {:?} alone, {:?} beside a hot conversation \
         with {HOT_BACKLOG} waiting ({:.2}x); the hot one had {hot_answered} answered",
        p99(&quiet),
        p99(&busy),
        p99(&busy).as_secs_f64() / p99(&quiet).as_secs_f64().max(1e-3)
    );
    sim.state().clear_faults();
    tokio::time::timeout(Duration::from_secs(30), platform.stop())
        .await
        .expect("drained within the bound")
        .unwrap();
}
