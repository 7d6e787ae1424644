//! The service binaries as separate processes under traffic: SIGTERM to each in turn drains
//! it and it exits 0 within its grace period; restarted, the mesh loses and duplicates
//! nothing; and the logs of the whole run show neither a sentinel planted in message bodies
//! nor any customer's opaque id.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use parley::demo_business;
use parley_apple_sim::{Device, DeviceKind, Received};

use crate::mesh::{Mesh, SERVICES};

const SENTINEL: &str = "zebra-sentinel-4f1c";
const QUESTION: &str = "What are your opening hours?";
/// Customers whose every message is checked; one more writes the sentinel.
const CUSTOMERS: usize = 12;

fn answers_of<'a>(received: &'a [Received], device: &Device, greeting: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.customer == device.customer && parley::bench::is_answer(r))
        .filter(|r| r.body.get("body").and_then(|b| b.as_str()) != Some(greeting))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_sigterm_to_each_service_during_traffic_drains_loses_nothing_and_logs_no_body_or_id()
{
    let mut mesh = Mesh::start("info").await;
    let knowledge =
        parley_bot::Knowledge::from_toml("acme.toml", demo_business::KNOWLEDGE).unwrap();
    let greeting = knowledge.text("en", parley_bot::knowledge::Text::Greeting);
    let sender = mesh.sim.devices().clone();
    let devices: Vec<Device> = (0..=CUSTOMERS)
        .map(|_| {
            sender
                .new_device(demo_business::BUSINESS_ID, DeviceKind::Iphone)
                .unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let traffic: Vec<_> = devices
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, device)| {
            let (sender, stop) = (sender.clone(), stop.clone());
            tokio::spawn(async move {
                let text = if i == CUSTOMERS {
                    format!("my card number is {SENTINEL}")
                } else {
                    QUESTION.to_owned()
                };
                let mut accepted = 0usize;
                let mut pace = tokio::time::interval(Duration::from_millis(400));
                while !stop.load(Ordering::Relaxed) {
                    pace.tick().await;
                    if matches!(sender.text_only(&device, &text).await, Ok(s) if s.status == 200) {
                        accepted += 1;
                    }
                }
                accepted
            })
        })
        .collect();

    for (i, name) in SERVICES.iter().enumerate() {
        // Traffic flows for a while before each stop (pacing, not synchronisation).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Grace is 5 s; a second more for the process to exit.
        let status = mesh.terminate(i, Duration::from_secs(6)).await;
        assert!(
            status.is_some_and(|s| s.success()),
            "parley {name} after SIGTERM: {status:?}\n{}",
            mesh.logs()
        );
        mesh.spawn(i);
        mesh.wait_ready(i).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut accepted = Vec::new();
    for task in traffic {
        accepted.push(task.await.unwrap());
    }
    let total: usize = accepted[..CUSTOMERS].iter().sum();
    assert!(total > 100, "too little traffic: {total}");

    // Every accepted question is answered exactly once (the greeting aside).
    let checked = &devices[..CUSTOMERS];
    let done = mesh
        .sim
        .state()
        .wait_for(Duration::from_secs(90), |received| {
            checked
                .iter()
                .zip(&accepted)
                .all(|(d, n)| answers_of(received, d, &greeting).len() >= *n)
        })
        .await;
    let received = done.unwrap_or_else(|| mesh.sim.state().received());
    let counts: Vec<(usize, usize)> = checked
        .iter()
        .zip(&accepted)
        .map(|(d, n)| (*n, answers_of(&received, d, &greeting).len()))
        .collect();
    assert!(
        counts.iter().all(|(sent, answered)| sent == answered),
        "(accepted, answered) per customer: {counts:?}\n{}",
        mesh.logs()
    );
    let mut ids: Vec<&str> = received.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "Apple received a message id twice");

    let logs = mesh.logs();
    assert!(
        logs.lines().count() > 20,
        "the run logged almost nothing:\n{logs}"
    );
    assert!(!logs.contains(SENTINEL), "a message body is in the logs");
    for device in &devices {
        assert!(
            !logs.contains(&device.customer),
            "an opaque id is in the logs"
        );
    }
}
