//! Poison messages under the platform's consume loop and gate protocol
//! (`parley_runtime::ordered`, which every stage uses), on both backends: a handler that
//! panics on one body. The event reaches the dead-letter subject within its bounded attempts
//! with its reason; each panic releases the claim (the lease here is far longer than the
//! test's bound); the conversation's next message is handled; nothing is acknowledged
//! without a record; a replay of the dead letter is applied once, as a late event.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use parley_bus::{
    ConsumeOptions, ConsumerSpec, Delivery, Handler, Outcome, Outgoing, StreamKind, Topology,
    dead_letters, run_consumer,
};
use parley_runtime::{
    Backends, PlatformConfig,
    ordered::{self, Admission},
};
use parley_state::{ConversationStore, GatePolicy};
use parley_testkit::{NatsServer, RedisServer};
use parley_types::{ConversationKey, Sequence};
use tokio_util::sync::CancellationToken;

const STAGE: &str = "poison-test";
const ATTEMPTS: u32 = 3;

fn key() -> ConversationKey {
    ConversationKey::parse("biz-poison", "urn:mbid:poison").unwrap()
}

/// This test's own event: `<sequence>:<body>`.
fn parse(delivery: &Delivery) -> Option<(Sequence, String)> {
    let text = std::str::from_utf8(&delivery.payload).ok()?;
    let (sequence, body) = text.split_once(':')?;
    Some((Sequence::new(sequence.parse().ok()?).ok()?, body.to_owned()))
}

struct Poisoned {
    store: Arc<dyn ConversationStore>,
    policy: GatePolicy,
    heal: AtomicBool,
    panics: AtomicU32,
    /// (sequence, body, late) of every applied event, in order.
    applied: Mutex<Vec<(u64, String, bool)>>,
}

#[async_trait]
impl Handler for Poisoned {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let Some((sequence, body)) = parse(delivery) else {
            return Outcome::DeadLetter {
                reason: "not this test's event".into(),
            };
        };
        let key = key();
        let claim = match ordered::admit(&*self.store, &key, STAGE, sequence, &self.policy).await {
            Admission::Proceed(claim) => claim,
            Admission::Settle(outcome) => return outcome,
        };
        if body == "poison" && !self.heal.load(Ordering::SeqCst) {
            self.panics.fetch_add(1, Ordering::SeqCst);
            panic!("the handler cannot take this body");
        }
        self.applied
            .lock()
            .unwrap()
            .push((sequence.get(), body, claim.late));
        ordered::finish(&*self.store, &key, claim, &self.policy, Outcome::Ack).await
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((sequence, _)) = parse(delivery) {
            ordered::release_after_panic(&*self.store, &key(), STAGE, sequence).await;
        }
    }
}

