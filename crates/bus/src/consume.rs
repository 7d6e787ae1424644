//! The consume loop: fetch with bounded concurrency, hand each conversation's deliveries to
//! its own queue, settle each delivery (ack, retry after a delay, dead-letter), keep long
//! work alive with progress, and drain on shutdown.
//!
//! Order: within one process, deliveries with the same ordering key are handled one at a
//! time in stream order. A retried delivery comes back later, so strict per-conversation
//! order across retries and replicas is the state store's sequence gate's job.
//!
//! Fairness: each ordering key (a conversation) has its own queue, served by its own task
//! while it has work, and `workers` bounds how many handlers run at once, so no conversation
//! queues in front of another (there are no shared lanes). A consumer whose handler orders
//! events itself (through the store's gate: every stage's main consumer) also caps what one
//! conversation holds (`per_conversation`): more is given back at once (NAK with
//! `over_cap_delay`), so one slow or hot conversation cannot fill the in-flight budget.

use std::{
    collections::{HashMap, VecDeque},
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use futures::FutureExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::Instrument as _;

use crate::{Bus, ConsumerSpec, Delivery, Namespace, Outgoing, Result, header};

/// What a handler decided about one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its effects are durable: acknowledge.
    Ack,
    /// A failure that can heal: deliver again after `delay` (dead-lettered once the
    /// consumer's `max_deliver` is reached).
    Retry {
        /// How long to wait.
        delay: Duration,
        /// Why, for the log and, in the end, the dead letter.
        reason: String,
    },
    /// A poison message: copy it to the dead-letter subject with the reason, then stop
    /// redelivering it.
    DeadLetter {
        /// Why.
        reason: String,
    },
}

/// Handles deliveries of one consumer.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one delivery. Must be idempotent: a delivery can arrive more than once.
    async fn handle(&self, delivery: &Delivery) -> Outcome;

    /// Called after `handle` panicked on `delivery`, before it is given back: release what
    /// the handler held (a gate claim), so the next attempt need not wait for a lease.
    async fn on_panic(&self, delivery: &Delivery) {
        let _ = delivery;
    }
}

/// How a consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// Handlers running at once (each on a different conversation).
    pub workers: usize,
    /// Deliveries held at once (fetched, queued or being handled).
    pub max_in_flight: usize,
    /// Deliveries one conversation (ordering key) may hold at once; more are given back, and
    /// come back later, possibly after the conversation's later deliveries: only a consumer
    /// whose handler orders by itself (the store's gate) may set it. Unset (the default),
    /// a conversation's deliveries are all held and handled in stream order.
    pub per_conversation: usize,
    /// How long a delivery given back for being over `per_conversation` waits.
    pub over_cap_delay: Duration,
    /// The longest one fetch waits for messages.
    pub fetch_wait: Duration,
    /// How long shutdown waits for held deliveries; the rest are left unacknowledged and
    /// redelivered (to another replica).
    pub drain_timeout: Duration,
    /// How long to wait after a failed fetch (the backend is down).
    pub fetch_error_backoff: Duration,
    /// How often a long handler sends progress (defaults to half the ack wait).
    pub progress_interval: Option<Duration>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        Self {
            workers: 64,
            max_in_flight: 256,
            per_conversation: usize::MAX,
            over_cap_delay: Duration::from_millis(250),
            fetch_wait: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(20),
            fetch_error_backoff: Duration::from_millis(500),
            progress_interval: None,
        }
    }
}

/// What a consumer did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumeReport {
    /// Acknowledged.
    pub acked: u64,
    /// Given back for a later retry.
    pub retried: u64,
    /// Dead-lettered.
    pub dead_lettered: u64,
    /// Left unacknowledged when the drain timed out (they will be redelivered).
    pub abandoned: u64,
    /// Given back at once because their conversation held `per_conversation` already.
    pub over_cap: u64,
}

#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    abandoned: AtomicU64,
    over_cap: AtomicU64,
}

type Held = (Delivery, OwnedSemaphorePermit);

/// Each conversation's queued deliveries. A key is present while a task serves it (its queue
/// may be empty while that task handles the last one); the task removes it when it finds the
/// queue empty, under the same lock an arriving delivery takes, so no delivery is stranded
/// and no key is served by two tasks.
#[derive(Default)]
struct Queues(Mutex<HashMap<u64, VecDeque<Held>>>);

enum Offer {
    /// Queued behind the key's task.
    Queued,
    /// The key had no task: start one.
    Start,
    /// The key holds its share already: give it back.
    Full(Box<Held>),
}

impl Queues {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, VecDeque<Held>>> {
        // Every mutation completes before anything can panic: a poisoned map is sound.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn offer(&self, key: u64, held: Held, per_key: usize) -> Offer {
        let mut queues = self.lock();
        match queues.get_mut(&key) {
            // The one being handled counts too.
            Some(queue) if queue.len() + 1 >= per_key => Offer::Full(Box::new(held)),
            Some(queue) => {
                queue.push_back(held);
                Offer::Queued
            }
            None => {
                queues.insert(key, VecDeque::from([held]));
                Offer::Start
            }
        }
    }

