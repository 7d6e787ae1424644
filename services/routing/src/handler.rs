//! The consumers' handlers, and applying one input to a conversation: gate, load, reduce,
//! publish the effects (`effects`), compare-and-set, then the agent pool.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use parley_bus::{Bus, Delivery, Handler, Namespace, Outcome};
use parley_proto::{
    Event as _,
    v1::{
        AgentTask, AssignmentEndReason, CloseReason, ConversationKey as KeyProto,
        ConversationState, DeclinedBy, InboundMessage, LifecycleState, OrderingKind,
        OrderingNotice, ResolutionReason, RoutingCommand, agent_task, inbound_message,
        routing_command, transfer_conversation,
    },
};
use parley_runtime::ordered::{self, Admission};
use parley_state::{
    AgentPool, CasOutcome, Commit, CommitOutcome, ConversationStore, Declined, GateRead,
    QueueEntry, Versioned,
};
use parley_types::{BusinessId, ConversationKey, EventId, PartitionCount, Sequence};
use prost::Message as _;

use crate::{
    config::RoutingConfig,
    effects::effect_ids,
    lifecycle::{Context, Conversation, Effect, EndReason, Ignored, Input, TransferTarget, reduce},
    outbox::{self, Outbox, OutboxEvent},
    rules::{DEFAULT_DECLINE_COOLDOWN, Rules},
};

/// The gate stage of routing.
pub const STAGE_ROUTING: &str = "routing";
/// The store scope of routing command ids already applied.
const SCOPE_COMMANDS: &str = "routing-commands";
/// The id of the (single, logical) bot.
pub(crate) const BOT_ID: &str = "bot";

pub(crate) type Failure = String;

/// Everything the handlers and the assignment loop share.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn ConversationStore>,
    pub(crate) pool: Arc<dyn AgentPool>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) namespace: Namespace,
    pub(crate) partitions: PartitionCount,
    pub(crate) config: RoutingConfig,
    pub(crate) default_rules: Rules,
    pub(crate) businesses: Vec<BusinessId>,
    pub(crate) dedup_ttl: Duration,
    /// Pool holdings that disagree with the conversation's state, with when first seen.
    pub(crate) mismatches: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// What caused an input.
pub(crate) struct Cause<'a> {
    pub(crate) event_id: EventId,
    /// The customer's message, for inbound inputs.
    pub(crate) inbound: Option<&'a InboundMessage>,
    /// The inbound sequence (inbound inputs only).
    pub(crate) sequence: Option<u64>,
    /// The inbound event arrived after later ones were applied (a late arrival, a replayed
    /// dead letter): it is applied all the same, and leaves the newer facts alone.
    pub(crate) late: bool,
    /// The input comes from a consumer, so it is delivered again until acknowledged (an
    /// inbound message, a routing command). The tick's own decisions are not: nothing would
    /// republish their outbox after a crash, so they publish before the write (see
    /// [`Shared::process`]).
    pub(crate) redelivered: bool,
    /// What the command says besides its input, if anything.
    pub(crate) told: Told<'a>,
    /// Where the input's own outbox, once published, is recorded for the caller to mark
    /// done with the gate's completion (one store call); `None`: marked done by a separate
    /// write that nothing waits for.
    pub(crate) outbox_done: Option<&'a std::sync::OnceLock<String>>,
    /// The state and outbox fields the gate's claim read (`ordered::admit_reading`), used
    /// for the first try instead of a read of its own; a later try (after a conflict) reads
    /// again.
    pub(crate) preloaded: Option<&'a Preloaded>,
}

/// What [`Cause::preloaded`] holds until the first try takes it.
pub(crate) type Preloaded = std::sync::Mutex<Option<(Option<Versioned>, Vec<Option<String>>)>>;

/// The fields routing reads with its state.
const LOADED_FIELDS: [&str; 3] = [outbox::FIELD, outbox::SEQUENCES, outbox::DONE];

/// What a command says besides its input: for the agent who takes the conversation next,
/// the bot's summary when it escalates and the note of a transfer (`None`: the command says
/// nothing of it, what was said before stays); who declined it; and an agent's wrap-up of
/// a resolution, which the `Resolved` event carries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Told<'a> {
    pub(crate) summary: Option<&'a str>,
    pub(crate) note: Option<&'a str>,
    /// The agent who declined the conversation (a decline): the pool passes it over for
    /// the queue's decline cool-down.
    pub(crate) declined_by: Option<&'a str>,
    /// The business's outcome code of a resolution (the wrap-up code), if given.
    pub(crate) resolution_code: Option<&'a str>,
    /// The agent's note on a resolution, if given.
    pub(crate) resolution_note: Option<&'a str>,
}

