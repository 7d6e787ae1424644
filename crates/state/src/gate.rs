//! The "apply strictly in order" gate.
//!
//! Each stage (routing, bot, outbound, …) keeps, per conversation, the last sequence it
//! applied, at most one claim (the sequence being applied now, with a lease), the number of
//! times the claimed sequence was started (its attempts), and its *holes*: the sequences it
//! moved past without applying them (given up on after the gap timeout, or dead-lettered).
//! Asking the gate about sequence `s` when `a` was applied last:
//! - `s <= a` and `s` is a hole: a late arrival (Apple's retry of a message whose first
//!   publish failed, a dead letter replayed). [`GateDecision::Apply`] with `late: true`; the
//!   caller holds the claim, and completing `s` closes the hole. It is never dropped.
//! - `s <= a` otherwise: [`GateDecision::Duplicate`]: ack and drop. Each sequence is
//!   allocated to one event (ingest keeps the number it allocated for an Apple message id,
//!   producers allocate one per output), so "at or below `a` and not a hole" means "this
//!   event was applied": the check is by event, not by position.
//! - a live claim exists: [`GateDecision::Wait`] (another worker is applying).
//! - `s == a + 1`: [`GateDecision::Apply`]: the caller now holds the claim, applies its
//!   effects, then calls `complete` (or `release` on failure).
//! - `s > a + 1`: [`GateDecision::Wait`] for the missing `a + 1`. The first such answer
//!   starts a timer for `a + 1`; once it outlives the gap timeout, every missing number
//!   `a + 1 ..= s - 1` becomes a hole at once (at most [`MAX_HOLES`] per timeout; reported in
//!   the decision), so k lost numbers cost one timeout, not k.
//!
//! Every grant of a claim counts an attempt of that sequence, across replicas, crashes and
//! panics (a lapsed lease is an attempt that did not finish). A caller that sees more
//! attempts than it allows `abandon`s the sequence (it becomes a hole, so a replay of its
//! dead letter is applied late) and dead-letters the event: the conversation goes on.
//!
//! The claim makes the gate exactly-once across replicas and redeliveries: two copies of the
//! same sequence cannot both be applied. A claim whose holder died lapses with its lease.
//! A claim may be held under a [`ClaimToken`] (`ConversationStore::gate_claim`): its holder
//! can then drop it with `release_claim` even when it never saw the grant (the gate's reply
//! was lost to a timeout after the script ran), without the risk of dropping another
//! worker's claim on the same sequence; without that, the conversation would wait for the
//! lease.
//! At most [`MAX_HOLES`] holes are kept per stage; an older one is forgotten with a warning
//! and a metric (`parley_state_holes_forgotten_total`): a conversation with that many lost
//! events has a producer bug, not a late message.

use std::time::Duration;

use parley_types::Sequence;

/// Timing of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatePolicy {
    /// How long a missing sequence is waited for before it is skipped. Must exceed the
    /// longest time an event can take to arrive (publish retries, redelivery delays).
    pub gap_timeout: Duration,
    /// How long a claim lasts if its holder neither completes nor releases it (a crash).
    pub lease: Duration,
    /// How many times a stage starts applying one event before it gives up: it abandons the
    /// sequence and dead-letters the event. With [`GatePolicy::backoff`] between attempts,
    /// the default (15) spans about ten minutes, so an outage of NATS or Redis shorter than
    /// that dead-letters nothing.
    pub max_attempts: u32,
}