    fn next(&self, key: u64) -> Option<Held> {
        let mut queues = self.lock();
        let queue = queues.get_mut(&key)?;
        let next = queue.pop_front();
        if next.is_none() {
            queues.remove(&key);
        }
        next
    }
}

struct Lane {
    bus: Arc<dyn Bus>,
    handler: Arc<dyn Handler>,
    dead_letter_subject: String,
    durable: String,
    max_deliver: u32,
    progress_every: Duration,
    abandon: CancellationToken,
    counters: Arc<Counters>,
    workers: Arc<Semaphore>,
    queues: Queues,
}

/// Runs `handler` over the durable consumer `spec` until `shutdown` is cancelled, then stops
/// fetching, drains what it holds (bounded by `drain_timeout`) and flushes acknowledgements.
pub async fn run_consumer(
    bus: Arc<dyn Bus>,
    ns: &Namespace,
    spec: &ConsumerSpec,
    handler: Arc<dyn Handler>,
    options: ConsumeOptions,
    shutdown: CancellationToken,
) -> Result<ConsumeReport> {
    let subscription = bus.subscribe(spec).await?;
    let max_in_flight = options.max_in_flight.max(1);
    let per_key = options.per_conversation.max(1);
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let counters = Arc::new(Counters::default());
    let abandon = CancellationToken::new();
    let tracker = TaskTracker::new();
    let lane = Arc::new(Lane {
        bus: bus.clone(),
        handler,
        dead_letter_subject: ns.dead_letter_subject(&spec.durable),
        durable: spec.durable.clone(),
        max_deliver: spec.max_deliver.max(1),
        progress_every: options
            .progress_interval
            .unwrap_or(spec.ack_wait / 2)
            .max(Duration::from_millis(10)),
        abandon: abandon.clone(),
        counters: counters.clone(),
        workers: Arc::new(Semaphore::new(options.workers.max(1))),
        queues: Queues::default(),
    });

    while !shutdown.is_cancelled() {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let mut held = vec![first];
        while held.len() < max_in_flight {
            match permits.clone().try_acquire_owned() {
                Ok(permit) => held.push(permit),
                Err(_) => break,
            }
        }
        // A fetch is not interrupted by shutdown: it ends within `fetch_wait`, and what it
        // brought is handled rather than left to time out on the server.
        match subscription.fetch(held.len(), options.fetch_wait).await {
            Ok(batch) => {
                for delivery in batch {
                    let Some(permit) = held.pop() else {
                        // A backend returned more than asked; leave the extra unacknowledged.
                        tracing::warn!(consumer = %spec.durable, "fetch returned more than requested");
                        break;
                    };
                    let key = delivery.ordering_key().unwrap_or(delivery.stream_sequence);
                    match lane.queues.offer(key, (delivery, permit), per_key) {
                        Offer::Queued => {}
                        Offer::Start => {
                            tracker.spawn(lane.clone().serve(key));
                        }
                        Offer::Full(held) => {
                            let (delivery, permit) = *held;
                            drop(permit);
                            lane.counters.over_cap.fetch_add(1, Ordering::Relaxed);
                            metrics::counter!("parley_bus_over_cap_total", "consumer" => spec.durable.clone())
                                .increment(1);
                            if let Err(error) = delivery.nak(options.over_cap_delay).await {
                                tracing::debug!(%error, "nak not sent; the delivery will come after the ack wait");
                            }
                        }
                    }
                }
            }
            Err(error) => {
                metrics::counter!("parley_bus_fetch_errors_total", "consumer" => spec.durable.clone())
                    .increment(1);
                tracing::warn!(consumer = %spec.durable, %error, "fetch failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(options.fetch_error_backoff) => {}
                }
            }
        }
    }

    // Nothing more is fetched: what the backend received ahead of a fetch goes back now.
    subscription.close().await;
    tracker.close();
    if tokio::time::timeout(options.drain_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(consumer = %spec.durable, "drain timed out; leaving the rest for redelivery");
        abandon.cancel();
        tracker.wait().await;
    }
    if let Err(error) = bus.flush().await {
        tracing::warn!(consumer = %spec.durable, %error, "flushing acknowledgements failed");
    }
    Ok(ConsumeReport {
        acked: counters.acked.load(Ordering::Relaxed),
        retried: counters.retried.load(Ordering::Relaxed),
        dead_lettered: counters.dead_lettered.load(Ordering::Relaxed),
        abandoned: counters.abandoned.load(Ordering::Relaxed),
        over_cap: counters.over_cap.load(Ordering::Relaxed),
    })
}

