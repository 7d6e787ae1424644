//! Handling one outbound event, from the idempotency check to the delivery result.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use object_store::ObjectStore;
use parley_apple::client::{AppleClient, ClientError, ErrorClass, FinalReason, SendHeaders};
use parley_bus::{Bus, Delivery, Handler, Namespace, Outcome};
use parley_proto::v1::{
    ActorKind, ConsentEvent, ConversationState, Failed, FailureCause, LifecycleState,
    OutboundMessage, Refused, Retrying, Sent, delivery_result::Outcome as Result_,
};
use parley_state::{
    ClaimToken, ConversationStore, GateDecision, GatePolicy,
    facts::{
        CUSTOMER_ACTIVE_AT, CUSTOMER_CLOSED_AT, CUSTOMER_UNREACHABLE_AT, DEVICE_AGENT,
        DEVICE_CAPABILITIES, SCOPE_SENT, STAGE_OUTBOUND,
    },
};
use parley_types::{ConversationKey, EventId, PartitionCount, Sequence};
use parley_wire::outbound::{Endpoint, Rendered};
use prost::Message as _;
use tracing::Instrument as _;

use crate::{
    attachments::{UploadError, upload_all},
    backoff,
    breaker::{Breaker, Permit},
    delivery,
    gate::{self, CustomerFacts, Verdict},
    rate::RateLimiter,
};

/// Everything a handler needs.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn ConversationStore>,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) namespace: Namespace,
    pub(crate) partitions: PartitionCount,
    pub(crate) apple: AppleClient,
    pub(crate) blobs: Arc<dyn ObjectStore>,
    pub(crate) breaker: Breaker,
    pub(crate) rate: RateLimiter,
    /// Apple attempts per outbound event in this replica (a restart starts again; the
    /// backoff keeps the total bounded in time).
    pub(crate) attempts: Mutex<HashMap<String, u32>>,
    /// Outbound event ids Apple accepted in this replica whose sent record could not be
    /// written yet, with when: their redelivery writes the record and never POSTs them again
    /// (see `Shared::record_sent`). An entry leaves once its record is written, or after
    /// `dedup_ttl`.
    pub(crate) accepted: Mutex<HashMap<String, Instant>>,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) dedup_ttl: Duration,
    pub(crate) gate: GatePolicy,
    pub(crate) dead_letter_subject: String,
}

/// The conversation store field holding how far outbound got with an event of several
/// parts (`OutboundMessage.more`): `<event id> <n>`, the first `n` parts are done (Apple
/// accepted the last of them; a typing part before it may have been skipped). Written by
/// outbound only, after each part but the last (the last writes the event's sent record).
pub const PARTS_FIELD: &str = "outbound_parts";

/// The consumer's handler.
pub(crate) struct OutboundHandler(pub(crate) Arc<Shared>);

/// How one attempt ended.
enum Step {
    /// Done for good: publish `result` (about part `part`; every visible part before it was
    /// sent), complete the gate (unless `completed`: already done with the sent record),
    /// settle with `settle`.
    Final {
        result: Result_,
        settle: Outcome,
        completed: bool,
        part: usize,
    },
    /// Try again later; `notice` is published as a retry notice (about part `part`) when
    /// given.
    Retry {
        delay: Duration,
        reason: String,
        notice: Option<Retrying>,
        part: usize,
    },
}

fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since.subsec_nanos()).unwrap_or(0),
    }
}

fn cause_of(error: &ClientError) -> (FailureCause, u32) {
    match error {
        ClientError::Network(_) => (FailureCause::Network, 0),
        ClientError::Timeout => (FailureCause::Timeout, 0),
        ClientError::Status { status: 429, .. } => (FailureCause::RateLimited, 429),
        ClientError::Status { status: 400, .. } => (FailureCause::BadRequest, 400),
        ClientError::Status {
            status: status @ (401 | 403),
            ..
        } => (FailureCause::Unauthorized, u32::from(*status)),
        ClientError::Status { status: 404, .. } => (FailureCause::UnknownDestination, 404),
        ClientError::Status { status, .. } => (FailureCause::ServerError, u32::from(*status)),
        _ => (FailureCause::InvalidMessage, 0),
    }
}

