//! The bus contract: every test runs against the embedded bus and against JetStream.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use parley_bus::{
    ConsumeOptions, ConsumerSpec, Delivery, Handler, Outcome, StreamKind, Topology, header,
    run_consumer,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::support::{Fixture, fetch_n, payload_id, settings};

const WAIT: Duration = Duration::from_secs(20);

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::embedded().await).await;
                }
            )*
        }
        mod jetstream {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::jetstream().await).await;
                }
            )*
        }
    };
}

both_backends!(
    round_trip_keeps_payload_and_headers,
    same_msg_id_is_stored_once,
    failed_handler_is_redelivered_after_its_delay,
    unacked_delivery_comes_back_after_ack_wait,
    dead_letter_carries_message_and_reason,
    retries_end_in_dead_letter_after_max_deliver,
    shutdown_drains_in_flight_and_loses_nothing,
    one_conversation_is_handled_in_order,
    concurrency_is_bounded,
    a_stuck_conversation_holds_back_no_other,
    progress_keeps_long_work_from_redelivery,
    a_slow_reader_loses_nothing_to_pull_request_expiry,
    a_fetch_receives_no_more_than_it_can_take,
);

/// A handler built from a closure, reporting each call on a channel.
struct FnHandler<F> {
    decide: F,
    seen: mpsc::UnboundedSender<(String, u32, Instant)>,
}

#[async_trait]
impl<F> Handler for FnHandler<F>
where
    F: Fn(&Delivery) -> Outcome + Send + Sync + 'static,
{
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let _ = self
            .seen
            .send((payload_id(delivery), delivery.attempt, Instant::now()));
        (self.decide)(delivery)
    }
}

fn handler<F>(
    decide: F,
) -> (
    Arc<dyn Handler>,
    mpsc::UnboundedReceiver<(String, u32, Instant)>,
)
where
    F: Fn(&Delivery) -> Outcome + Send + Sync + 'static,
{
    let (seen, rx) = mpsc::unbounded_channel();
    (Arc::new(FnHandler { decide, seen }), rx)
}

fn options() -> ConsumeOptions {
    ConsumeOptions {
        workers: 8,
        max_in_flight: 32,
        fetch_wait: Duration::from_millis(200),
        drain_timeout: Duration::from_secs(10),
        ..ConsumeOptions::default()
    }
}

/// Runs a consumer in the background; returns the stop token and its join handle.
fn spawn_consumer(
    fixture: &Fixture,
    spec: &ConsumerSpec,
    handler: Arc<dyn Handler>,
    options: ConsumeOptions,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<parley_bus::Result<parley_bus::ConsumeReport>>,
) {
    let stop = CancellationToken::new();
    let bus = fixture.bus.clone();
    let ns = fixture.ns.clone();
    let spec = spec.clone();
    let token = stop.clone();
    let join =
        tokio::spawn(async move { run_consumer(bus, &ns, &spec, handler, options, token).await });
    (stop, join)
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<(String, u32, Instant)>) -> (String, u32, Instant) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("handler not called in time")
        .expect("handler channel closed")
}

async fn round_trip_keeps_payload_and_headers(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    let mut message = f.message("m-1").with_ordering_key(0xabc);
    message.headers.insert("X-Custom", "yes");
    let published = f.bus.publish(message).await.unwrap();
    assert!(!published.duplicate);
    assert!(published.stream.ends_with("AMB_INBOUND"));

    let got = fetch_n(&f.bus, &spec, 1, WAIT).await;
    assert_eq!(got.len(), 1);
    let d = &got[0];
    assert_eq!(d.subject, f.inbound_subject(3));
    assert_eq!(payload_id(d), "m-1");
    assert_eq!(d.msg_id(), Some("m-1"));
    assert_eq!(d.event_type(), Some("parley.v1.InboundMessage"));
    assert_eq!(d.headers.get(header::SCHEMA), Some("v1"));
    assert_eq!(d.headers.get("X-Custom"), Some("yes"));
    assert_eq!(d.ordering_key(), Some(0xabc));
    assert_eq!(d.attempt, 1);
    assert_eq!(d.stream_sequence, published.sequence);
    d.ack().await.unwrap();
    f.bus.flush().await.unwrap();
    assert!(
        fetch_n(&f.bus, &spec, 1, Duration::from_millis(700))
            .await
            .is_empty()
    );
    f.bus.health().await.unwrap();
}