impl Default for GatePolicy {
    fn default() -> Self {
        Self {
            gap_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(30),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl GatePolicy {
    /// The default of [`GatePolicy::max_attempts`].
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 15;

    /// The attempt a decision grants when it is past [`GatePolicy::max_attempts`]: the caller
    /// must not apply it, but `abandon` the sequence and dead-letter the event.
    pub fn exhausted(&self, decision: &GateDecision) -> Option<u32> {
        match decision {
            GateDecision::Apply { attempt, .. } if *attempt > self.max_attempts.max(1) => {
                Some(*attempt)
            }
            _ => None,
        }
    }

    /// How long to wait before the next attempt after attempt `attempt` failed: 1 s, doubling,
    /// at most 1 min (never less than `floor`, the caller's own delay).
    pub fn backoff(&self, attempt: u32, floor: Duration) -> Duration {
        let doubled = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6));
        doubled.min(Duration::from_secs(60)).max(floor)
    }

    pub(crate) fn gap_ms(&self) -> u64 {
        u64::try_from(self.gap_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Names one request for a claim, so that its holder, and only its holder, can release it
/// (see [`crate::ConversationStore::release_claim`]). A fresh token per request: two
/// deliveries of one event (a redelivery while the first is still being applied) must not
/// share one, or each could drop the other's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken(u128);

impl ClaimToken {
    /// A new token (random but for its first 48 bits, a clock).
    pub fn fresh() -> Self {
        Self(uuid::Uuid::now_v7().as_u128())
    }

    /// The token as the Redis scripts keep it (32 hexadecimal digits).
    pub(crate) fn hex(self) -> String {
        format!("{:032x}", self.0)
    }

    pub(crate) fn get(self) -> u128 {
        self.0
    }
}

/// Why the gate said wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// An earlier sequence has not been applied yet.
    Gap,
    /// Another worker holds the claim.
    Claimed,
}

/// How many holes a stage keeps per conversation (see the module documentation).
pub const MAX_HOLES: usize = 64;

/// The missing sequences a decision gave up on, `first..=last` (they became holes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// The lowest.
    pub first: Sequence,
    /// The highest.
    pub last: Sequence,
}

impl Skipped {
    /// One sequence.
    pub fn one(sequence: Sequence) -> Self {
        Self {
            first: sequence,
            last: sequence,
        }
    }

    fn of(first: u64, last: u64) -> Option<Self> {
        Some(Self {
            first: Sequence::new(first).ok()?,
            last: Sequence::new(last.max(first)).ok()?,
        })
    }

    /// Every skipped sequence, lowest first.
    pub fn sequences(&self) -> impl Iterator<Item = Sequence> + use<> {
        (self.first.get()..=self.last.get()).filter_map(|n| Sequence::new(n).ok())
    }

    /// How many.
    pub fn count(&self) -> u64 {
        self.last.get() - self.first.get() + 1
    }
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateDecision {
    /// Apply now; the caller holds the claim.
    Apply {
        /// Missing sequences given up on just before (report them).
        skipped: Option<Skipped>,
        /// The sequence is a hole filled late: later sequences were applied before it
        /// (report it; the caller applies it all the same).
        late: bool,
        /// How many times this stage has started applying this sequence, this one
        /// included (1 the first time).
        attempt: u32,
    },
    /// Already applied: acknowledge and drop.
    Duplicate,
    /// Not yet: retry shortly (NAK with a short delay).
    Wait {
        /// Why.
        reason: WaitReason,
        /// Missing sequences given up on just now (report them).
        skipped: Option<Skipped>,
    },
}

impl GateDecision {
    /// The first in-order apply: no skip, not late, attempt 1.
    pub const APPLY: GateDecision = GateDecision::Apply {
        skipped: None,
        late: false,
        attempt: 1,
    };

    /// The skipped sequences this decision reports, if any.
    pub fn skipped(&self) -> Option<Skipped> {
        match self {
            GateDecision::Apply { skipped, .. } | GateDecision::Wait { skipped, .. } => *skipped,
            GateDecision::Duplicate => None,
        }
    }
}

/// Counts a gate decision (`parley_state_gate_total{stage, decision}`) and a skipped gap
/// (`parley_state_gap_skipped_total{stage}`, with a warning: a producer died between
/// allocating a sequence and publishing, or an event was delayed past the gap timeout).
pub(crate) fn observe(stage: &str, decision: &GateDecision) {
    let label = match decision {
        GateDecision::Apply { late: true, .. } => "apply_late",
        GateDecision::Apply { .. } => "apply",
        GateDecision::Duplicate => "duplicate",
        GateDecision::Wait {
            reason: WaitReason::Gap,
            ..
        } => "wait_gap",
        GateDecision::Wait {
            reason: WaitReason::Claimed,
            ..
        } => "wait_claimed",
    };
    metrics::counter!("parley_state_gate_total", "stage" => stage.to_owned(), "decision" => label)
        .increment(1);
    if let Some(skipped) = decision.skipped() {
        metrics::counter!("parley_state_gap_skipped_total", "stage" => stage.to_owned())
            .increment(skipped.count());
        tracing::warn!(
            stage,
            first = skipped.first.get(),
            last = skipped.last.get(),
            "gave up waiting for missing sequences; applied late if they arrive"
        );
    }
    if let GateDecision::Apply {
        late: true,
        attempt,
        ..
    } = decision
    {
        tracing::warn!(
            stage,
            attempt,
            "a sequence given up on earlier arrived late; applying it"
        );
    }
}

/// The gate's rules over plain numbers, shared by the embedded backend and checked against
/// the Lua script by the contract tests. `now` and times are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GateFields {
    pub(crate) applied: u64,
    /// (sequence, lease end)
    pub(crate) claim: Option<(u64, u64)>,
    /// The token the claim was granted under, if any.
    pub(crate) claim_token: Option<u128>,
    /// (missing sequence, waiting since)
    pub(crate) gap: Option<(u64, u64)>,
    /// (sequence, times a claim on it was granted)
    pub(crate) tries: Option<(u64, u32)>,
    /// Sequences moved past without being applied, oldest first.
    pub(crate) holes: Vec<u64>,
}

impl GateFields {
    #[cfg(test)]
    pub(crate) fn decide(&mut self, seq: u64, now: u64, policy: &GatePolicy) -> GateDecision {
        self.decide_with(seq, now, policy, None)
    }

    /// [`decide`](Self::decide), a claim it grants held under `token`.
    pub(crate) fn decide_with(
        &mut self,
        seq: u64,
        now: u64,
        policy: &GatePolicy,
        token: Option<ClaimToken>,
    ) -> GateDecision {
        let late = seq <= self.applied;
        if late && !self.holes.contains(&seq) {
            return GateDecision::Duplicate;
        }
        if self.claim.is_some_and(|(_, until)| until > now) {
            return GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped: None,
            };
        }
        let mut skipped = None;
        if !late && seq > self.applied + 1 {
            let missing = self.applied + 1;
            match self.gap {
                Some((gap_seq, since)) if gap_seq == missing => {
                    if now.saturating_sub(since) >= policy.gap_ms() {
                        let last = (seq - 1).min(missing + MAX_HOLES as u64 - 1);
                        for hole in missing..=last {
                            self.add_hole(hole);
                        }
                        self.applied = last;
                        self.gap = None;
                        skipped = Skipped::of(missing, last);
                    }
                }
                _ => self.gap = Some((missing, now)),
            }
        }
        if late || seq == self.applied + 1 {
            self.claim = Some((seq, now.saturating_add(policy.lease_ms())));
            self.claim_token = token.map(ClaimToken::get);
            if !late {
                self.gap = None;
            }
            let attempt = match self.tries {
                Some((s, n)) if s == seq => n.saturating_add(1),
                _ => 1,
            };
            self.tries = Some((seq, attempt));
            GateDecision::Apply {
                skipped,
                late,
                attempt,
            }
        } else {
            GateDecision::Wait {
                reason: WaitReason::Gap,
                skipped,
            }
        }
    }

    pub(crate) fn complete(&mut self, seq: u64) {
        if seq > self.applied {
            self.applied = seq;
        }
        self.holes.retain(|&h| h != seq);
        self.drop_claim_and_tries(seq);
    }

    pub(crate) fn release(&mut self, seq: u64) {
        if self.claim.is_some_and(|(s, _)| s == seq) {
            self.claim = None;
            self.claim_token = None;
        }
    }

    /// Drops the claim on `seq` if it is held under `token`; whether it did.
    pub(crate) fn release_claim(&mut self, seq: u64, token: ClaimToken) -> bool {
        let ours =
            self.claim.is_some_and(|(s, _)| s == seq) && self.claim_token == Some(token.get());
        if ours {
            self.claim = None;
            self.claim_token = None;
        }
        ours
    }

    /// Moves past `seq` without applying it (its event is dead-lettered): it becomes a hole,
    /// so a replay is applied late. A sequence beyond the next one is not abandoned (the gate
    /// never granted it), and a sequence applied already is left alone.
    pub(crate) fn abandon(&mut self, seq: u64) {
        if seq == self.applied + 1 {
            self.applied = seq;
            self.add_hole(seq);
        } else if seq > self.applied || !self.holes.contains(&seq) {
            return;
        }
        self.drop_claim_and_tries(seq);
    }

    fn drop_claim_and_tries(&mut self, seq: u64) {
        if self.claim.is_some_and(|(s, _)| s <= seq) {
            self.claim = None;
            self.claim_token = None;
        }
        if self.gap.is_some_and(|(s, _)| s <= self.applied) {
            self.gap = None;
        }
        if self.tries.is_some_and(|(s, _)| s == seq) {
            self.tries = None;
        }
    }

    fn add_hole(&mut self, seq: u64) {
        if !self.holes.contains(&seq) {
            self.holes.push(seq);
        }
        if self.holes.len() > MAX_HOLES {
            let forgotten = self.holes.len() - MAX_HOLES;
            self.holes.drain(..forgotten);
            forgot_holes(forgotten);
        }
    }
}

/// Counts holes dropped past [`MAX_HOLES`].
pub(crate) fn forgot_holes(count: usize) {
    metrics::counter!("parley_state_holes_forgotten_total").increment(count as u64);
    tracing::warn!(
        count,
        "forgot the oldest holes of a conversation's gate; a late arrival of those will be taken for a duplicate"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: GatePolicy = GatePolicy {
        gap_timeout: Duration::from_millis(100),
        lease: Duration::from_millis(50),
        max_attempts: 3,
    };

    #[test]
    fn exhausted_past_max_attempts_and_backoff_doubles_to_a_minute() {
        let at = |attempt| GateDecision::Apply {
            skipped: None,
            late: false,
            attempt,
        };
        assert_eq!(P.exhausted(&at(3)), None);
        assert_eq!(P.exhausted(&at(4)), Some(4));
        assert_eq!(P.exhausted(&GateDecision::Duplicate), None);
        let floor = Duration::from_millis(100);
        let delays: Vec<u64> = (1..=9).map(|n| P.backoff(n, floor).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(P.backoff(1, Duration::from_secs(5)), Duration::from_secs(5));
        // The default's attempts span minutes, not seconds.
        let d = GatePolicy::default();
        let total: Duration = (1..d.max_attempts).map(|n| d.backoff(n, floor)).sum();
        assert!(total >= Duration::from_secs(8 * 60), "{total:?}");
    }

    fn apply(attempt: u32) -> GateDecision {
        GateDecision::Apply {
            skipped: None,
            late: false,
            attempt,
        }
    }

    fn late(attempt: u32) -> GateDecision {
        GateDecision::Apply {
            skipped: None,
            late: true,
            attempt,
        }
    }

    #[test]
    fn in_order_duplicate_and_claim() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::APPLY);
        assert_eq!(
            g.decide(1, 1, &P),
            GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped: None
            }
        );
        g.complete(1);
        assert_eq!(g.decide(1, 2, &P), GateDecision::Duplicate);
        assert_eq!(g.decide(2, 2, &P), apply(1));
        // The holder died: the lease lapses and another worker may apply: a second attempt.
        assert_eq!(g.decide(2, 100, &P), apply(2));
        g.complete(2);
        assert_eq!(g.decide(3, 101, &P), apply(1));
    }