/// What [`Shared::process`] did.
#[derive(Debug)]
pub(crate) enum Processed {
    /// The new state is stored.
    Applied {
        /// Queues that gained a conversation.
        enqueued: Vec<String>,
        /// An agent's capacity was freed.
        released: bool,
    },
    /// The input changed nothing.
    Ignored(Ignored),
    /// This inbound sequence was applied already.
    AlreadyApplied,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

pub(crate) fn timestamp_ms(ms: u64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

pub(crate) fn ms_of(ts: Option<&prost_types::Timestamp>) -> u64 {
    ts.map_or(0, |t| {
        u64::try_from(t.seconds)
            .unwrap_or(0)
            .saturating_mul(1000)
            .saturating_add(u64::try_from(t.nanos).unwrap_or(0) / 1_000_000)
    })
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The reducer's view of a stored state.
pub(crate) fn to_conversation(state: &ConversationState) -> Conversation {
    let lifecycle =
        LifecycleState::try_from(state.lifecycle).unwrap_or(LifecycleState::Unspecified);
    Conversation {
        state: lifecycle,
        intent: state.intent.clone(),
        group: state.group.clone(),
        queue: non_empty(&state.queue),
        agent: non_empty(&state.assigned_agent_id),
        with_bot: lifecycle == LifecycleState::WithBot,
        reopen_count: state.reopen_count,
    }
}

pub(crate) fn key_proto(key: &ConversationKey) -> KeyProto {
    parley_wire::meta::conversation_key(key)
}

pub(crate) fn end_reason(reason: EndReason) -> AssignmentEndReason {
    match reason {
        EndReason::Escalated | EndReason::Transferred => AssignmentEndReason::Transferred,
        EndReason::CustomerClosed => AssignmentEndReason::ClosedByCustomer,
        EndReason::Resolved => AssignmentEndReason::Resolved,
        EndReason::Lost => AssignmentEndReason::NoReply,
        EndReason::ReturnedToBot => AssignmentEndReason::ReturnedToBot,
        EndReason::Closed => AssignmentEndReason::Closed,
    }
}

/// The reducer's input for a customer's message, if it is one routing acts on.
fn inbound_input(event: &InboundMessage) -> Option<Input> {
    let message = |text: String| Input::CustomerMessage {
        text,
        intent: event.intent.clone(),
        group: event.group.clone(),
    };
    match event.kind.as_ref()? {
        inbound_message::Kind::Text(text) => Some(message(text.body.clone())),
        inbound_message::Kind::InteractiveReply(_) | inbound_message::Kind::Reaction(_) => {
            Some(message(String::new()))
        }
        inbound_message::Kind::Close(_) => Some(Input::CustomerClose),
        inbound_message::Kind::TypingStart(_) | inbound_message::Kind::TypingEnd(_) => None,
    }
}

impl Shared {
    pub(crate) fn rules(&self, business: &BusinessId) -> &Rules {
        self.config
            .rules
            .get(business)
            .unwrap_or(&self.default_rules)
    }

    /// Loads (publishing what the conversation's last input left unpublished), reduces,
    /// stores the new state with its events and transcript line in one atomic step
    /// (retrying on a conflict, which leaves nothing anywhere), publishes the events, then
    /// updates the agent pool.
    pub(crate) async fn process(
        &self,
        key: &ConversationKey,
        input: &Input,
        cause: &Cause<'_>,
    ) -> Result<Processed, Failure> {
        let rules = self.rules(&key.business);
        for _ in 0..20 {
            let preloaded = cause
                .preloaded
                .and_then(|slot| slot.lock().ok().and_then(|mut slot| slot.take()));
            let (loaded, fields) = match preloaded {
                Some(read) => read,
                None => self
                    .store
                    .load_with_fields(key, &LOADED_FIELDS)
                    .await
                    .map_err(|e| format!("load: {e}"))?,
            };
            if let Some(stored) = outbox::stored(&fields)? {
                // A crash between the last input's write and its publishes: publish them
                // now, before anything newer, under the same ids and numbers.
                if !stored.published {
                    self.publish_outbox(key, &stored.outbox, &stored.sequences)
                        .await?;
                }
                // This input is the one stored last (a redelivery): nothing more to do.
                if stored.outbox.cause == cause.event_id.as_str() {
                    return Ok(Processed::AlreadyApplied);
                }
            }
            let (version, state) = match loaded {
                Some(v) => (
                    v.version,
                    ConversationState::decode(v.state.as_ref())
                        .map_err(|e| format!("stored state: {e}"))?,
                ),
                None => (
                    0,
                    ConversationState {
                        key: Some(key_proto(key)),
                        partition: self.partitions.of(key).get(),
                        created_at: Some(timestamp_ms(now_ms())),
                        ..ConversationState::default()
                    },
                ),
            };
            // A redelivery of an input applied before a later one. A late event is below the
            // mark by nature; its copies are told apart by the gate (it stays a hole until
            // completed) and by the outbox's cause.
            if let Some(sequence) = cause.sequence
                && sequence <= state.last_inbound_sequence
                && !cause.late
            {
                return Ok(Processed::AlreadyApplied);
            }
            let now = now_ms();
            let ctx = Context {
                rules,
                now_utc_seconds: i64::try_from(now / 1000).unwrap_or(i64::MAX),
            };
            let outcome = reduce(&to_conversation(&state), input, &ctx);
            if let Some(why) = outcome.ignored
                && cause.sequence.is_none()
            {
                return Ok(Processed::Ignored(why));
            }
            // Routing is the one writer of the customer's side of the transcript (outbound
            // writes the business's): a typed entry, never the encoded event (which holds the
            // opaque id and Apple's raw JSON), stored with the state, so once.
            let transcript = cause
                .inbound
                .filter(|_| matches!(input, Input::CustomerMessage { .. } | Input::CustomerClose))
                .and_then(|event| {
                    let at = event
                        .meta
                        .as_ref()
                        .and_then(|m| m.occurred_at)
                        .unwrap_or_else(|| timestamp_ms(now_ms()));
                    parley_wire::transcript::from_inbound(event, at)
                })
                .map(|entry| entry.encode_to_vec().into());
            let next = self.next_state(key, &state, &outcome.conversation, version, now, cause);
            let place = self.place_in_queue(key, &outcome.effects, &next).await?;
            let mut events: Vec<OutboxEvent> = outcome
                .effects
                .iter()
                .zip(effect_ids(&cause.event_id, &outcome.effects))
                .filter_map(|(effect, id)| self.build_effect(key, effect, &id, cause, &next, place))
                .collect();
            if let Some(place) = place {
                events.extend(self.position_notice(key, &next, cause, place));
            }
            let outbox = Outbox {
                cause: cause.event_id.to_string(),
                events,
            };
            let commit = Commit {
                expected: version,
                state: next.encode_to_vec().into(),
                allocate: outbox.counters(),
                sequences_field: Some(outbox::SEQUENCES),
                fields: vec![(outbox::FIELD, outbox.to_field())],
                transcript,
            };
            if cause.redelivered {
                let sequences = match self
                    .store
                    .commit(key, commit)
                    .await
                    .map_err(|e| format!("commit: {e}"))?
                {
                    CommitOutcome::Conflict { .. } => continue,
                    CommitOutcome::Applied { sequences, .. } => sequences,
                };
                // A failure here is retried: the redelivery finds the outbox not done.
                match cause.outbox_done {
                    Some(done) => {
                        self.publish_events(key, &outbox, &sequences).await?;
                        let _ = done.set(outbox.cause.clone());
                    }
                    None => self.publish_outbox(key, &outbox, &sequences).await?,
                }
            } else {
                // Nothing redelivers the tick's decision: its events are published before the
                // write, numbered idempotently by their ids (a retry after a crash or a lost
                // race republishes the same events, which the streams drop), and the write
                // stores no outbox.
                let mut sequences = Vec::new();
                for event in outbox.events.iter().filter(|e| !e.counter.is_empty()) {
                    sequences.push(
                        self.store
                            .allocate_sequence(key, &event.counter, Some(&event.id))
                            .await
                            .map_err(|e| format!("allocate sequence: {e}"))?,
                    );
                }
                self.publish_events(key, &outbox, &sequences).await?;
                let commit = Commit {
                    allocate: Vec::new(),
                    sequences_field: None,
                    fields: Vec::new(),
                    ..commit
                };
                match self
                    .store
                    .commit(key, commit)
                    .await
                    .map_err(|e| format!("commit: {e}"))?
                {
                    CommitOutcome::Conflict { .. } => continue,
                    CommitOutcome::Applied { .. } => {}
                }
            }
            if let Some(why) = outcome.ignored {
                return Ok(Processed::Ignored(why));
            }
            return self.update_pool(key, &outcome.effects, &next).await;
        }
        Err("too many conflicting writes".into())
    }

    pub(crate) fn next_state(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
        conv: &Conversation,
        version: u64,
        now: u64,
        cause: &Cause<'_>,
    ) -> ConversationState {
        let mut next = state.clone();
        let at = Some(timestamp_ms(now));
        if next.lifecycle != conv.state as i32 {
            next.state_entered_at = at;
            if matches!(
                conv.state,
                LifecycleState::ClosedByCustomer | LifecycleState::Resolved
            ) {
                next.ended_at = at;
            }
            if conv.state != LifecycleState::Assigned {
                next.assignment_id.clear();
            }
        }
        next.lifecycle = conv.state as i32;
        next.intent.clone_from(&conv.intent);
        next.group.clone_from(&conv.group);
        next.queue = conv.queue.clone().unwrap_or_default();
        next.skills = conv
            .queue
            .as_deref()
            .and_then(|q| self.rules(&key.business).queue(q))
            .map(|q| q.skills().to_vec())
            .unwrap_or_default();
        let agent = conv.agent.clone().unwrap_or_default();
        // The hand-off context lives while people have the conversation (queued or
        // assigned) and goes when it leaves them (the bot, resolved, closed).
        if matches!(
            conv.state,
            LifecycleState::Queued | LifecycleState::Assigned
        ) {
            if let Some(summary) = cause.told.summary {
                next.handoff_summary = summary.to_owned();
            }
            if let Some(note) = cause.told.note {
                next.handoff_note = note.to_owned();
            }
            if agent != next.assigned_agent_id && !next.assigned_agent_id.is_empty() {
                next.previous_agent_id.clone_from(&next.assigned_agent_id);
            }
            next.declined.retain(|d| {
                ms_of(d.until.as_ref()) > now && Some(d.agent_id.as_str()) != cause.told.declined_by
            });
            if let Some(agent) = cause.told.declined_by
                && conv.state == LifecycleState::Queued
            {
                let cooldown = conv
                    .queue
                    .as_deref()
                    .and_then(|q| self.rules(&key.business).queue(q))
                    .map_or(DEFAULT_DECLINE_COOLDOWN, |q| q.decline_cooldown());
                let until =
                    now.saturating_add(u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX));
                next.declined.push(DeclinedBy {
                    agent_id: agent.to_owned(),
                    until: Some(timestamp_ms(until)),
                });
            }
        } else {
            next.handoff_summary.clear();
            next.handoff_note.clear();
            next.previous_agent_id.clear();
            next.declined.clear();
        }
        if agent != next.assigned_agent_id {
            next.state_entered_at = at;
            next.assignment_id = if agent.is_empty() {
                String::new()
            } else {
                format!("{agent}@{}-{version}", cause.event_id)
            };
        }
        next.assigned_agent_id = agent;
        next.bot_id = if conv.with_bot {
            BOT_ID.to_owned()
        } else {
            String::new()
        };
        next.reopen_count = conv.reopen_count;
        next.version = version + 1;
        next.updated_at = at;
        // Only the transcript and the lifecycle learn of a late message; the newer message's
        // facts (sequence mark, locale, device, time) stay.
        if let Some(event) = cause.inbound
            && !cause.late
        {
            if let Some(sequence) = cause.sequence {
                next.last_inbound_sequence = sequence.max(next.last_inbound_sequence);
            }
            if !matches!(event.kind, Some(inbound_message::Kind::Close(_))) {
                next.last_customer_message_at = at;
            }
            if event.capabilities.is_some() {
                next.capabilities.clone_from(&event.capabilities);
            }
            if event.locale.is_some() {
                next.locale.clone_from(&event.locale);
            }
            if event.device_agent.is_some() {
                next.device_agent.clone_from(&event.device_agent);
            }
        }
        next
    }

    /// The pool's side of the effects, once the state is stored. A conversation whose state
    /// is queued is (idempotently) queued in the pool, also when redelivered.
    pub(crate) async fn update_pool(
        &self,
        key: &ConversationKey,
        effects: &[Effect],
        next: &ConversationState,
    ) -> Result<Processed, Failure> {
        let business = key.business.as_str();
        let tag = key.opaque.as_str();
        let mut released = false;
        for effect in effects {
            match effect {
                Effect::Dequeue { queue } => {
                    self.pool
                        .dequeue(business, queue, tag)
                        .await
                        .map_err(|e| format!("dequeue: {e}"))?;
                }
                Effect::ReleaseAgent { agent, .. } => {
                    self.pool
                        .release(business, agent, tag)
                        .await
                        .map_err(|e| format!("release: {e}"))?;
                    released = true;
                }
                _ => {}
            }
        }
        let mut enqueued = Vec::new();
        if next.lifecycle == LifecycleState::Queued as i32 {
            self.enqueue(key, next).await?;
            enqueued.push(next.queue.clone());
        }
        Ok(Processed::Applied { enqueued, released })
    }

    /// The 1-based place a conversation entering a queue gets there (the pool's order:
    /// priority, then age), if `effects` enqueue it.
    async fn place_in_queue(
        &self,
        key: &ConversationKey,
        effects: &[Effect],
        next: &ConversationState,
    ) -> Result<Option<u32>, Failure> {
        if !effects
            .iter()
            .any(|e| matches!(e, Effect::Enqueue { queue, .. } if *queue == next.queue))
        {
            return Ok(None);
        }
        let Some(entry) = self.queue_entry(key, next) else {
            return Ok(None);
        };
        let ahead = self
            .pool
            .places_ahead(key.business.as_str(), &next.queue, &entry)
            .await
            .map_err(|e| format!("queue position: {e}"))?;
        Ok(Some(u32::try_from(ahead + 1).unwrap_or(u32::MAX)))
    }

    /// The notice telling a customer who just entered an open queue their place in it (a
    /// closed queue tells its hours instead), for the outbox, under an id derived from the
    /// cause.
    fn position_notice(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
        cause: &Cause<'_>,
        place: u32,
    ) -> Option<OutboxEvent> {
        let queue = self.rules(&key.business).queue(&state.queue)?;
        if !queue.is_open(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX)) {
            return None;
        }
        let id = cause
            .event_id
            .derived(&format!("{STAGE_ROUTING}.position.{}", queue.name()), 0);
        Some(self.customer_notice(key, &id, cause, queue.waiting_message(place as usize)))
    }

    /// The pool entry of a conversation whose state is queued.
    fn queue_entry(&self, key: &ConversationKey, state: &ConversationState) -> Option<QueueEntry> {
        let queue = self.rules(&key.business).queue(&state.queue)?;
        Some(QueueEntry {
            conversation: key.opaque.as_str().to_owned(),
            priority: i32::try_from(queue.priority()).unwrap_or(i32::MAX),
            enqueued_at_ms: ms_of(state.state_entered_at.as_ref()),
            required_skills: queue.skills().to_vec(),
            declined: state
                .declined
                .iter()
                .map(|d| Declined {
                    agent_id: d.agent_id.clone(),
                    until_ms: ms_of(d.until.as_ref()),
                })
                .collect(),
        })
    }

    pub(crate) async fn enqueue(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
    ) -> Result<(), Failure> {
        let Some(entry) = self.queue_entry(key, state) else {
            return Ok(());
        };
        self.pool
            .enqueue(key.business.as_str(), &state.queue, &entry)
            .await
            .map_err(|e| format!("enqueue: {e}"))?;
        Ok(())
    }

    /// Runs the follow-ups of a processed input: assignment (in priority order) when a
    /// queue gained a conversation or capacity was freed.
    pub(crate) async fn follow_up(
        &self,
        business: &BusinessId,
        processed: &Processed,
    ) -> Result<(), Failure> {
        if let Processed::Applied { enqueued, released } = processed
            && (*released || !enqueued.is_empty())
        {
            self.assign_business(business).await?;
        }
        Ok(())
    }

    /// One inbound event.
    pub(crate) async fn handle_inbound(&self, event: &InboundMessage) -> Outcome {
        let Some(meta) = event.meta.as_ref() else {
            return dead("the event has no meta");
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return dead("the event names no conversation");
        };
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return dead("the event's conversation key is invalid");
        };
        let Ok(event_id) = EventId::new(meta.event_id.clone()) else {
            return dead("the event has no valid id");
        };
        let Ok(sequence) = Sequence::new(meta.sequence) else {
            return dead("the event has no sequence");
        };
        let read = GateRead {
            state: true,
            fields: &LOADED_FIELDS,
            remembered: None,
        };
        let (admission, readout) = ordered::admit_reading(
            &*self.store,
            &key,
            STAGE_ROUTING,
            sequence,
            &self.config.gate,
            &read,
        )
        .await;
        let preloaded: Preloaded = std::sync::Mutex::new(Some((readout.state, readout.fields)));
        let claim = match admission {
            Admission::Proceed(claim) => claim,
            Admission::Settle(outcome) => {
                if matches!(outcome, Outcome::DeadLetter { .. }) {
                    let attempts = self.config.gate.max_attempts;
                    self.notice(
                        &key,
                        &event_id,
                        sequence,
                        OrderingKind::DeadLettered,
                        attempts,
                    )
                    .await
                    .unwrap_or_else(
                        |error| tracing::warn!(%error, "ordering notice not published"),
                    );
                }
                return outcome;
            }
        };
        for skipped in claim.skipped.iter().flat_map(|s| s.sequences()) {
            self.notice(&key, &event_id, skipped, OrderingKind::Skipped, 0)
                .await
                .unwrap_or_else(|error| tracing::warn!(%error, "ordering notice not published"));
        }
        if claim.late {
            // Told before it is applied, so a subscriber never sees its effects unexplained.
            if let Err(error) = self
                .notice(
                    &key,
                    &event_id,
                    sequence,
                    OrderingKind::AppliedLate,
                    claim.attempt,
                )
                .await
            {
                let retry = retry(Duration::from_millis(500), error);
                return ordered::finish(&*self.store, &key, claim, &self.config.gate, retry).await;
            }
        }
        let outbox_done = std::sync::OnceLock::new();
        let result = match inbound_input(event) {
            None => self
                .forward_typing(&key, event, &event_id, meta.sequence)
                .await
                .map(|()| Processed::AlreadyApplied),
            Some(input) => {
                let cause = Cause {
                    event_id: event_id.clone(),
                    inbound: Some(event),
                    sequence: Some(meta.sequence),
                    late: claim.late,
                    redelivered: true,
                    told: Told::default(),
                    outbox_done: Some(&outbox_done),
                    preloaded: Some(&preloaded),
                };
                self.process(&key, &input, &cause).await
            }
        };
        match result {
            Ok(processed) => {
                // The outbox this message stored, published: marked done with the gate's
                // completion, in one store call.
                let done: Vec<(&str, &str)> = outbox_done
                    .get()
                    .map(|cause| (outbox::DONE, cause.as_str()))
                    .into_iter()
                    .collect();
                let outcome = ordered::finish_recording(
                    &*self.store,
                    &key,
                    claim,
                    &self.config.gate,
                    Outcome::Ack,
                    &done,
                )
                .await;
                if outcome != Outcome::Ack {
                    return outcome;
                }
                if let Err(error) = self.follow_up(&key.business, &processed).await {
                    // The tick retries the assignment.
                    tracing::warn!(%error, "assignment after an inbound message failed");
                }
                Outcome::Ack
            }
            Err(error) => {
                let retry = retry(Duration::from_millis(500), error);
                ordered::finish(&*self.store, &key, claim, &self.config.gate, retry).await
            }
        }
    }