async fn until<T>(what: &str, within: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn poison_is_dead_lettered_the_conversation_goes_on_and_a_replay_applies_once(
    backends: Backends,
) {
    let ns = backends.namespace.clone();
    let spec = ConsumerSpec::new(&ns, StreamKind::Bot, STAGE)
        .with_max_deliver(u32::MAX)
        .with_ack_wait(Duration::from_secs(30));
    backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .unwrap();
    let partitions = parley_types::PartitionCount::new(4).unwrap();
    let subject = ns.subject(StreamKind::Bot, partitions.of(&key()));
    for (n, body) in [(1, "hello"), (2, "poison"), (3, "after")] {
        backends
            .bus
            .publish(
                Outgoing::new(
                    &subject,
                    format!("ev-{n}"),
                    "test.Event",
                    format!("{n}:{body}"),
                )
                .with_ordering_key(7),
            )
            .await
            .unwrap();
    }
    let handler = Arc::new(Poisoned {
        store: backends.store.clone(),
        // Claims last far longer than the test waits: each attempt after a panic gets in
        // only because the panic released the claim.
        policy: GatePolicy {
            gap_timeout: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            max_attempts: ATTEMPTS,
        },
        heal: AtomicBool::new(false),
        panics: AtomicU32::new(0),
        applied: Mutex::new(Vec::new()),
    });
    let stop = CancellationToken::new();
    let consumer = tokio::spawn({
        let (bus, ns, handler, stop) = (
            backends.bus.clone(),
            ns.clone(),
            handler.clone(),
            stop.clone(),
        );
        let spec = spec.clone();
        async move { run_consumer(bus, &ns, &spec, handler, ConsumeOptions::default(), stop).await }
    });

    let bus = backends.bus.clone();
    let dead = until("the dead letter", Duration::from_secs(30), async || {
        let list = dead_letters::list(&*bus, &ns, 0, 10).await.unwrap();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.consumer, spec.durable);
    assert_eq!(letter.original_subject, subject);
    assert_eq!(letter.payload.as_ref(), b"2:poison");
    assert!(
        letter
            .reason
            .contains(&format!("gave up after {ATTEMPTS} attempts")),
        "{}",
        letter.reason
    );
    assert_eq!(handler.panics.load(Ordering::SeqCst), ATTEMPTS);
    let applied = until("the next message", Duration::from_secs(15), async || {
        let applied = handler.applied.lock().unwrap().clone();
        (applied.len() == 2).then_some(applied)
    })
    .await;
    assert_eq!(
        applied,
        [(1, "hello".into(), false), (3, "after".into(), false)]
    );
    let shown = dead_letters::show(&*bus, &ns, letter.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (shown.id, &shown.reason, &shown.payload),
        (letter.id, &letter.reason, &letter.payload)
    );
    assert_eq!(
        dead_letters::show(&*bus, &ns, letter.id + 100)
            .await
            .unwrap(),
        None
    );

    // The operator fixes the cause and re-drives it: applied once, late.
    handler.heal.store(true, Ordering::SeqCst);
    let first = dead_letters::replay(&*bus, &ns, letter.id).await.unwrap();
    assert!(first.is_some_and(|p| !p.duplicate));
    until("the replay", Duration::from_secs(15), async || {
        (handler.applied.lock().unwrap().len() == 3).then_some(())
    })
    .await;
    // Twice is still once: the stream drops the copy within its window...
    let again = dead_letters::replay(&*bus, &ns, letter.id).await.unwrap();
    assert!(again.is_some_and(|p| p.duplicate));
    // ... and the gate past it (the same original under another message id).
    bus.publish(
        Outgoing::new(&subject, "ev-2-again", "test.Event", "2:poison").with_ordering_key(7),
    )
    .await
    .unwrap();
    bus.publish(Outgoing::new(&subject, "ev-4", "test.Event", "4:last").with_ordering_key(7))
        .await
        .unwrap();
    until("the last message", Duration::from_secs(15), async || {
        (handler.applied.lock().unwrap().len() == 4).then_some(())
    })
    .await;
    assert_eq!(
        handler.applied.lock().unwrap().clone(),
        [
            (1, "hello".into(), false),
            (3, "after".into(), false),
            (2, "poison".into(), true),
            (4, "last".into(), false),
        ]
    );
    assert_eq!(
        dead_letters::list(&*bus, &ns, 0, 10).await.unwrap().len(),
        1
    );
    stop.cancel();
    let report = consumer.await.unwrap().unwrap();
    // Acknowledged: 1, 3, the replay, its gate-dropped copy, 4. Nothing else.
    assert_eq!(report.acked, 5, "{report:?}");
    assert_eq!(report.dead_lettered, 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_poison_is_dead_lettered_and_replayed_once() {
    let backends = Backends::embedded(&PlatformConfig::default())
        .await
        .unwrap();
    poison_is_dead_lettered_the_conversation_goes_on_and_a_replay_applies_once(backends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_redis_poison_is_dead_lettered_and_replayed_once() {
    parley_testkit::init_tracing();
    let nats = NatsServer::start().unwrap();
    let redis = RedisServer::start().unwrap();
    let config = PlatformConfig::default()
        .with_backends(nats.url(), redis.url())
        .in_namespace(&parley_testkit::prefix());
    let backends = Backends::connect(&config, "poison-test", Duration::from_secs(10))
        .await
        .unwrap();
    poison_is_dead_lettered_the_conversation_goes_on_and_a_replay_applies_once(backends).await;
}
