//! Retries, backoff, the circuit breaker, final errors, hangs.

use std::{collections::HashMap, time::Duration};

use parley_apple_sim::{DeviceKind, Fault, FaultScope};
use parley_bus::header;
use parley_proto::v1::{FailureCause, delivery_result::Outcome};

use crate::harness::platform_with;

fn fault(
    scope: FaultScope,
    status: Option<u16>,
    retry_after_secs: Option<u64>,
    hang: bool,
    duration_ms: Option<u64>,
) -> Fault {
    Fault {
        scope,
        status,
        retry_after_secs,
        latency_ms: 0,
        hang,
        times: None,
        duration_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_a_minute_of_500_503_429_then_everything_is_delivered() {
    let metrics = parley_telemetry::metrics_handle().unwrap();
    let p = platform_with(|c| c.outbound.max_attempts = 1000).await;
    let mut customers = Vec::new();
    for i in 0..9 {
        let (device, key) = p.customer(DeviceKind::Iphone).await;
        let (status, retry_after) = match i % 3 {
            0 => (500, None),
            1 => (503, None),
            _ => (429, Some(2)),
        };
        p.sim.state().add_fault(fault(
            FaultScope::Customer(device.customer.clone()),
            Some(status),
            retry_after,
            false,
            Some(60_000),
        ));
        customers.push((device, key, retry_after));
    }
    let started = tokio::time::Instant::now();
    let mut events = HashMap::new();
    for n in 0..3 {
        for (device, key, _) in &customers {
            let event = p.text(key, &format!("message {n}")).await;
            events
                .entry(device.customer.clone())
                .or_insert_with(Vec::new)
                .push(event);
        }
    }
    for (device, _, _) in &customers {
        let received = p
            .received(&device.customer, 3, Duration::from_secs(120))
            .await;
        let bodies: Vec<&str> = received
            .iter()
            .map(|r| r.body["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, ["message 0", "message 1", "message 2"]);
    }
    assert!(
        started.elapsed() >= Duration::from_secs(59),
        "nothing got through during the fault"
    );
    // Attempt spacing: never faster than the backoff (100 ms doubling, ±25 %, capped at
    // 800 ms) nor than Retry-After.
    let attempts = p.sim.state().attempts();
    let mut checked = 0;
    for (device, _, retry_after) in &customers {
        for event in &events[&device.customer] {
            let times: Vec<u64> = attempts
                .iter()
                .filter(|a| a.id == event.apple_message_id)
                .map(|a| a.at_ms)
                .collect();
            // The open circuit lets one trial through per cool-down, shared by every
            // conversation, so some messages are tried only once or twice in the minute.
            for (n, pair) in times.windows(2).enumerate() {
                checked += 1;
                let gap = pair[1] - pair[0];
                let backoff_floor = (100.0 * 2f64.powi(n as i32)).min(800.0) * 0.75;
                let floor = retry_after
                    .map_or(backoff_floor, |s| (s * 1000) as f64)
                    .max(backoff_floor) as u64;
                assert!(
                    gap + 30 >= floor,
                    "{}: retry {} came after {gap} ms, floor {floor} ms",
                    device.customer,
                    n + 1
                );
            }
        }
    }
    assert!(checked >= 20, "only {checked} retries to check");
    // No hot loop: far fewer attempts than a retry every backoff period would make.
    let during: usize = attempts.iter().filter(|a| a.status != 200).count();
    assert!(during < 9 * 60 * 2, "{during} failed attempts in a minute");
    // The circuit opened while Apple was failing.
    let rendered = metrics.render();
    let opened = rendered
        .lines()
        .find(|l| l.starts_with("parley_outbound_circuit_opened_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(opened >= 1.0, "the circuit never opened:\n{rendered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_errors_go_to_dead_letters_after_one_attempt() {
    let p = platform_with(|_| {}).await;
    let (healthy, healthy_key) = p.customer(DeviceKind::Iphone).await;
    let mut cases = Vec::new();
    for status in [400u16, 401, 403] {
        let (device, key) = p.customer(DeviceKind::Iphone).await;
        p.sim.state().add_fault(fault(
            FaultScope::Customer(device.customer.clone()),
            Some(status),
            None,
            false,
            None,
        ));
        let event = p.text(&key, "doomed").await;
        cases.push((status, device, event));
    }
    let fine = p.text(&healthy_key, "fine").await;
    for (status, device, event) in &cases {
        match p.outcome_of(event, Duration::from_secs(10)).await.outcome {
            Some(Outcome::Failed(failed)) => {
                assert_eq!(failed.http_status, u32::from(*status));
                assert!(!failed.retries_exhausted);
                assert!(!failed.dead_letter_subject.is_empty());
                let expected = if *status == 400 {
                    FailureCause::BadRequest
                } else {
                    FailureCause::Unauthorized
                };
                assert_eq!(failed.cause(), expected);
            }
            other => panic!("{status}: {other:?}"),
        }
        let tries = p
            .sim
            .state()
            .attempts()
            .iter()
            .filter(|a| a.customer == device.customer)
            .count();
        assert_eq!(tries, 1, "{status} was tried once");
    }
    let mut dead = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while dead.len() < 3 && tokio::time::Instant::now() < deadline {
        for delivery in p
            .dead_letters
            .fetch(3, Duration::from_millis(300))
            .await
            .unwrap()
        {
            dead.push(
                delivery
                    .headers
                    .get(header::DEAD_REASON)
                    .unwrap_or_default()
                    .to_owned(),
            );
            delivery.ack().await.unwrap();
        }
    }
    assert_eq!(dead.len(), 3, "{dead:?}");
    for status in ["400", "401", "403"] {
        assert!(
            dead.iter().any(|reason| reason.contains(status)),
            "no dead letter says {status}: {dead:?}"
        );
    }
    assert!(matches!(
        p.outcome_of(&fine, Duration::from_secs(10)).await.outcome,
        Some(Outcome::Sent(_))
    ));
    assert_eq!(p.sim.state().received_by(&healthy.customer).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_gateway_times_out_without_stalling_other_conversations() {
    let p = platform_with(|c| c.outbound.max_attempts = 100).await;
    let (stuck, stuck_key) = p.customer(DeviceKind::Iphone).await;
    p.sim.state().add_fault(fault(
        FaultScope::Customer(stuck.customer.clone()),
        None,
        None,
        true,
        None,
    ));
    p.text(&stuck_key, "into the void").await;
    let mut others = Vec::new();
    for _ in 0..5 {
        let (device, key) = p.customer(DeviceKind::Iphone).await;
        p.text(&key, "prompt").await;
        others.push(device);
    }
    let started = tokio::time::Instant::now();
    for device in &others {
        p.received(&device.customer, 1, Duration::from_secs(10))
            .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "others waited {:?}",
        started.elapsed()
    );
    // The hanging one was tried more than once (each attempt timed out after 1 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while p
        .sim
        .state()
        .attempts()
        .iter()
        .filter(|a| a.customer == stuck.customer && a.status == 0)
        .count()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck conversation was not retried"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(p.sim.state().received_by(&stuck.customer).is_empty());
    // Apple recovers: it goes through.
    p.sim.state().clear_faults();
    p.received(&stuck.customer, 1, Duration::from_secs(20))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_are_dead_lettered_with_the_attempts() {
    let p = platform_with(|c| {
        c.outbound.max_attempts = 3;
        c.outbound.breaker_failures = 100;
    })
    .await;
    let (device, key) = p.customer(DeviceKind::Iphone).await;
    p.sim.state().add_fault(fault(
        FaultScope::Customer(device.customer.clone()),
        Some(503),
        None,
        false,
        None,
    ));
    let event = p.text(&key, "never").await;
    let next = p.text(&key, "after it").await;
    match p.outcome_of(&event, Duration::from_secs(20)).await.outcome {
        Some(Outcome::Failed(failed)) => {
            assert!(failed.retries_exhausted);
            assert_eq!(failed.http_status, 503);
        }
        other => panic!("{other:?}"),
    }
    let tries = p
        .sim
        .state()
        .attempts()
        .iter()
        .filter(|a| a.id == event.apple_message_id)
        .count();
    assert_eq!(tries, 3);
    // The conversation is not stuck behind it: the next message gets its own attempts.
    p.sim.state().clear_faults();
    assert!(matches!(
        p.outcome_of(&next, Duration::from_secs(20)).await.outcome,
        Some(Outcome::Sent(_))
    ));
}