    /// Publishes an [`OrderingNotice`] on `amb.events.ordering.<partition>`: `sequence` of
    /// the conversation was skipped, applied late or dead-lettered, as seen while handling
    /// the event `cause` (its id derives the notice's, so a redelivery publishes the same).
    async fn notice(
        &self,
        key: &ConversationKey,
        cause: &EventId,
        sequence: Sequence,
        kind: OrderingKind,
        attempts: u32,
    ) -> Result<(), Failure> {
        metrics::counter!("parley_routing_ordering_notices_total", "kind" => kind.as_str_name())
            .increment(1);
        let id = cause.derived(
            kind.as_str_name(),
            u32::try_from(sequence.get()).unwrap_or(u32::MAX),
        );
        let causes = Cause {
            event_id: cause.clone(),
            inbound: None,
            sequence: None,
            late: false,
            redelivered: false,
            told: Told::default(),
            outbox_done: None,
            preloaded: None,
        };
        let notice = OrderingNotice {
            meta: Some(self.meta(key, &id, &causes, 0)),
            stage: STAGE_ROUTING.to_owned(),
            sequence: sequence.get(),
            kind: kind as i32,
            attempts,
        };
        let partition = self.partitions.of(key);
        self.publish(
            key,
            self.namespace.event_subject("ordering", partition),
            &id,
            OrderingNotice::TYPE,
            notice.encode_to_vec(),
        )
        .await
    }