async fn same_msg_id_is_stored_once(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    let first = f.bus.publish(f.message("dup-1")).await.unwrap();
    let second = f.bus.publish(f.message("dup-1")).await.unwrap();
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(first.sequence, second.sequence);
    f.bus.publish(f.message("dup-2")).await.unwrap();
    let got = fetch_n(&f.bus, &spec, 3, Duration::from_secs(2)).await;
    let ids: Vec<String> = got.iter().map(payload_id).collect();
    assert_eq!(ids, vec!["dup-1", "dup-2"]);
}

async fn failed_handler_is_redelivered_after_its_delay(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    let delay = Duration::from_millis(800);
    let (h, mut seen) = handler(move |d| {
        if d.attempt == 1 {
            Outcome::Retry {
                delay,
                reason: "dependency down".into(),
            }
        } else {
            Outcome::Ack
        }
    });
    let (stop, join) = spawn_consumer(&f, &spec, h, options());
    f.bus.publish(f.message("r-1")).await.unwrap();
    let (id1, attempt1, at1) = recv(&mut seen).await;
    let (id2, attempt2, at2) = recv(&mut seen).await;
    assert_eq!((id1.as_str(), attempt1), ("r-1", 1));
    assert_eq!((id2.as_str(), attempt2), ("r-1", 2));
    let gap = at2 - at1;
    assert!(
        gap >= delay - Duration::from_millis(50),
        "redelivered after {gap:?}"
    );
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!((report.retried, report.acked), (1, 1));
    assert!(
        fetch_n(&f.bus, &spec, 1, Duration::from_millis(1500))
            .await
            .is_empty()
    );
}

async fn unacked_delivery_comes_back_after_ack_wait(f: Fixture) {
    let ack_wait = Duration::from_secs(1);
    let spec = f.inbound_consumer("reader", ack_wait).await;
    f.bus.publish(f.message("u-1")).await.unwrap();
    let first = fetch_n(&f.bus, &spec, 1, WAIT).await;
    assert_eq!(first.len(), 1);
    let started = Instant::now();
    // Not settled: it must come back once the ack wait has passed, as attempt 2.
    let again = fetch_n(&f.bus, &spec, 1, WAIT).await;
    assert_eq!(again.len(), 1);
    assert_eq!(payload_id(&again[0]), "u-1");
    assert_eq!(again[0].attempt, 2);
    assert!(started.elapsed() >= ack_wait - Duration::from_millis(300));
    again[0].ack().await.unwrap();
}

async fn dead_letter_carries_message_and_reason(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(1)).await;
    let dlq = ConsumerSpec::new(&f.ns, StreamKind::DeadLetter, "dlq-reader");
    f.bus
        .ensure(&Topology::platform(&f.ns, &settings()).with_consumer(dlq.clone()))
        .await
        .unwrap();
    let (h, mut seen) = handler(|_| Outcome::DeadLetter {
        reason: "undecodable payload".into(),
    });
    let (stop, join) = spawn_consumer(&f, &spec, h, options());
    f.bus.publish(f.message("poison-1")).await.unwrap();
    recv(&mut seen).await;
    let dead = fetch_n(&f.bus, &dlq, 1, WAIT).await;
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(payload_id(d), "poison-1");
    assert_eq!(d.subject, f.ns.dead_letter_subject(&spec.durable));
    assert_eq!(
        d.headers.get(header::DEAD_REASON),
        Some("undecodable payload")
    );
    assert_eq!(
        d.headers.get(header::DEAD_CONSUMER),
        Some(spec.durable.as_str())
    );
    assert_eq!(
        d.headers.get(header::DEAD_SUBJECT),
        Some(f.inbound_subject(3).as_str())
    );
    assert_eq!(d.headers.get(header::DEAD_ATTEMPTS), Some("1"));
    assert_eq!(d.event_type(), Some("parley.v1.InboundMessage"));
    // Terminated: not delivered again, even after the ack wait.
    let more = tokio::time::timeout(Duration::from_millis(2500), seen.recv()).await;
    assert!(more.is_err(), "terminated message came back: {more:?}");
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!(report.dead_lettered, 1);
}

