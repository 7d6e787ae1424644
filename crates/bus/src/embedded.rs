//! The in-process bus for `parley up` and unit tests.
//!
//! It keeps JetStream's semantics that Parley relies on: streams capture subjects, a
//! `Nats-Msg-Id` seen within the duplicate window is not stored again, durable consumers
//! deliver in stream order with explicit ack, redeliver after the ack wait or a NAK delay,
//! count attempts, and honour progress and terminate. Messages live in memory only and are
//! pruned by age and once every consumer of their stream has settled them.
//!
//! A publish does work in proportion to what expired, not to what is stored: it prunes only
//! its own stream, de-duplication ids leave in the order they came, settled messages are
//! dropped at most every 100 ms, and only that stream's consumers are woken. One
//! lock still guards the whole bus; it is held for map operations only, never across an
//! await.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::Notify;

use crate::{
    Acker, Bus, ConsumerSpec, Delivery, Error, Headers, Outgoing, Published, Result, StoredMessage,
    StreamSpec, Subscription, Topology, subject_matches,
};

/// The in-process bus. Cheap to clone; clones share the same streams.
#[derive(Clone, Default)]
pub struct EmbeddedBus {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
}

/// How often a stream drops the messages every consumer settled.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_millis(100);

#[derive(Default)]
struct State {
    streams: HashMap<String, StreamState>,
    consumers: HashMap<String, ConsumerState>,
}

struct StreamState {
    spec: StreamSpec,
    next_sequence: u64,
    messages: BTreeMap<u64, Stored>,
    recent_ids: HashMap<String, (u64, Instant)>,
    /// `recent_ids` in the order they were stored, for expiry from the front.
    recent_order: VecDeque<(Instant, String)>,
    pruned_at: Option<Instant>,
    /// Woken when the stream has something new for its consumers.
    changed: Arc<Notify>,
}

struct Stored {
    subject: String,
    headers: Headers,
    payload: Bytes,
    stored_at: Instant,
}

struct ConsumerState {
    spec: ConsumerSpec,
    /// The next stream sequence never delivered.
    cursor: u64,
    /// Delivered, not yet settled: sequence → pending entry.
    pending: BTreeMap<u64, Pending>,
}

struct Pending {
    attempts: u32,
    due: Instant,
}