fn failed(
    cause: FailureCause,
    http_status: u32,
    exhausted: bool,
    detail: String,
    dead_letter_subject: &str,
) -> Result_ {
    Result_::Failed(Failed {
        cause: cause as i32,
        http_status,
        retries_exhausted: exhausted,
        detail,
        dead_letter_subject: dead_letter_subject.to_owned(),
    })
}

#[async_trait]
impl Handler for OutboundHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let event = match OutboundMessage::decode(delivery.payload.as_ref()) {
            Ok(event) => event,
            Err(error) => {
                return Outcome::DeadLetter {
                    reason: format!("not a parley.v1.OutboundMessage: {error}"),
                };
            }
        };
        let Some(meta) = event.meta.clone() else {
            return Outcome::DeadLetter {
                reason: "the event has no meta".into(),
            };
        };
        let Some(conversation) = meta.conversation.as_ref() else {
            return Outcome::DeadLetter {
                reason: "the event names no conversation".into(),
            };
        };
        let key = match ConversationKey::parse(&conversation.business_id, &conversation.opaque_id) {
            Ok(key) => key,
            Err(error) => {
                return Outcome::DeadLetter {
                    reason: format!("conversation: {error}"),
                };
            }
        };
        let Ok(event_id) = EventId::new(meta.event_id.clone()) else {
            return Outcome::DeadLetter {
                reason: "the event has no valid id".into(),
            };
        };
        // `outbound.proto`: an empty Apple message id lets outbound derive it (from the
        // event id, so a retry reuses it).
        let mut event = event;
        if event.apple_message_id.is_empty() {
            event.apple_message_id = event_id.apple_message_id();
        }
        let span = tracing::info_span!(
            "outbound send",
            parley.conversation = %key.redacted(),
            parley.event_id = %meta.event_id,
            parley.sequence = meta.sequence,
            apple.message_id = %event.apple_message_id,
        );
        self.0
            .handle(&event, &key, Sequence::new(meta.sequence).ok())
            .instrument(span)
            .await
    }

    async fn on_panic(&self, delivery: &Delivery) {
        if let Some((key, sequence)) =
            parley_wire::meta::position::<OutboundMessage>(&delivery.payload)
        {
            parley_runtime::ordered::release_after_panic(
                &*self.0.store,
                &key,
                STAGE_OUTBOUND,
                sequence,
            )
            .await;
        }
    }
}