async fn retries_end_in_dead_letter_after_max_deliver(f: Fixture) {
    let spec = f
        .inbound_consumer("reader", Duration::from_secs(30))
        .await
        .with_max_deliver(3);
    let dlq = ConsumerSpec::new(&f.ns, StreamKind::DeadLetter, "dlq-reader");
    f.bus
        .ensure(&Topology::platform(&f.ns, &settings()).with_consumer(dlq.clone()))
        .await
        .unwrap();
    let (h, mut seen) = handler(|_| Outcome::Retry {
        delay: Duration::from_millis(100),
        reason: "still failing".into(),
    });
    let (stop, join) = spawn_consumer(&f, &spec, h, options());
    f.bus.publish(f.message("flaky-1")).await.unwrap();
    for expected in 1..=3 {
        assert_eq!(recv(&mut seen).await.1, expected);
    }
    let dead = fetch_n(&f.bus, &dlq, 1, WAIT).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0].headers.get(header::DEAD_REASON).unwrap_or_default();
    assert!(
        reason.contains("gave up after 3 attempts: still failing"),
        "{reason}"
    );
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!((report.retried, report.dead_lettered), (2, 1));
}

async fn shutdown_drains_in_flight_and_loses_nothing(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    let total = 300;
    for i in 0..total {
        f.bus
            .publish(f.message(&format!("s-{i:04}")).with_ordering_key(i % 7))
            .await
            .unwrap();
    }
    let (h, mut seen) = handler(|_| Outcome::Ack);
    let slow: Arc<dyn Handler> = Arc::new(Slow(h));
    let (stop, join) = spawn_consumer(&f, &spec, slow, options());
    // Stop intake once some work is under way.
    let mut first_run = HashSet::new();
    while first_run.len() < 40 {
        first_run.insert(recv(&mut seen).await.0);
    }
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    while let Ok(item) = seen.try_recv() {
        first_run.insert(item.0);
    }
    assert_eq!(report.abandoned, 0);
    assert_eq!(
        report.acked as usize,
        first_run.len(),
        "every handled delivery was acked"
    );
    assert!(
        first_run.len() < total as usize,
        "shutdown did not stop intake"
    );

    // A second consumer run gets exactly the rest: nothing lost, nothing handled twice.
    let (h2, mut seen2) = handler(|_| Outcome::Ack);
    let (stop2, join2) = spawn_consumer(&f, &spec, h2, options());
    let mut second_run = HashSet::new();
    while first_run.len() + second_run.len() < total as usize {
        let id = recv(&mut seen2).await.0;
        assert!(!first_run.contains(&id), "{id} handled twice");
        assert!(second_run.insert(id.clone()), "{id} handled twice");
    }
    stop2.cancel();
    join2.await.unwrap().unwrap();
    let all: HashSet<String> = (0..total).map(|i| format!("s-{i:04}")).collect();
    let union: HashSet<String> = first_run.union(&second_run).cloned().collect();
    assert_eq!(union, all);
}

/// Makes each handling take a little while, so shutdown finds work in flight.
struct Slow(Arc<dyn Handler>);

#[async_trait]
impl Handler for Slow {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        tokio::time::sleep(Duration::from_millis(15)).await;
        self.0.handle(delivery).await
    }
}

async fn one_conversation_is_handled_in_order(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    let per_key = 40;
    for i in 0..per_key {
        for key in 0..5u64 {
            f.bus
                .publish(f.message(&format!("{key}:{i:03}")).with_ordering_key(key))
                .await
                .unwrap();
        }
    }
    let (h, mut seen) = handler(|_| Outcome::Ack);
    let jittery: Arc<dyn Handler> = Arc::new(Jitter(h));
    // In-process order holds for what a conversation may hold at once; past that, its
    // deliveries are given back and the store's gate orders them.
    let options = ConsumeOptions {
        per_conversation: per_key,
        ..options()
    };
    let (stop, join) = spawn_consumer(&f, &spec, jittery, options);
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..per_key * 5 {
        let id = recv(&mut seen).await.0;
        let (key, n) = id.split_once(':').unwrap();
        order.entry(key.to_owned()).or_default().push(n.to_owned());
    }
    stop.cancel();
    join.await.unwrap().unwrap();
    for (key, got) in order {
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "conversation {key} out of order");
        assert_eq!(got.len(), per_key);
    }
}

/// Varies handling time so lanes interleave.
struct Jitter(Arc<dyn Handler>);

#[async_trait]
impl Handler for Jitter {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let micros = (delivery.stream_sequence * 7919) % 3000;
        tokio::time::sleep(Duration::from_micros(micros)).await;
        self.0.handle(delivery).await
    }
}

