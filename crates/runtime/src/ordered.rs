//! The in-order gate's protocol around a handler, the same in every stage: ask the gate,
//! settle what must not be applied (a duplicate, an event that must wait, one past its
//! attempts), then complete, release or abandon the claim from the handler's outcome.
//!
//! The gate's rules are `parley_state`'s; this module only maps them onto the bus's
//! [`Outcome`]s, so a stage cannot forget one (an event acknowledged without a record, a
//! claim left held, a poison message retried for ever).

use std::time::Duration;

use parley_bus::{ConsumeOptions, Outcome};
use parley_state::{
    ClaimToken, ConversationStore, GateDecision, GatePolicy, GateRead, GateReadout, Skipped,
};
use parley_types::{ConversationKey, Sequence};

/// How long an event that waits for an earlier one (or for another worker's claim) is
/// given back for.
pub const WAIT_DELAY: Duration = Duration::from_millis(100);

/// How long an event is given back for when the store could not be asked.
pub const STORE_RETRY_DELAY: Duration = Duration::from_millis(500);

/// How many deliveries one conversation may hold in a gated consumer (see
/// [`consume_options`]).
pub const PER_CONVERSATION: usize = 16;

/// The consume options of a consumer whose handler goes through the gate: a conversation
/// holds at most [`PER_CONVERSATION`] deliveries (the gate restores the order of those given
/// back), so one slow or hot conversation cannot fill the in-flight budget; `drain_timeout`
/// as given.
pub fn consume_options(drain_timeout: Duration) -> ConsumeOptions {
    ConsumeOptions {
        per_conversation: PER_CONVERSATION,
        drain_timeout,
        ..ConsumeOptions::default()
    }
}

/// What the gate lets a handler do with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Apply it; the handler holds the claim and ends with [`finish`].
    Proceed(Claim),
    /// Do not apply it: settle the delivery with this outcome.
    Settle(Outcome),
}

/// A held claim on one sequence of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The stage's gate.
    pub stage: &'static str,
    /// The sequence claimed.
    pub sequence: Sequence,
    /// Earlier sequences given up on just before this claim (report them).
    pub skipped: Option<Skipped>,
    /// Later sequences were applied before this one (a late arrival or a replayed dead
    /// letter); the handler applies it all the same and reports it.
    pub late: bool,
    /// How many times this stage has started this sequence, this one included.
    pub attempt: u32,
    /// The token the claim is held under (a retry releases it by this token, never another
    /// worker's claim on the same sequence).
    pub token: ClaimToken,
}

/// How many times a claim is released after its release (or its grant) failed: the release
/// is by token, so retrying it is harmless, and it spares the conversation the lease.
const RELEASE_TRIES: u32 = 3;

/// Releases the claim held under `token`, retrying a failed release a few times (bounded:
/// [`RELEASE_TRIES`], tens of milliseconds apart). Also called when the gate's answer was
/// lost: the gate may have run and granted the claim, and its holder, not knowing it, must
/// drop it or the conversation waits for the lease. By token, this never drops the claim of
/// another worker. Whether a claim was dropped; `false` also when every try failed (the
/// claim, if any, then lapses with its lease).
pub async fn release_claim(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    token: ClaimToken,
) -> bool {
    for attempt in 1..=RELEASE_TRIES {
        match store.release_claim(key, stage, sequence, token).await {
            Ok(released) => return released,
            Err(error) => {
                tracing::warn!(stage, attempt, %error, "gate release failed");
                if attempt < RELEASE_TRIES {
                    tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                }
            }
        }
    }
    tracing::warn!(
        stage,
        "gate release failed; the claim lapses with its lease"
    );
    false
}

/// Asks `stage`'s gate about `sequence`. A duplicate is acknowledged, a wait is given back
/// for [`WAIT_DELAY`], and a sequence past `policy.max_attempts` is abandoned (the
/// conversation goes on) and dead-lettered with the count.
pub async fn admit(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    policy: &GatePolicy,
) -> Admission {
    admit_with(store, key, stage, sequence, policy, None)
        .await
        .0
}

/// For an event the stage has nothing to do for (it can tell from the event alone): asks
/// the gate and, if the event may apply, records it applied at once, in order; one store
/// call over Redis instead of a claim and a completion. A duplicate or an applied event is
/// acknowledged, one that must wait is given back for [`WAIT_DELAY`].
pub async fn pass(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    policy: &GatePolicy,
) -> Outcome {
    let token = ClaimToken::fresh();
    match store.gate_pass(key, stage, sequence, policy, token).await {
        Ok(GateDecision::Apply { .. } | GateDecision::Duplicate) => Outcome::Ack,
        Ok(GateDecision::Wait { .. }) => Outcome::Retry {
            delay: WAIT_DELAY,
            reason: "waiting for an earlier event of the conversation".into(),
        },
        Err(error) => {
            // The gate may have granted a claim (and not completed it) whose answer was lost.
            release_claim(store, key, stage, sequence, token).await;
            Outcome::Retry {
                delay: STORE_RETRY_DELAY,
                reason: format!("gate: {error}"),
            }
        }
    }
}