    /// Typing changes no state: forwarded to the assigned agent, if any (the bot does not
    /// get them).
    pub(crate) async fn forward_typing(
        &self,
        key: &ConversationKey,
        event: &InboundMessage,
        event_id: &EventId,
        sequence: u64,
    ) -> Result<(), Failure> {
        let Some(stored) = self
            .store
            .load(key)
            .await
            .map_err(|e| format!("load: {e}"))?
        else {
            return Ok(());
        };
        let state =
            ConversationState::decode(stored.state.as_ref()).map_err(|e| format!("state: {e}"))?;
        if state.lifecycle != LifecycleState::Assigned as i32 || state.assigned_agent_id.is_empty()
        {
            return Ok(());
        }
        let cause = Cause {
            event_id: event_id.clone(),
            inbound: Some(event),
            sequence: Some(sequence),
            late: false,
            redelivered: false,
            told: Told::default(),
            outbox_done: None,
            preloaded: None,
        };
        let id = event_id.derived(&format!("{STAGE_ROUTING}.typing"), 0);
        let task = AgentTask {
            meta: Some(self.sequenced_meta(key, &id, &cause, "agent").await?),
            agent_id: state.assigned_agent_id.clone(),
            assignment_id: state.assignment_id.clone(),
            task: Some(agent_task::Task::CustomerMessage(event.clone())),
        };
        self.publish_agent(key, &id, &task).await
    }