impl Shared {
    async fn handle(
        &self,
        event: &OutboundMessage,
        key: &ConversationKey,
        sequence: Option<Sequence>,
    ) -> Outcome {
        let event_id = event
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        // Whether Apple already accepted it, and the conversation's in-order gate, asked
        // together (one round trip instead of two on the multiplexed connection). The
        // answers are used as if asked one after the other: a sent message goes to `finish`
        // whatever the gate said (as before, without asking it), and a claim the gate gave
        // is completed by `finish` or released on a store error below.
        // The claim is asked for under a token: if the gate's answer is lost (a timeout
        // after it ran), the claim it may have granted is released by that token instead of
        // holding the conversation for the lease, and a release never drops another
        // worker's claim.
        let token = ClaimToken::fresh();
        let gate = async {
            match sequence {
                Some(sequence) => Some(
                    self.store
                        .gate_claim(key, STAGE_OUTBOUND, sequence, &self.gate, token)
                        .await,
                ),
                None => None,
            }
        };
        let (remembered, gate) =
            tokio::join!(self.store.is_remembered(key, SCOPE_SENT, &event_id), gate);
        let claimed = matches!(gate, Some(Ok(GateDecision::Apply { .. })));
        // Apple already accepted it (a redelivery after the send): never POST it again.
        match remembered {
            Ok(true) => {
                return self
                    .finish(
                        event,
                        key,
                        sequence,
                        token,
                        Result_::Sent(Sent { data_ref: None }),
                        Outcome::Ack,
                        usize::MAX,
                    )
                    .await;
            }
            Ok(false) => {}
            Err(error) => {
                if claimed || matches!(gate, Some(Err(_))) {
                    self.release(key, sequence, token).await;
                }
                return retry_store(&error);
            }
        }
        // One message per conversation at a time, in the order produced.
        if let Some(gate) = gate {
            match gate {
                Ok(GateDecision::Duplicate) => return Outcome::Ack,
                Ok(GateDecision::Wait { .. }) => {
                    return Outcome::Retry {
                        delay: Duration::from_millis(250),
                        reason: "waiting for an earlier message of the conversation".into(),
                    };
                }
                Ok(decision @ GateDecision::Apply { late, .. }) => {
                    if let Some(skipped) = decision.skipped() {
                        tracing::warn!(
                            first = skipped.first.get(),
                            last = skipped.last.get(),
                            "earlier outbound messages never arrived; skipped"
                        );
                    }
                    if late {
                        tracing::warn!("an outbound message arrived after later ones; sending it");
                    }
                }
                Err(error) => {
                    // The gate may have granted the claim and its answer been lost.
                    self.release(key, sequence, token).await;
                    return retry_store(&error);
                }
            }
        }
        // Apple accepted it in this replica but its sent record was not written: write it
        // now and never POST it again (whatever the gate of the customer's facts says now:
        // the customer has the message).
        if self.was_accepted(&event_id) {
            return match self.record_sent(key, &event_id, sequence).await {
                Ok(completed) => {
                    self.forget_accepted(&event_id);
                    let sequence = if completed { None } else { sequence };
                    self.finish(
                        event,
                        key,
                        sequence,
                        token,
                        Result_::Sent(Sent { data_ref: None }),
                        Outcome::Ack,
                        usize::MAX,
                    )
                    .await
                }
                Err(error) => {
                    self.release(key, sequence, token).await;
                    let (delay, reason) = unrecorded(&error);
                    Outcome::Retry { delay, reason }
                }
            };
        }
        match self.attempt(event, key, sequence).await {
            Step::Final {
                result,
                settle,
                completed,
                part,
            } => {
                let sequence = if completed { None } else { sequence };
                self.finish(event, key, sequence, token, result, settle, part)
                    .await
            }
            Step::Retry {
                delay,
                reason,
                notice,
                part,
            } => {
                let attempt = self.attempt_count(&event_id);
                if let Some(notice) = notice {
                    let parts = parley_wire::parts::expand(event);
                    let about = parts.get(part).unwrap_or(event);
                    let published = delivery::publish(
                        self.bus.as_ref(),
                        &self.namespace,
                        self.partitions,
                        about,
                        part_number(part),
                        attempt,
                        attempt.max(1),
                        Result_::Retrying(notice),
                    )
                    .await;
                    if let Err(error) = published {
                        tracing::warn!(%error, "retry notice not published");
                    }
                }
                self.release(key, sequence, token).await;
                Outcome::Retry { delay, reason }
            }
        }
    }

    fn was_accepted(&self, event_id: &str) -> bool {
        self.accepted
            .lock()
            .is_ok_and(|accepted| accepted.contains_key(event_id))
    }

    fn remember_accepted(&self, event_id: &str) {
        let mut accepted = self
            .accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ttl = self.dedup_ttl;
        accepted.retain(|_, at| at.elapsed() < ttl);
        accepted.insert(event_id.to_owned(), Instant::now());
    }

    fn forget_accepted(&self, event_id: &str) {
        if let Ok(mut accepted) = self.accepted.lock() {
            accepted.remove(event_id);
        }
    }

    /// Records that Apple accepted `event_id` and (with a sequence, in the same atomic step)
    /// completes the gate: Apple has it, so the conversation's next message may go. `true`
    /// if the gate was completed with it. A failed write is tried again a few times at once
    /// (bounded, tens of milliseconds apart) before the error is returned.
    async fn record_sent(
        &self,
        key: &ConversationKey,
        event_id: &str,
        sequence: Option<Sequence>,
    ) -> Result<bool, parley_state::Error> {
        const TRIES: u64 = 3;
        let mut tried = 0;
        loop {
            tried += 1;
            let recorded = match sequence {
                Some(sequence) => self
                    .store
                    .remember_then_complete(
                        key,
                        SCOPE_SENT,
                        event_id,
                        self.dedup_ttl,
                        STAGE_OUTBOUND,
                        sequence,
                    )
                    .await
                    .map(|_| true),
                None => self
                    .store
                    .remember(key, SCOPE_SENT, event_id, self.dedup_ttl)
                    .await
                    .map(|_| false),
            };
            match recorded {
                Err(error) if tried < TRIES => {
                    tracing::warn!(%error, tried, "sent, but the sent record not written yet; trying again");
                    tokio::time::sleep(Duration::from_millis(25 * tried)).await;
                }
                recorded => return recorded,
            }
        }
    }