impl Lane {
    /// Serves one conversation's queue until it is empty, one delivery at a time, each
    /// under a worker permit.
    async fn serve(self: Arc<Self>, key: u64) {
        while let Some((delivery, permit)) = self.queues.next(key) {
            if self.abandon.is_cancelled() {
                self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
            } else {
                let worker = tokio::select! {
                    worker = self.workers.clone().acquire_owned() => worker.ok(),
                    _ = self.abandon.cancelled() => None,
                };
                match worker {
                    Some(_worker) => self.process(&delivery).await,
                    None => {
                        self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            drop(permit);
        }
    }

    async fn process(&self, delivery: &Delivery) {
        let span = tracing::info_span!(
            "process",
            otel.name = %format!("{} process", self.durable),
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.operation.type = "process",
            messaging.destination.name = %delivery.subject,
            messaging.consumer.group.name = %self.durable,
            messaging.message.id = delivery.msg_id().unwrap_or_default(),
            messaging.message.body.size = delivery.payload.len(),
            parley.attempt = delivery.attempt,
        );
        parley_telemetry::set_parent_from(&span, &delivery.headers);
        let started = Instant::now();
        let outcome = self
            .handle_with_progress(delivery)
            .instrument(span.clone())
            .await;
        metrics::histogram!("parley_bus_handle_seconds", "consumer" => self.durable.clone())
            .record(started.elapsed().as_secs_f64());
        let Some(outcome) = outcome else {
            self.counters.abandoned.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.settle(delivery, outcome).instrument(span).await;
    }

    /// Runs the handler, sending progress while it works; `None` when abandoned at the end
    /// of a timed-out drain. A panicking handler counts as a retryable failure.
    async fn handle_with_progress(&self, delivery: &Delivery) -> Option<Outcome> {
        let handling = AssertUnwindSafe(self.handler.handle(delivery)).catch_unwind();
        tokio::pin!(handling);
        let mut ticker = tokio::time::interval(self.progress_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                result = &mut handling => {
                    return Some(match result {
                        Ok(outcome) => outcome,
                        Err(_) => {
                            metrics::counter!("parley_bus_handler_panics_total", "consumer" => self.durable.clone())
                                .increment(1);
                            tracing::error!("handler panicked; releasing what it held and retrying");
                            let release = AssertUnwindSafe(self.handler.on_panic(delivery)).catch_unwind();
                            if release.await.is_err() {
                                tracing::error!("on_panic panicked too");
                            }
                            Outcome::Retry {
                                delay: Duration::from_secs(1),
                                reason: "handler panicked".into(),
                            }
                        }
                    });
                }
                _ = ticker.tick() => {
                    if let Err(error) = delivery.progress().await {
                        tracing::debug!(%error, "progress not sent");
                    }
                }
                _ = self.abandon.cancelled() => return None,
            }
        }
    }

    async fn settle(&self, delivery: &Delivery, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Retry { reason, .. } if delivery.attempt >= self.max_deliver => {
                Outcome::DeadLetter {
                    reason: format!("gave up after {} attempts: {reason}", delivery.attempt),
                }
            }
            other => other,
        };
        let label = match &outcome {
            Outcome::Ack => {
                if let Err(error) = delivery.ack().await {
                    tracing::warn!(%error, "ack not sent; the delivery will come again");
                }
                self.counters.acked.fetch_add(1, Ordering::Relaxed);
                "ack"
            }
            Outcome::Retry { delay, reason } => {
                tracing::info!(%reason, delay_ms = delay.as_millis() as u64, "retrying later");
                if let Err(error) = delivery.nak(*delay).await {
                    tracing::warn!(%error, "nak not sent; the delivery will come after the ack wait");
                }
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                "retry"
            }
            Outcome::DeadLetter { reason } => match self.dead_letter(delivery, reason).await {
                Ok(()) => {
                    self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    "dead_letter"
                }
                Err(error) => {
                    // Never drop a message that is not safely in the dead-letter stream.
                    tracing::warn!(%error, "dead letter not stored; retrying later");
                    if let Err(error) = delivery.nak(Duration::from_secs(1)).await {
                        tracing::warn!(%error, "nak not sent");
                    }
                    self.counters.retried.fetch_add(1, Ordering::Relaxed);
                    "retry"
                }
            },
        };
        metrics::counter!("parley_bus_handled_total", "consumer" => self.durable.clone(), "outcome" => label)
            .increment(1);
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<()> {
        tracing::error!(%reason, subject = %delivery.subject, "dead-lettering a delivery");
        let mut message = Outgoing::new(
            self.dead_letter_subject.clone(),
            format!("dl-{}-{}", self.durable, delivery.stream_sequence),
            delivery.event_type().unwrap_or("unknown").to_owned(),
            delivery.payload.clone(),
        );
        for (name, value) in delivery.headers.iter() {
            if name != header::MSG_ID {
                message.headers.insert(name, value);
            }
        }
        message.headers.insert(header::DEAD_REASON, reason);
        message
            .headers
            .insert(header::DEAD_SUBJECT, delivery.subject.clone());
        message
            .headers
            .insert(header::DEAD_CONSUMER, self.durable.clone());
        message
            .headers
            .insert(header::DEAD_ATTEMPTS, delivery.attempt.to_string());
        message.headers.insert(
            header::DEAD_STREAM_SEQUENCE,
            delivery.stream_sequence.to_string(),
        );
        self.bus.publish(message).await?;
        metrics::counter!("parley_bus_dead_letters_total", "consumer" => self.durable.clone())
            .increment(1);
        delivery.term().await
    }
}