/// [`admit`], and what the stage reads next (its state, facts, a de-duplication record),
/// read by the same store call: one round trip over Redis instead of two. The readout is
/// empty when the gate could not be asked.
pub async fn admit_reading(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    policy: &GatePolicy,
    read: &GateRead<'_>,
) -> (Admission, GateReadout) {
    admit_with(store, key, stage, sequence, policy, Some(read)).await
}

async fn admit_with(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    policy: &GatePolicy,
    read: Option<&GateRead<'_>>,
) -> (Admission, GateReadout) {
    let token = ClaimToken::fresh();
    let asked = match read {
        Some(read) => {
            store
                .gate_claim_reading(key, stage, sequence, policy, token, read)
                .await
        }
        None => store
            .gate_claim(key, stage, sequence, policy, token)
            .await
            .map(|decision| (decision, GateReadout::default())),
    };
    let (decision, readout) = match asked {
        Ok(answer) => answer,
        Err(error) => {
            // The gate may have run and granted a claim whose answer was lost (a timeout):
            // drop it now, or the conversation waits for the lease.
            release_claim(store, key, stage, sequence, token).await;
            return (
                Admission::Settle(Outcome::Retry {
                    delay: STORE_RETRY_DELAY,
                    reason: format!("gate: {error}"),
                }),
                GateReadout::default(),
            );
        }
    };
    let admission = match decision {
        GateDecision::Duplicate => Admission::Settle(Outcome::Ack),
        GateDecision::Wait { .. } => Admission::Settle(Outcome::Retry {
            delay: WAIT_DELAY,
            reason: "waiting for an earlier event of the conversation".into(),
        }),
        GateDecision::Apply {
            skipped,
            late,
            attempt,
        } => {
            if let Some(attempt) = policy.exhausted(&decision) {
                let reason = format!(
                    "{stage}: gave up after {} attempts",
                    attempt.saturating_sub(1)
                );
                return (
                    Admission::Settle(abandon(store, key, stage, sequence, reason).await),
                    readout,
                );
            }
            Admission::Proceed(Claim {
                stage,
                sequence,
                skipped,
                late,
                attempt,
                token,
            })
        }
    };
    (admission, readout)
}

/// Ends a claim with the handler's outcome: an acknowledged event completes the sequence,
/// a retried one releases it (and backs off by its attempt), a dead-lettered one abandons
/// it so the conversation's next event may apply. A store error turns into a retry: the
/// event is never acknowledged without its record.
pub async fn finish(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    claim: Claim,
    policy: &GatePolicy,
    outcome: Outcome,
) -> Outcome {
    finish_recording(store, key, claim, policy, outcome, &[]).await
}

/// [`finish`], and an acknowledged event's completion also sets `fields` (in the same store
/// call: one round trip over Redis), for a stage that records a fact once its effects are
/// out. Retried and dead-lettered events set nothing.
pub async fn finish_recording(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    claim: Claim,
    policy: &GatePolicy,
    outcome: Outcome,
    fields: &[(&str, &str)],
) -> Outcome {
    let completed = async {
        if fields.is_empty() {
            store.complete(key, claim.stage, claim.sequence).await
        } else {
            store
                .set_fields_then_complete(key, fields, claim.stage, claim.sequence)
                .await
        }
    };
    match outcome {
        Outcome::Ack => match completed.await {
            Ok(()) => Outcome::Ack,
            Err(error) => Outcome::Retry {
                delay: STORE_RETRY_DELAY,
                reason: format!("gate complete: {error}"),
            },
        },
        Outcome::Retry { delay, reason } => {
            // By token: if this claim's lease lapsed meanwhile and another worker holds the
            // sequence now, its claim stays.
            release_claim(store, key, claim.stage, claim.sequence, claim.token).await;
            Outcome::Retry {
                delay: policy.backoff(claim.attempt, delay),
                reason,
            }
        }
        Outcome::DeadLetter { reason } => {
            abandon(store, key, claim.stage, claim.sequence, reason).await
        }
    }
}

/// Releases a claim whose handler panicked, so the next attempt need not wait for the
/// lease (the gate counted the attempt when it granted the claim).
pub async fn release_after_panic(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
) {
    if let Err(error) = store.release(key, stage, sequence).await {
        tracing::warn!(stage, %error, "gate release after a panic failed; the lease will lapse");
    }
}

async fn abandon(
    store: &dyn ConversationStore,
    key: &ConversationKey,
    stage: &'static str,
    sequence: Sequence,
    reason: String,
) -> Outcome {
    match store.abandon(key, stage, sequence).await {
        Ok(()) => {
            metrics::counter!("parley_events_abandoned_total", "stage" => stage).increment(1);
            Outcome::DeadLetter { reason }
        }
        Err(error) => Outcome::Retry {
            delay: STORE_RETRY_DELAY,
            reason: format!("gate abandon: {error}; then: {reason}"),
        },
    }
}