impl EmbeddedBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the state is still consistent
        // (every mutation is completed before anything can panic), so keep going.
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    /// Expires `name`'s de-duplication ids past the window and, at most every
    /// [`PRUNE_EVERY`], drops the messages every consumer of it settled or that outlived the
    /// stream's age.
    fn prune(&mut self, name: &str, now: Instant) {
        let due = self.streams.get(name).is_some_and(|s| {
            s.pruned_at
                .is_none_or(|at| now.duration_since(at) >= PRUNE_EVERY)
        });
        let settled_below = due.then(|| {
            self.consumers
                .values()
                .filter(|c| c.spec.stream == name)
                .map(|c| c.pending.keys().next().copied().unwrap_or(c.cursor))
                .min()
                .unwrap_or(0)
        });
        let Some(stream) = self.streams.get_mut(name) else {
            return;
        };
        let horizon = now.checked_sub(stream.spec.duplicate_window);
        while let Some((at, _)) = stream.recent_order.front() {
            if horizon.is_none_or(|h| *at >= h) {
                break;
            }
            if let Some((at, id)) = stream.recent_order.pop_front()
                && stream.recent_ids.get(&id).is_some_and(|(_, t)| *t == at)
            {
                stream.recent_ids.remove(&id);
            }
        }
        let Some(settled_below) = settled_below else {
            return;
        };
        stream.pruned_at = Some(now);
        let too_old = now.checked_sub(stream.spec.max_age);
        while let Some((&seq, stored)) = stream.messages.first_key_value() {
            let expired = too_old.is_some_and(|t| stored.stored_at < t);
            if seq < settled_below || expired {
                stream.messages.remove(&seq);
            } else {
                break;
            }
        }
    }

    /// The notifier of the stream `durable` reads.
    fn changed_of(&self, durable: &str) -> Option<Arc<Notify>> {
        let consumer = self.consumers.get(durable)?;
        Some(self.streams.get(&consumer.spec.stream)?.changed.clone())
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn ensure(&self, topology: &Topology) -> Result<()> {
        let mut state = self.lock();
        for spec in &topology.streams {
            match state.streams.get_mut(&spec.name) {
                Some(existing) => existing.spec = spec.clone(),
                None => {
                    state.streams.insert(
                        spec.name.clone(),
                        StreamState {
                            spec: spec.clone(),
                            next_sequence: 1,
                            messages: BTreeMap::new(),
                            recent_ids: HashMap::new(),
                            recent_order: VecDeque::new(),
                            pruned_at: None,
                            changed: Arc::new(Notify::new()),
                        },
                    );
                }
            }
        }
        for spec in &topology.consumers {
            if !state.streams.contains_key(&spec.stream) {
                return Err(Error::Topology {
                    what: format!("consumer {}", spec.durable),
                    reason: format!("stream {} does not exist", spec.stream),
                });
            }
            match state.consumers.get_mut(&spec.durable) {
                Some(existing) => existing.spec = spec.clone(),
                None => {
                    // Like a durable created with "deliver all": starts at the stream's
                    // oldest retained message.
                    let cursor = state
                        .streams
                        .get(&spec.stream)
                        .and_then(|s| s.messages.keys().next().copied())
                        .unwrap_or(1);
                    state.consumers.insert(
                        spec.durable.clone(),
                        ConsumerState {
                            spec: spec.clone(),
                            cursor,
                            pending: BTreeMap::new(),
                        },
                    );
                }
            }
        }
        Ok(())
    }

    async fn publish(&self, message: Outgoing) -> Result<Published> {
        let headers = message.wire_headers();
        let now = Instant::now();
        let (published, changed) = {
            let mut state = self.lock();
            let name = state
                .streams
                .values()
                .find(|s| {
                    s.spec
                        .subjects
                        .iter()
                        .any(|f| subject_matches(f, &message.subject))
                })
                .map(|s| s.spec.name.clone())
                .ok_or_else(|| Error::NoStream(message.subject.clone()))?;
            state.prune(&name, now);
            let stream = state
                .streams
                .get_mut(&name)
                .ok_or_else(|| Error::NoStream(message.subject.clone()))?;
            let published = if let Some((sequence, _)) = stream.recent_ids.get(&message.msg_id) {
                Published {
                    stream: stream.spec.name.clone(),
                    sequence: *sequence,
                    duplicate: true,
                }
            } else {
                let sequence = stream.next_sequence;
                stream.next_sequence += 1;
                stream
                    .recent_ids
                    .insert(message.msg_id.clone(), (sequence, now));
                stream.recent_order.push_back((now, message.msg_id.clone()));
                stream.messages.insert(
                    sequence,
                    Stored {
                        subject: message.subject.clone(),
                        headers,
                        payload: message.payload.clone(),
                        stored_at: now,
                    },
                );
                Published {
                    stream: stream.spec.name.clone(),
                    sequence,
                    duplicate: false,
                }
            };
            (published, stream.changed.clone())
        };
        if !published.duplicate {
            changed.notify_waiters();
        }
        crate::backend::record_published(&published);
        Ok(published)
    }

    async fn subscribe(&self, consumer: &ConsumerSpec) -> Result<Box<dyn Subscription>> {
        if !self.lock().consumers.contains_key(&consumer.durable) {
            return Err(Error::NoConsumer(consumer.durable.clone()));
        }
        Ok(Box::new(EmbeddedSubscription {
            bus: self.clone(),
            durable: consumer.durable.clone(),
        }))
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }

    async fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<StoredMessage>> {
        let state = self.lock();
        let stored = state
            .streams
            .get(stream)
            .ok_or_else(|| Error::NoStream(stream.to_owned()))?;
        Ok(stored
            .messages
            .range(from..)
            .take(max)
            .map(|(&sequence, m)| StoredMessage {
                sequence,
                subject: m.subject.clone(),
                headers: m.headers.clone(),
                payload: m.payload.clone(),
            })
            .collect())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

struct EmbeddedSubscription {
    bus: EmbeddedBus,
    durable: String,
}

impl EmbeddedSubscription {
    /// Takes what is due now; otherwise returns when the next redelivery is due.
    fn take_due(&self, max: usize, now: Instant) -> Result<(Vec<Delivery>, Option<Instant>)> {
        let mut guard = self.bus.lock();
        let state = &mut *guard;
        let consumer = state
            .consumers
            .get_mut(&self.durable)
            .ok_or_else(|| Error::NoConsumer(self.durable.clone()))?;
        let stream = state
            .streams
            .get(&consumer.spec.stream)
            .ok_or_else(|| Error::NoStream(consumer.spec.stream.clone()))?;
        let ack_wait = consumer.spec.ack_wait;
        let mut out = Vec::new();
        let mut next_due = None::<Instant>;
        let mut vanished = Vec::new();
        for (&sequence, pending) in consumer.pending.iter_mut() {
            if out.len() >= max {
                break;
            }
            if pending.due > now {
                next_due = Some(next_due.map_or(pending.due, |d| d.min(pending.due)));
                continue;
            }
            let Some(stored) = stream.messages.get(&sequence) else {
                vanished.push(sequence);
                continue;
            };
            pending.attempts += 1;
            pending.due = now + ack_wait;
            out.push(self.delivery(sequence, stored, pending.attempts));
        }
        for sequence in vanished {
            consumer.pending.remove(&sequence);
        }
        while out.len() < max {
            let Some((&sequence, stored)) = stream.messages.range(consumer.cursor..).next() else {
                break;
            };
            consumer.cursor = sequence + 1;
            if !subject_matches(&consumer.spec.filter_subject, &stored.subject) {
                continue;
            }
            consumer.pending.insert(
                sequence,
                Pending {
                    attempts: 1,
                    due: now + ack_wait,
                },
            );
            out.push(self.delivery(sequence, stored, 1));
        }
        if !out.is_empty() {
            // The earliest new due time matters only when nothing was taken.
            next_due = None;
        }
        Ok((out, next_due))
    }

    fn delivery(&self, sequence: u64, stored: &Stored, attempts: u32) -> Delivery {
        Delivery::new(
            stored.subject.clone(),
            stored.headers.clone(),
            stored.payload.clone(),
            attempts,
            sequence,
            Box::new(EmbeddedAcker {
                bus: self.bus.clone(),
                durable: self.durable.clone(),
                sequence,
                attempt: attempts,
            }),
        )
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register interest before looking, so a publish between the look and the wait
            // is not missed.
            let notify = self
                .bus
                .lock()
                .changed_of(&self.durable)
                .ok_or_else(|| Error::NoConsumer(self.durable.clone()))?;
            let changed = notify.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (batch, next_due) = self.take_due(max.max(1), Instant::now())?;
            if !batch.is_empty() {
                return Ok(batch);
            }
            let mut wake = deadline;
            if let Some(due) = next_due {
                let due = tokio::time::Instant::from_std(due);
                wake = wake.min(due);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    fn durable(&self) -> &str {
        &self.durable
    }
}

struct EmbeddedAcker {
    bus: EmbeddedBus,
    durable: String,
    sequence: u64,
    attempt: u32,
}

impl EmbeddedAcker {
    /// Applies `change` to this delivery's pending entry if it is still the current attempt
    /// (a late NAK or progress from an earlier attempt must not disturb a newer one; a late
    /// ACK is honoured, as JetStream does).
    fn with_pending(
        &self,
        any_attempt: bool,
        change: impl FnOnce(&mut BTreeMap<u64, Pending>, u64),
    ) {
        let mut state = self.bus.lock();
        if let Some(consumer) = state.consumers.get_mut(&self.durable) {
            let current = consumer
                .pending
                .get(&self.sequence)
                .is_some_and(|p| any_attempt || p.attempts == self.attempt);
            if current {
                change(&mut consumer.pending, self.sequence);
            }
        }
    }
}

#[async_trait]
impl Acker for EmbeddedAcker {
    async fn ack(&self) -> Result<()> {
        self.with_pending(true, |pending, seq| {
            pending.remove(&seq);
        });
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> Result<()> {
        self.with_pending(false, |pending, seq| {
            if let Some(p) = pending.get_mut(&seq) {
                p.due = Instant::now() + delay;
            }
        });
        if let Some(changed) = self.bus.lock().changed_of(&self.durable) {
            changed.notify_waiters();
        }
        Ok(())
    }

    async fn progress(&self) -> Result<()> {
        let ack_wait = {
            let state = self.bus.lock();
            state.consumers.get(&self.durable).map(|c| c.spec.ack_wait)
        };
        if let Some(ack_wait) = ack_wait {
            self.with_pending(false, |pending, seq| {
                if let Some(p) = pending.get_mut(&seq) {
                    p.due = Instant::now() + ack_wait;
                }
            });
        }
        Ok(())
    }

    async fn term(&self) -> Result<()> {
        self.with_pending(true, |pending, seq| {
            pending.remove(&seq);
        });
        Ok(())
    }
}