async fn concurrency_is_bounded(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    for i in 0..60u64 {
        f.bus
            .publish(f.message(&format!("c-{i}")).with_ordering_key(i))
            .await
            .unwrap();
    }
    let counter = Arc::new(Counting {
        now: AtomicUsize::new(0),
        max: AtomicUsize::new(0),
        done: Mutex::new(0),
        all_done: tokio::sync::Notify::new(),
    });
    let options = ConsumeOptions {
        workers: 16,
        max_in_flight: 4,
        ..options()
    };
    let (stop, join) = spawn_consumer(&f, &spec, counter.clone(), options);
    tokio::time::timeout(WAIT, counter.all_done.notified())
        .await
        .expect("60 deliveries handled");
    stop.cancel();
    join.await.unwrap().unwrap();
    let max = counter.max.load(Ordering::SeqCst);
    assert!(max <= 4, "{max} handled at once");
    assert!(max >= 2, "lanes did not run concurrently ({max})");
}

struct Counting {
    now: AtomicUsize,
    max: AtomicUsize,
    done: Mutex<usize>,
    all_done: tokio::sync::Notify,
}

#[async_trait]
impl Handler for Counting {
    async fn handle(&self, _delivery: &Delivery) -> Outcome {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        let mut done = self.done.lock().unwrap();
        *done += 1;
        if *done == 60 {
            self.all_done.notify_one();
        }
        Outcome::Ack
    }
}

async fn progress_keeps_long_work_from_redelivery(f: Fixture) {
    // The handler works for 2.5 ack waits; progress every 250 ms (an eighth of the ack
    // wait, so a busy CI machine still sends it in time) keeps the delivery its own.
    let spec = f.inbound_consumer("reader", Duration::from_secs(2)).await;
    let (h, mut seen) = handler(|_| Outcome::Ack);
    let slow: Arc<dyn Handler> = Arc::new(Long(h));
    let options = ConsumeOptions {
        progress_interval: Some(Duration::from_millis(250)),
        ..options()
    };
    let (stop, join) = spawn_consumer(&f, &spec, slow, options);
    f.bus.publish(f.message("long-1")).await.unwrap();
    let (id, attempt, _) = recv(&mut seen).await;
    assert_eq!((id.as_str(), attempt), ("long-1", 1));
    let again = tokio::time::timeout(Duration::from_millis(3000), seen.recv()).await;
    assert!(again.is_err(), "redelivered while in progress: {again:?}");
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!(report.acked, 1);
}

/// Works for 5 s before deciding.
struct Long(Arc<dyn Handler>);

#[async_trait]
impl Handler for Long {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let outcome = self.0.handle(delivery).await;
        tokio::time::sleep(Duration::from_millis(5000)).await;
        outcome
    }
}

/// Messages delivered while nobody fetches wait for the next fetch, however long that takes:
/// none is lost to a pull request's expiry and left for the ack wait. (A JetStream request
/// kept across fetches as a batch lost them: a fetch that took fewer than the request then
/// brought left the rest in the batch, and the batch's own timer, 5 s past the request's
/// expiry, ended it with them still buffered.)
async fn a_slow_reader_loses_nothing_to_pull_request_expiry(f: Fixture) {
    let spec = f.inbound_consumer("slow", Duration::from_secs(60)).await;
    let subscription = f.bus.subscribe(&spec).await.unwrap();
    f.bus.publish(f.message("slow-00")).await.unwrap();
    // A fetch that could take 10 gets the one there is.
    let first = subscription
        .fetch(10, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(payload_id).collect::<Vec<_>>(),
        ["slow-00"]
    );
    first[0].ack().await.unwrap();
    for i in 1..20 {
        f.bus
            .publish(f.message(&format!("slow-{i:02}")))
            .await
            .unwrap();
    }
    // The scenario, not a synchronisation: the reader is busy for longer than that fetch's
    // request lived (2 s) plus the client's grace after it (5 s).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < 19 && started.elapsed() < Duration::from_secs(10) {
        for delivery in subscription
            .fetch(4, Duration::from_millis(200))
            .await
            .unwrap()
        {
            got.push(payload_id(&delivery));
            delivery.ack().await.unwrap();
        }
    }
    let expected: Vec<String> = (1..20).map(|i| format!("slow-{i:02}")).collect();
    assert_eq!(
        got, expected,
        "all of them, in order, long before the 60 s ack wait"
    );
}