    #[test]
    fn gap_waits_then_skips_one_and_the_late_one_is_applied() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::APPLY);
        g.complete(1);
        // 2 is missing; 3 and 4 wait.
        assert!(matches!(
            g.decide(3, 10, &P),
            GateDecision::Wait {
                reason: WaitReason::Gap,
                ..
            }
        ));
        assert!(matches!(
            g.decide(4, 50, &P),
            GateDecision::Wait {
                reason: WaitReason::Gap,
                ..
            }
        ));
        // After the timeout, 2 is skipped and 3 applies.
        assert_eq!(
            g.decide(3, 111, &P),
            GateDecision::Apply {
                skipped: Sequence::new(2).ok().map(Skipped::one),
                late: false,
                attempt: 1,
            }
        );
        g.complete(3);
        assert_eq!(g.decide(4, 112, &P), apply(1));
        g.complete(4);
        // The late 2 is applied, not dropped; once, then it is a duplicate.
        assert_eq!(g.decide(2, 113, &P), late(1));
        assert_eq!(
            g.decide(2, 114, &P),
            GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped: None
            }
        );
        g.complete(2);
        assert_eq!(g.decide(2, 115, &P), GateDecision::Duplicate);
        assert_eq!(g.applied, 4);
        assert!(g.holes.is_empty());
        assert_eq!(g.decide(5, 116, &P), apply(1));
    }

    #[test]
    fn a_wide_gap_is_skipped_in_one_timeout_and_each_is_applied_late() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::APPLY);
        g.complete(1);
        // 2..=5 were burned (their producers died); 6 waits one gap timeout, not four.
        assert!(matches!(g.decide(6, 10, &P), GateDecision::Wait { .. }));
        assert_eq!(
            g.decide(6, 111, &P),
            GateDecision::Apply {
                skipped: Skipped::of(2, 5),
                late: false,
                attempt: 1,
            }
        );
        g.complete(6);
        assert_eq!(g.holes, [2, 3, 4, 5]);
        assert_eq!(g.decide(4, 112, &P), late(1));
        g.complete(4);
        assert_eq!(g.holes, [2, 3, 5]);
        let skipped = Skipped::of(2, 5).unwrap();
        assert_eq!(skipped.count(), 4);
        assert_eq!(
            skipped.sequences().map(Sequence::get).collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        // More than MAX_HOLES missing: one timeout gives up on MAX_HOLES of them.
        let mut g = GateFields::default();
        let far = MAX_HOLES as u64 + 10;
        assert!(matches!(g.decide(far, 0, &P), GateDecision::Wait { .. }));
        assert!(matches!(g.decide(far, 200, &P), GateDecision::Wait { .. }));
        assert_eq!(g.applied, MAX_HOLES as u64);
        assert_eq!(g.holes.len(), MAX_HOLES);
    }

    #[test]
    fn a_failed_late_apply_is_offered_again() {
        let mut g = GateFields {
            applied: 4,
            holes: vec![2],
            ..GateFields::default()
        };
        assert_eq!(g.decide(2, 0, &P), late(1));
        g.release(2);
        assert_eq!(g.decide(2, 1, &P), late(2));
        g.complete(2);
        assert_eq!(g.decide(2, 2, &P), GateDecision::Duplicate);
    }

    #[test]
    fn a_claim_is_released_by_its_token_only() {
        let mut g = GateFields::default();
        let (mine, theirs) = (ClaimToken::fresh(), ClaimToken::fresh());
        assert_ne!(mine, theirs);
        // Granted under `mine`; the holder never saw the answer.
        assert_eq!(g.decide_with(1, 0, &P, Some(mine)), GateDecision::APPLY);
        assert!(!g.release_claim(1, theirs));
        assert!(!g.release_claim(2, mine));
        assert!(matches!(g.decide(1, 1, &P), GateDecision::Wait { .. }));
        assert!(g.release_claim(1, mine));
        assert!(!g.release_claim(1, mine), "released once");
        // The next worker's claim is not dropped by a retried release of the first.
        assert_eq!(g.decide_with(1, 2, &P, Some(theirs)), apply(2));
        assert!(!g.release_claim(1, mine));
        assert!(g.claim.is_some());
        g.complete(1);
        assert_eq!(g.claim_token, None);
    }

    #[test]
    fn release_lets_a_retry_in_and_counts_attempts() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::APPLY);
        g.release(1);
        assert_eq!(g.decide(1, 1, &P), apply(2));
        g.release(1);
        assert_eq!(g.decide(1, 2, &P), apply(3));
    }

    #[test]
    fn abandon_moves_on_and_a_replay_is_applied_late() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::APPLY);
        g.release(1);
        assert_eq!(g.decide(1, 1, &P), apply(2));
        g.abandon(1);
        // The conversation goes on with its next message at once.
        assert_eq!(g.decide(2, 2, &P), apply(1));
        g.complete(2);
        // The dead letter replayed: applied late, once.
        assert_eq!(g.decide(1, 3, &P), late(1));
        g.complete(1);
        assert_eq!(g.decide(1, 4, &P), GateDecision::Duplicate);
        // Abandoning what was applied, or what the gate never granted, changes nothing.
        let before = g.clone();
        g.abandon(2);
        g.abandon(9);
        assert_eq!(g, before);
    }

    #[test]
    fn holes_are_bounded() {
        let mut g = GateFields::default();
        for seq in 1..=(MAX_HOLES as u64 + 10) {
            assert_eq!(g.decide(seq, seq, &P), GateDecision::APPLY);
            g.abandon(seq);
        }
        assert_eq!(g.holes.len(), MAX_HOLES);
        assert_eq!(g.holes.first(), Some(&11));
    }
}