    /// One routing command.
    pub(crate) async fn handle_command(&self, command: &RoutingCommand) -> Outcome {
        let Some(meta) = command.meta.as_ref() else {
            return dead("the command has no meta");
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return dead("the command names no conversation or business");
        };
        let Ok(business) = BusinessId::new(conversation.business_id.clone()) else {
            return dead("the command's business id is invalid");
        };
        let Ok(event_id) = EventId::new(meta.event_id.clone()) else {
            return dead("the command has no valid id");
        };
        let Some(kind) = command.command.as_ref() else {
            return dead("the command is empty");
        };
        match kind {
            // The agent gateway writes the pool itself (with the heartbeat's lifetime) and
            // tells routing for the record; the tick assigns from the pool. Its presence and
            // capacity commands change nothing here.
            routing_command::Command::AgentPresence(_)
            | routing_command::Command::AgentCapacity(_)
                if meta.producer == "agent-gateway" =>
            {
                return Outcome::Ack;
            }
            routing_command::Command::AgentPresence(presence) => {
                return settle(self.presence(&business, presence).await);
            }
            routing_command::Command::AgentCapacity(capacity) => {
                return settle(self.capacity(&business, capacity).await);
            }
            _ => {}
        }
        let Ok(key) = ConversationKey::parse(&conversation.business_id, &conversation.opaque_id)
        else {
            return dead("the command's conversation key is invalid");
        };
        match self
            .store
            .is_remembered(&key, SCOPE_COMMANDS, event_id.as_str())
            .await
        {
            Ok(true) => return Outcome::Ack,
            Ok(false) => {}
            Err(error) => return retry(Duration::from_millis(500), format!("store: {error}")),
        }
        let input = match kind {
            routing_command::Command::Escalate(escalate) => Input::BotEscalate {
                reason: escalate.reason(),
                queue: non_empty(&escalate.queue),
            },
            routing_command::Command::Transfer(transfer) => match &transfer.target {
                Some(transfer_conversation::Target::ToAgentId(agent)) => Input::Transfer {
                    target: TransferTarget::Agent(agent.clone()),
                },
                Some(transfer_conversation::Target::ToQueue(queue)) => Input::Transfer {
                    target: TransferTarget::Queue(queue.clone()),
                },
                None => return dead("a transfer without a target"),
            },
            routing_command::Command::Accept(accept) => Input::AgentAccept {
                agent: accept.agent_id.clone(),
            },
            routing_command::Command::Decline(decline) => Input::AgentLost {
                agent: decline.agent_id.clone(),
            },
            // `agent_id` empty: the bot resolved it (routing.proto).
            routing_command::Command::Resolve(resolve) if resolve.agent_id.is_empty() => {
                Input::BotResolve
            }
            routing_command::Command::Resolve(resolve) => Input::AgentResolve {
                agent: resolve.agent_id.clone(),
            },
            routing_command::Command::AgentReplied(replied) => {
                return settle(self.agent_replied(&key, &replied.agent_id).await);
            }
            routing_command::Command::ReturnToBot(back) => Input::ReturnToBot {
                agent: back.agent_id.clone(),
                note: back.note.clone(),
            },
            routing_command::Command::Close(close) => Input::Close {
                reason: match close.reason() {
                    CloseReason::Inactivity => ResolutionReason::ClosedInactive,
                    CloseReason::CustomerUnreachable => ResolutionReason::CustomerUnreachable,
                    CloseReason::Operator | CloseReason::Unspecified => {
                        ResolutionReason::ClosedByOperator
                    }
                },
            },
            routing_command::Command::AgentPresence(_)
            | routing_command::Command::AgentCapacity(_) => return Outcome::Ack,
        };
        let cause = Cause {
            event_id: event_id.clone(),
            inbound: None,
            sequence: None,
            late: false,
            redelivered: true,
            told: Told {
                summary: match kind {
                    routing_command::Command::Escalate(escalate) => Some(escalate.summary.as_str()),
                    _ => None,
                },
                note: match kind {
                    routing_command::Command::Transfer(transfer) => Some(transfer.note.as_str()),
                    _ => None,
                },
                declined_by: match kind {
                    routing_command::Command::Decline(decline) => Some(decline.agent_id.as_str()),
                    _ => None,
                },
                resolution_code: match kind {
                    routing_command::Command::Resolve(resolve) => {
                        Some(resolve.resolution_code.as_str())
                    }
                    _ => None,
                },
                resolution_note: match kind {
                    routing_command::Command::Resolve(resolve) => Some(resolve.note.as_str()),
                    _ => None,
                },
            },
            outbox_done: None,
            preloaded: None,
        };
        // A transfer to a named agent takes a place of that agent's capacity first,
        // atomically, as the pool's own assignment does; an agent who cannot take it
        // (offline, away, full) leaves the conversation where it is.
        let direct = match &input {
            Input::Transfer {
                target: TransferTarget::Agent(agent),
            } => Some(agent.clone()),
            _ => None,
        };
        if let Some(agent) = &direct {
            match self
                .pool
                .assign_to(key.business.as_str(), agent, key.opaque.as_str())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!("transfer refused: the agent cannot take the conversation");
                    return Outcome::Ack;
                }
                Err(error) => return retry(Duration::from_millis(500), format!("pool: {error}")),
            }
        }
        let processed = self.process(&key, &input, &cause).await;
        // An agent may act on an offer before routing stored the assignment (the offer is
        // published first; a replica that dies in between leaves it to the repair): while the
        // pool says the agent holds the conversation, the command waits instead of being
        // dropped, and applies once the assignment is recorded.
        if let Ok(Processed::Ignored(Ignored::NotInThisState)) = &processed
            && let Some(agent) = acting_agent(kind)
        {
            match self
                .pool
                .assignment(key.business.as_str(), key.opaque.as_str())
                .await
            {
                Ok(Some(holder)) if holder == agent => {
                    return retry(
                        Duration::from_millis(500),
                        "the agent's assignment is not recorded yet",
                    );
                }
                Ok(_) => {}
                Err(error) => return retry(Duration::from_millis(500), format!("pool: {error}")),
            }
        }
        if let (Some(agent), Ok(Processed::Ignored(why))) = (&direct, &processed)
            && *why != Ignored::AlreadyThere
            && let Err(error) = self
                .pool
                .release(key.business.as_str(), agent, key.opaque.as_str())
                .await
        {
            return retry(Duration::from_millis(500), format!("pool: {error}"));
        }
        match processed {
            Ok(processed) => {
                if let Err(error) = self
                    .store
                    .remember(&key, SCOPE_COMMANDS, event_id.as_str(), self.dedup_ttl)
                    .await
                {
                    return retry(Duration::from_millis(500), format!("store: {error}"));
                }
                if let Err(error) = self.follow_up(&key.business, &processed).await {
                    tracing::warn!(%error, "assignment after a command failed");
                }
                Outcome::Ack
            }
            Err(error) => retry(Duration::from_millis(500), error),
        }
    }

    /// Records an agent's reply (it answered within the response target).
    pub(crate) async fn agent_replied(
        &self,
        key: &ConversationKey,
        agent: &str,
    ) -> Result<(), Failure> {
        for _ in 0..20 {
            let Some(stored) = self.store.load(key).await.map_err(|e| e.to_string())? else {
                return Ok(());
            };
            let mut state =
                ConversationState::decode(stored.state.as_ref()).map_err(|e| e.to_string())?;
            if state.assigned_agent_id != agent {
                return Ok(());
            }
            state.last_business_message_at = Some(timestamp_ms(now_ms()));
            state.version = stored.version + 1;
            match self
                .store
                .compare_and_set(key, stored.version, state.encode_to_vec().into())
                .await
                .map_err(|e| e.to_string())?
            {
                CasOutcome::Applied { .. } => return Ok(()),
                CasOutcome::Conflict { .. } => {}
            }
        }
        Err("too many conflicting writes".into())
    }
}

