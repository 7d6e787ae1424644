//! Fault tests against a real nats-server: kill -9 it during load and restart it.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use parley_bus::Bus;

use crate::support::{jetstream, payload_id};

/// Publishes `id` until the stream confirms it; the same id each time, so a publish that was
/// stored but whose confirmation was lost is dropped as a duplicate by the stream.
async fn publish_until_acked(bus: Arc<dyn Bus>, message: parley_bus::Outgoing) -> bool {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match bus.publish(message.clone()).await {
            Ok(published) => return published.duplicate,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "publish never confirmed: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_kill_nats_during_publishes_loses_and_duplicates_nothing() {
    let mut f = jetstream().await;
    let spec = f.inbound_consumer("checker", Duration::from_secs(30)).await;
    let total = 10_000usize;
    let acked = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let bus = f.bus.clone();
        let acked = acked.clone();
        let messages: Vec<_> = (0..total)
            .map(|i| f.message(&format!("k-{i:05}")))
            .collect();
        tokio::spawn(async move {
            futures::stream::iter(messages)
                .map(|message| {
                    let bus = bus.clone();
                    let acked = acked.clone();
                    async move {
                        let duplicate = publish_until_acked(bus, message).await;
                        acked.fetch_add(1, Ordering::SeqCst);
                        duplicate
                    }
                })
                .buffer_unordered(64)
                .fold(0usize, |dups, duplicate| async move {
                    dups + usize::from(duplicate)
                })
                .await
        })
    };

    // Kill the server in the middle of the stream of publishes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::SeqCst) < total / 4 {
        assert!(Instant::now() < deadline, "publishing did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let nats = f.nats.as_mut().expect("jetstream fixture has a server");
    nats.kill().expect("kill -9 nats-server");
    let at_kill = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.restart().expect("restart nats-server");

    let duplicates_reported = tokio::time::timeout(Duration::from_secs(180), publisher)
        .await
        .expect("publisher finished")
        .expect("publisher did not panic");
    assert_eq!(acked.load(Ordering::SeqCst), total);
    assert!(
        at_kill < total,
        "the kill happened after every publish was confirmed"
    );

    // Every confirmed message is in the stream exactly once.
    let subscription = f
        .bus
        .subscribe(&spec)
        .await
        .expect("subscribe after restart");
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < total && Instant::now() < deadline {
        let batch = match subscription.fetch(500, Duration::from_millis(500)).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "fetch failed while the client reconnects");
                continue;
            }
        };
        for delivery in batch {
            *seen.entry(payload_id(&delivery)).or_default() += 1;
            delivery.ack().await.expect("ack");
        }
    }
    let missing: Vec<usize> = (0..total)
        .filter(|i| !seen.contains_key(&format!("k-{i:05}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acked messages lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored twice: {twice:?}");
    eprintln!(
        "killed after {at_kill} of {total} confirmations; {duplicates_reported} republishes were \
         dropped as duplicates by the stream"
    );
}