    fn attempt_count(&self, event_id: &str) -> u32 {
        self.attempts
            .lock()
            .map(|a| a.get(event_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn count_attempt(&self, event_id: &str) -> u32 {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = attempts.entry(event_id.to_owned()).or_default();
        *count += 1;
        *count
    }

    /// Releases the claim held under `token` (by token, retried a bounded few times; if every
    /// try fails, the claim lapses with its lease).
    async fn release(&self, key: &ConversationKey, sequence: Option<Sequence>, token: ClaimToken) {
        if let Some(sequence) = sequence {
            parley_runtime::ordered::release_claim(
                &*self.store,
                key,
                STAGE_OUTBOUND,
                sequence,
                token,
            )
            .await;
        }
    }

    /// Publishes the final result, completes the gate, forgets the attempts. `result` is
    /// about part `part` (`usize::MAX`: the last); every part before it was sent (or, a
    /// typing indicator among other parts, skipped). Each visible part up to `part` gets its
    /// transcript entry and delivery result (sent before `part`, `result` for it); a typing
    /// part among visible ones gets neither.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        event: &OutboundMessage,
        key: &ConversationKey,
        sequence: Option<Sequence>,
        token: ClaimToken,
        result: Result_,
        settle: Outcome,
        part: usize,
    ) -> Outcome {
        let event_id = event
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        let attempt = self.attempt_count(&event_id);
        let label = match &result {
            Result_::Sent(_) => "sent",
            Result_::Refused(_) => "refused",
            Result_::Failed(_) => "failed",
            Result_::Retrying(_) => "retrying",
        };
        metrics::counter!("parley_outbound_results_total", "result" => label).increment(1);
        let parts = parley_wire::parts::expand(event);
        let last = part.min(parts.len().saturating_sub(1));
        // A lone typing indicator (or an event of typing parts only) reports its last part.
        let any_visible = parts
            .iter()
            .any(|p| !parley_wire::parts::is_typing(p.kind.as_ref()));
        let reported: Vec<(u32, &OutboundMessage, Result_)> = parts
            .iter()
            .enumerate()
            .take(last + 1)
            .filter(|(i, p)| {
                if any_visible {
                    !parley_wire::parts::is_typing(p.kind.as_ref())
                } else {
                    *i == last
                }
            })
            .map(|(i, p)| {
                let outcome = if i == last {
                    result.clone()
                } else {
                    Result_::Sent(Sent { data_ref: None })
                };
                (part_number(i), p, outcome)
            })
            .collect();
        for (_, message, outcome) in &reported {
            if let Err(error) = self.record_in_transcript(message, key, outcome).await {
                self.release(key, sequence, token).await;
                return retry_store(&error);
            }
        }
        for (number, message, outcome) in reported {
            if let Err(error) = delivery::publish(
                self.bus.as_ref(),
                &self.namespace,
                self.partitions,
                message,
                number,
                attempt,
                0,
                outcome,
            )
            .await
            {
                self.release(key, sequence, token).await;
                return Outcome::Retry {
                    delay: Duration::from_millis(500),
                    reason: format!("delivery result not published: {error}"),
                };
            }
        }
        // A dead-lettered message's sequence is abandoned rather than completed: the
        // conversation goes on, and a replay of the dead letter is sent (late), once.
        if let Some(sequence) = sequence {
            let done = if matches!(settle, Outcome::DeadLetter { .. }) {
                self.store.abandon(key, STAGE_OUTBOUND, sequence).await
            } else {
                self.store.complete(key, STAGE_OUTBOUND, sequence).await
            };
            if let Err(error) = done {
                return retry_store(&error);
            }
        }
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.remove(&event_id);
        }
        if parts.len() > 1
            && let Ok(mut accepted) = self.accepted.lock()
        {
            for done in 1..parts.len() {
                accepted.remove(&progress_key(&event_id, done));
            }
        }
        settle
    }

    /// Writes the business's message to the conversation's transcript with its final
    /// outcome: sent, or a reply refused or failed with why (see
    /// `parley_wire::transcript::from_outbound_outcome` for what is left out). Outbound is the
    /// one writer of the business's side, whoever wrote the message (bot, agent,
    /// notification, Parley's own lines): every one of them passes here, and only here is it
    /// known whether the customer was sent it. A redelivery after the send appends the same
    /// message id again; readers keep one entry per message id.
    async fn record_in_transcript(
        &self,
        event: &OutboundMessage,
        key: &ConversationKey,
        result: &Result_,
    ) -> Result<(), parley_state::Error> {
        let at = timestamp(SystemTime::now());
        match parley_wire::transcript::from_outbound_outcome(event, at, result) {
            Some(entry) => {
                self.store
                    .append_transcript(key, entry.encode_to_vec().into())
                    .await
            }
            None => Ok(()),
        }
    }

    /// A final failure that goes to the dead letters with its reason.
    fn dead_letter(&self, cause: FailureCause, http_status: u32, detail: String) -> Step {
        let reason = detail.clone();
        Step::Final {
            result: failed(cause, http_status, false, detail, &self.dead_letter_subject),
            settle: Outcome::DeadLetter { reason },
            completed: false,
            part: 0,
        }
    }

    /// What the gate needs to know about the customer, and (`with_owner`: for the bot's
    /// messages) whether routing's lifecycle says a human owns the conversation or it waits
    /// for one: one read of the conversation's record.
    /// With `parts`, the same read also returns [`PARTS_FIELD`].
    async fn facts(
        &self,
        key: &ConversationKey,
        with_owner: bool,
        parts: bool,
    ) -> Result<(CustomerFacts, Option<String>), parley_state::Error> {
        let all = [
            CUSTOMER_CLOSED_AT,
            CUSTOMER_ACTIVE_AT,
            CUSTOMER_UNREACHABLE_AT,
            DEVICE_CAPABILITIES,
            DEVICE_AGENT,
            PARTS_FIELD,
        ];
        let names = if parts { &all[..] } else { &all[..5] };
        let (stored, fields) = if with_owner {
            self.store.load_with_fields(key, names).await?
        } else {
            (None, self.store.get_fields(key, names).await?)
        };
        // A state this version cannot read is not a reason to drop a reply.
        let human_owns = stored.is_some_and(|stored| {
            let lifecycle = ConversationState::decode(stored.state.as_ref())
                .map(|s| s.lifecycle)
                .unwrap_or_default();
            lifecycle == LifecycleState::Queued as i32
                || lifecycle == LifecycleState::Assigned as i32
        });
        let number = |i: usize| {
            fields
                .get(i)
                .cloned()
                .flatten()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let facts = CustomerFacts {
            closed_at: number(0),
            active_at: number(1),
            unreachable_at: number(2),
            capabilities: fields.get(3).cloned().flatten(),
            device_agent: fields.get(4).cloned().flatten(),
            human_owns,
        };
        Ok((facts, fields.get(5).cloned().flatten()))
    }

    /// How many of `event_id`'s parts are done, from [`PARTS_FIELD`] (`stored`) and from
    /// what this replica knows Apple accepted without the record written.
    fn parts_done(&self, event_id: &str, stored: Option<&str>, parts: usize) -> usize {
        let recorded = stored
            .and_then(|v| v.split_once(' '))
            .filter(|(id, _)| *id == event_id)
            .and_then(|(_, n)| n.parse::<usize>().ok())
            .unwrap_or(0);
        let remembered = (1..parts)
            .rev()
            .find(|n| self.was_accepted(&progress_key(event_id, *n)))
            .unwrap_or(0);
        recorded.max(remembered).min(parts.saturating_sub(1))
    }

    /// Records that the first `done` parts of `event_id` are done (a bounded few tries, as
    /// [`record_sent`](Self::record_sent)).
    async fn record_progress(
        &self,
        key: &ConversationKey,
        event_id: &str,
        done: usize,
    ) -> Result<(), parley_state::Error> {
        const TRIES: u64 = 3;
        let value = format!("{event_id} {done}");
        let mut tried = 0;
        loop {
            tried += 1;
            match self.store.set_fields(key, &[(PARTS_FIELD, &value)]).await {
                Err(error) if tried < TRIES => {
                    tracing::warn!(%error, tried, "part sent, but its progress not written yet; trying again");
                    tokio::time::sleep(Duration::from_millis(25 * tried)).await;
                }
                recorded => return recorded,
            }
        }
    }

    /// Sends the event's parts in order from the first one not done yet (one for a single
    /// message), each after Apple accepted the previous one.
    async fn attempt(
        &self,
        event: &OutboundMessage,
        key: &ConversationKey,
        sequence: Option<Sequence>,
    ) -> Step {
        let event_id = event
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        let from_bot = event
            .sender
            .as_ref()
            .is_some_and(|s| s.kind == ActorKind::Bot as i32);
        let parts = parley_wire::parts::expand(event);
        let several = parts.len() > 1;
        let (facts, progress) = match self.facts(key, from_bot, several).await {
            Ok(read) => read,
            Err(error) => return step_store(&error),
        };
        let consent = if event.business_initiated {
            match self.store.consent(key, &event.notification_topic).await {
                Ok(record) => record.and_then(|bytes| ConsentEvent::decode(bytes.as_ref()).ok()),
                Err(error) => return step_store(&error),
            }
        } else {
            None
        };
        let last = parts.len() - 1;
        let start = if several {
            self.parts_done(&event_id, progress.as_deref(), parts.len())
        } else {
            0
        };
        if start > 0 {
            tracing::info!(
                done = start,
                parts = parts.len(),
                "resuming after the parts Apple accepted"
            );
        }
        for (i, part) in parts.iter().enumerate().skip(start) {
            // A typing indicator among other parts is best effort: whatever stops it (the
            // gate, Apple, the rate limit) skips it, never the message it announces.
            let best_effort = several && parley_wire::parts::is_typing(part.kind.as_ref());
            match self.attempt_part(part, key, &facts, consent.as_ref()).await {
                Ok(()) if i < last => {
                    if let Err(error) = self.record_progress(key, &event_id, i + 1).await {
                        self.remember_accepted(&progress_key(&event_id, i + 1));
                        let (delay, reason) = unrecorded(&error);
                        return Step::Retry {
                            delay,
                            reason,
                            notice: None,
                            part: i,
                        };
                    }
                }
                Ok(()) => return self.sent(key, &event_id, sequence, i).await,
                Err(Step::Retry {
                    delay,
                    reason,
                    notice,
                    ..
                }) => {
                    if best_effort {
                        tracing::info!(part = i, "typing indicator not sent now; skipped");
                        if i == last {
                            return self.sent(key, &event_id, sequence, i).await;
                        }
                        continue;
                    }
                    return Step::Retry {
                        delay,
                        reason,
                        notice,
                        part: i,
                    };
                }
                Err(Step::Final {
                    result,
                    settle,
                    completed,
                    ..
                }) => {
                    if best_effort {
                        tracing::info!(part = i, "typing indicator not sent; skipped");
                        if i == last {
                            return self.sent(key, &event_id, sequence, i).await;
                        }
                        continue;
                    }
                    return Step::Final {
                        result,
                        settle,
                        completed,
                        part: i,
                    };
                }
            }
        }
        // Every part was done before (`start` is at most the last part, so not reached).
        self.sent(key, &event_id, sequence, last).await
    }

    /// The event's last part is done: records the event as sent and (one round trip)
    /// completes the gate with it. The delivery result is published after; if that fails,
    /// the redelivery finds the record and only publishes it.
    ///
    /// If the record cannot be written, the message is not acknowledged (a redelivery would
    /// find no record, and a lost ack would redeliver it too): it is retried, and this
    /// replica remembers that Apple has it, so the retry writes the record without POSTing it
    /// again. Apple's documentation does not say that it drops a second POST of the same
    /// message id (../shared/docs/apple-mfb-api.md, open question 3), so outbound must not
    /// count on it: the one case left where Apple can get a copy is that retry delivered to
    /// another replica (or after a restart) while Redis still refuses the record; the copy
    /// then carries the same `id`, for Apple to drop if it does.
    async fn sent(
        &self,
        key: &ConversationKey,
        event_id: &str,
        sequence: Option<Sequence>,
        part: usize,
    ) -> Step {
        match self.record_sent(key, event_id, sequence).await {
            Ok(completed) => Step::Final {
                result: Result_::Sent(Sent { data_ref: None }),
                settle: Outcome::Ack,
                completed,
                part,
            },
            Err(error) => {
                self.remember_accepted(event_id);
                let (delay, reason) = unrecorded(&error);
                Step::Retry {
                    delay,
                    reason,
                    notice: None,
                    part,
                }
            }
        }
    }

    /// Sends one part (a single message): the gate, the rate limit and the circuit, the
    /// rendering, the POST. `Ok` when Apple accepted it (nothing recorded yet); the step
    /// otherwise (its `part` is 0: the caller sets it).
    async fn attempt_part(
        &self,
        event: &OutboundMessage,
        key: &ConversationKey,
        facts: &CustomerFacts,
        consent: Option<&ConsentEvent>,
    ) -> Result<(), Step> {
        let event_id = event
            .meta
            .as_ref()
            .map(|m| m.event_id.clone())
            .unwrap_or_default();
        let verdict = gate::decide(event, facts, consent);
        if let Verdict::Refuse {
            reason,
            missing,
            detail,
        } = verdict
        {
            tracing::info!(reason = reason.as_str_name(), "refused by the gate");
            return Err(Step::Final {
                result: Result_::Refused(Refused {
                    reason: reason as i32,
                    missing_capabilities: missing.into_iter().map(|c| c as i32).collect(),
                    detail,
                }),
                settle: Outcome::Ack,
                completed: false,
                part: 0,
            });
        }
        let business = key.business.to_string();
        let customer = key.opaque.as_str();
        if let Err(wait) = self.rate.take(&business, Instant::now()) {
            return Err(Step::Retry {
                delay: wait,
                reason: "business rate limit".into(),
                notice: None,
                part: 0,
            });
        }
        if let Permit::Wait(wait) = self.breaker.permit(Instant::now()) {
            return Err(Step::Retry {
                delay: wait,
                reason: "circuit to Apple is open".into(),
                notice: None,
                part: 0,
            });
        }
        // The legacy authentication flow needs the business's OAuth client secret and a
        // per-request key pair, which outbound does not hold yet: refuse it clearly.
        if let Some(parley_proto::v1::outbound_message::Kind::Authentication(auth)) = &event.kind
            && auth.version == parley_proto::v1::AuthenticationVersion::Legacy as i32
        {
            let detail =
                "legacy (AUTH) authentication requests are not supported yet; use AUTH2".to_owned();
            return Err(self.dead_letter(FailureCause::InvalidMessage, 0, detail));
        }
        // Render (uploading attachments first).
        let rendered = match verdict {
            Verdict::SendAsText => {
                parley_wire::outbound::to_apple_text_fallback(event, &business, customer)
                    .unwrap_or(Err(parley_wire::WireError::MissingKind))
            }
            _ => {
                let uploaded = match &event.kind {
                    Some(parley_proto::v1::outbound_message::Kind::Text(text))
                        if !text.attachments.is_empty() =>
                    {
                        match upload_all(
                            &self.apple,
                            self.blobs.as_ref(),
                            &business,
                            &text.attachments,
                        )
                        .await
                        {
                            Ok(uploaded) => uploaded,
                            Err(UploadError::Blob(detail)) => {
                                return Err(self.dead_letter(
                                    FailureCause::AttachmentUpload,
                                    0,
                                    detail,
                                ));
                            }
                            Err(UploadError::Apple(error)) => {
                                return Err(self
                                    .failure(&event_id, key, facts, &error, true)
                                    .await);
                            }
                        }
                    }
                    _ => Vec::new(),
                };
                parley_wire::outbound::to_apple(event, &business, customer, uploaded)
            }
        };
        let Rendered { endpoint, message } = match rendered {
            Ok(rendered) => rendered,
            Err(error) => {
                let detail = format!("cannot render for Apple: {error}");
                return Err(self.dead_letter(FailureCause::InvalidMessage, 0, detail));
            }
        };
        let body = match message.to_vec() {
            Ok(body) => body,
            Err(error) => {
                let detail = format!("cannot encode for Apple: {error}");
                return Err(self.dead_letter(FailureCause::InvalidMessage, 0, detail));
            }
        };
        let sender_is_bot = event
            .sender
            .as_ref()
            .is_some_and(|s| s.kind == ActorKind::Bot as i32);
        let msp_agent = if event.msp_agent.is_empty() {
            event
                .sender
                .as_ref()
                .map(|s| s.display_name.clone())
                .filter(|n| !n.is_empty())
        } else {
            Some(event.msp_agent.clone())
        };
        let headers = SendHeaders {
            id: message
                .id
                .clone()
                .unwrap_or_else(|| event.apple_message_id.clone()),
            business_id: business.clone(),
            customer_id: customer.to_owned(),
            auto_reply: event.auto_reply || sender_is_bot,
            msp_agent,
            include_data_ref: false,
        };
        let sent = match endpoint {
            Endpoint::Message => self.apple.send_message(&headers, body).await,
            Endpoint::Authenticate => self.apple.authenticate(&headers, body).await,
        };
        match sent {
            Ok(_) => {
                self.breaker.success();
                Ok(())
            }
            Err(error) => Err(self.failure(&event_id, key, facts, &error, false).await),
        }
    }

    /// Classifies a failed call to Apple.
    async fn failure(
        &self,
        event_id: &str,
        key: &ConversationKey,
        facts: &CustomerFacts,
        error: &ClientError,
        upload: bool,
    ) -> Step {
        let (cause, http_status) = if upload {
            (FailureCause::AttachmentUpload, cause_of(error).1)
        } else {
            cause_of(error)
        };
        let detail = error.to_string();
        match error.class() {
            ErrorClass::Retryable { retry_after } => {
                self.breaker.failure(Instant::now());
                let attempt = self.count_attempt(event_id);
                if attempt >= self.max_attempts {
                    return Step::Final {
                        result: failed(
                            cause,
                            http_status,
                            true,
                            detail.clone(),
                            &self.dead_letter_subject,
                        ),
                        settle: Outcome::DeadLetter {
                            reason: format!("gave up after {attempt} attempts: {detail}"),
                        },
                        completed: false,
                        part: 0,
                    };
                }
                let delay =
                    backoff::delay(attempt, self.backoff_initial, self.backoff_max, retry_after);
                Step::Retry {
                    delay,
                    reason: detail.clone(),
                    notice: Some(Retrying {
                        cause: cause as i32,
                        http_status,
                        next_attempt_at: Some(timestamp(SystemTime::now() + delay)),
                        detail,
                    }),
                    part: 0,
                }
            }
            ErrorClass::Final(reason) => {
                // Apple answered: the gateway is alive.
                self.breaker.success();
                self.count_attempt(event_id);
                match reason {
                    FinalReason::Unreachable => {
                        let mark = facts.active_at + 1;
                        if let Err(error) = self
                            .store
                            .raise_field(key, CUSTOMER_UNREACHABLE_AT, mark)
                            .await
                        {
                            return step_store(&error);
                        }
                        Step::Final {
                            result: failed(cause, http_status, false, detail, ""),
                            settle: Outcome::Ack,
                            completed: false,
                            part: 0,
                        }
                    }
                    FinalReason::Unauthorized | FinalReason::Forbidden => {
                        metrics::counter!("parley_outbound_auth_failures_total", "status" => http_status.to_string()).increment(1);
                        tracing::error!(status = http_status, %detail, "Apple refused our credentials; check msp.id and msp.secret");
                        self.dead_letter(cause, http_status, detail)
                    }
                    FinalReason::BadRequest | FinalReason::Other => {
                        self.dead_letter(cause, http_status, detail)
                    }
                }
            }
        }
    }
}

/// The key under which this replica remembers that Apple accepted the first `done` parts of
/// `event_id` while their progress was not written.
fn progress_key(event_id: &str, done: usize) -> String {
    format!("{event_id}#{done}")
}

/// A part's number (for ids).
fn part_number(part: usize) -> u32 {
    u32::try_from(part).unwrap_or(u32::MAX)
}

fn retry_store(error: &parley_state::Error) -> Outcome {
    Outcome::Retry {
        delay: Duration::from_secs(1),
        reason: format!("state store: {error}"),
    }
}

/// Apple accepted the message, but its sent record could not be written: retried (the
/// redelivery writes the record; see `Shared::was_accepted`).
fn unrecorded(error: &parley_state::Error) -> (Duration, String) {
    tracing::warn!(%error, "sent, but not recorded as sent; retrying the record, not the send");
    (
        Duration::from_millis(500),
        format!("sent, but not recorded as sent: {error}"),
    )
}

fn step_store(error: &parley_state::Error) -> Step {
    Step::Retry {
        delay: Duration::from_secs(1),
        reason: format!("state store: {error}"),
        notice: None,
        part: 0,
    }
}