/// The agent whose assignment a command acts on, for commands that need one.
fn acting_agent(command: &routing_command::Command) -> Option<&str> {
    use routing_command::Command as C;
    let agent = match command {
        C::Resolve(c) => &c.agent_id,
        C::ReturnToBot(c) => &c.agent_id,
        C::Transfer(c) => &c.from_agent_id,
        C::Decline(c) => &c.agent_id,
        _ => return None,
    };
    (!agent.is_empty()).then_some(agent.as_str())
}

fn dead(reason: &str) -> Outcome {
    Outcome::DeadLetter {
        reason: reason.to_owned(),
    }
}

fn retry(delay: Duration, reason: impl Into<String>) -> Outcome {
    Outcome::Retry {
        delay,
        reason: reason.into(),
    }
}

fn settle(result: Result<(), Failure>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ack,
        Err(error) => retry(Duration::from_millis(500), error),
    }
}

/// The `amb.inbound` consumer's handler.
pub(crate) struct InboundHandler(pub(crate) Arc<Shared>);

#[async_trait]
impl Handler for InboundHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        match InboundMessage::decode(delivery.payload.as_ref()) {
            Ok(event) => self.0.handle_inbound(&event).await,
            Err(error) => Outcome::DeadLetter {
                reason: format!("not a parley.v1.InboundMessage: {error}"),
            },
        }
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((key, sequence)) =
            parley_wire::meta::position::<InboundMessage>(&delivery.payload)
        {
            ordered::release_after_panic(&*self.0.store, &key, STAGE_ROUTING, sequence).await;
        }
    }
}

/// The `amb.routing` consumer's handler.
pub(crate) struct CommandHandler(pub(crate) Arc<Shared>);

#[async_trait]
impl Handler for CommandHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        match RoutingCommand::decode(delivery.payload.as_ref()) {
            Ok(command) => self.0.handle_command(&command).await,
            Err(error) => Outcome::DeadLetter {
                reason: format!("not a parley.v1.RoutingCommand: {error}"),
            },
        }
    }
}