/// What a fetch could not take is not received for it: a reader that took 2 of 10, then was
/// busy for longer than the ack wait, gets the other 8 as first deliveries. (A backend that
/// asked its server for more than the fetch could take, such as a prefetching pull stream,
/// holds them in the client while their ack wait runs out; they then come again as attempt 2,
/// and twice if the client still hands out its copies.)
async fn a_fetch_receives_no_more_than_it_can_take(f: Fixture) {
    let ack_wait = Duration::from_secs(1);
    let spec = f.inbound_consumer("careful", ack_wait).await;
    let subscription = f.bus.subscribe(&spec).await.unwrap();
    for i in 0..10 {
        f.bus
            .publish(f.message(&format!("take-{i}")))
            .await
            .unwrap();
    }
    let mut first = Vec::new();
    let deadline = Instant::now() + WAIT;
    while first.len() < 2 && Instant::now() < deadline {
        let batch = subscription
            .fetch(2 - first.len(), Duration::from_millis(500))
            .await
            .unwrap();
        first.extend(batch);
    }
    assert_eq!(
        first.iter().map(payload_id).collect::<Vec<_>>(),
        ["take-0", "take-1"]
    );
    for delivery in &first {
        delivery.ack().await.unwrap();
    }
    // The scenario, not a synchronisation: the reader is busy for longer than the ack wait.
    tokio::time::sleep(ack_wait + Duration::from_millis(700)).await;
    let mut rest = Vec::new();
    let deadline = Instant::now() + WAIT;
    while rest.len() < 8 && Instant::now() < deadline {
        for delivery in subscription
            .fetch(10, Duration::from_millis(300))
            .await
            .unwrap()
        {
            delivery.ack().await.unwrap();
            rest.push((payload_id(&delivery), delivery.attempt));
        }
    }
    // Nothing more, not even a second copy.
    rest.extend(
        subscription
            .fetch(10, Duration::from_millis(300))
            .await
            .unwrap()
            .iter()
            .map(|delivery| (payload_id(delivery), delivery.attempt)),
    );
    let expected: Vec<(String, u32)> = (2..10).map(|i| (format!("take-{i}"), 1)).collect();
    assert_eq!(rest, expected, "each once, as its first delivery");
}

/// Blocks every delivery of one ordering key until released; the others pass at once.
struct StuckKey {
    key: u64,
    release: tokio::sync::watch::Receiver<bool>,
    seen: mpsc::UnboundedSender<(u64, String)>,
}

#[async_trait]
impl Handler for StuckKey {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let key = delivery.ordering_key().unwrap_or_default();
        if key == self.key {
            let mut release = self.release.clone();
            if release.wait_for(|go| *go).await.is_err() {
                return Outcome::Retry {
                    delay: Duration::from_millis(100),
                    reason: "test over".into(),
                };
            }
        }
        let _ = self.seen.send((key, payload_id(delivery)));
        Outcome::Ack
    }
}

/// One conversation whose handling hangs (Apple answers it slowly) while it has 40 messages
/// waiting: the 100 other conversations are all handled meanwhile, though they were
/// published after it and the in-flight budget is smaller than its backlog. Then it is
/// released and all of its messages are handled, none lost or twice.
async fn a_stuck_conversation_holds_back_no_other(f: Fixture) {
    let spec = f.inbound_consumer("reader", Duration::from_secs(30)).await;
    const HOT: u64 = 1_000;
    for i in 0..40 {
        f.bus
            .publish(f.message(&format!("hot-{i:02}")).with_ordering_key(HOT))
            .await
            .unwrap();
    }
    for key in 0..100u64 {
        f.bus
            .publish(f.message(&format!("quiet-{key:03}")).with_ordering_key(key))
            .await
            .unwrap();
    }
    let (release, held) = tokio::sync::watch::channel(false);
    let (seen, mut rx) = mpsc::unbounded_channel();
    let stuck = Arc::new(StuckKey {
        key: HOT,
        release: held,
        seen,
    });
    let options = ConsumeOptions {
        workers: 8,
        max_in_flight: 32,
        per_conversation: 4,
        over_cap_delay: Duration::from_millis(100),
        ..options()
    };
    let (stop, join) = spawn_consumer(&f, &spec, stuck, options);
    let mut quiet = HashSet::new();
    while quiet.len() < 100 {
        let (key, id) = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the quiet conversations were held back")
            .expect("handler channel closed");
        assert_ne!(key, HOT, "the stuck conversation was released early");
        assert!(quiet.insert(id.clone()), "{id} twice");
    }
    release.send(true).unwrap();
    let mut hot = HashSet::new();
    while hot.len() < 40 {
        let (key, id) = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the stuck conversation's messages after its release")
            .expect("handler channel closed");
        assert_eq!(key, HOT, "{id}");
        assert!(hot.insert(id.clone()), "{id} twice");
    }
    stop.cancel();
    let report = join.await.unwrap().unwrap();
    assert_eq!(report.acked, 140, "{report:?}");
    assert!(report.over_cap > 0, "{report:?}");
}
