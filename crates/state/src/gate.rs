//! The "apply strictly in order" gate.
//!
//! Each stage (routing, bot, outbound, …) keeps, per conversation, the last sequence it
//! applied and at most one claim (the sequence being applied now, with a lease). Asking the
//! gate about sequence `s` when `a` was applied last:
//! - `s <= a`: [`GateDecision::Duplicate`]: ack and drop.
//! - `s == a + 1` and nobody holds a live claim: [`GateDecision::Apply`]: the caller now holds
//!   the claim, applies its effects, then calls `complete` (or `release` on failure).
//! - a live claim exists: [`GateDecision::Wait`] (another worker is applying).
//! - `s > a + 1`: [`GateDecision::Wait`] for the missing `a + 1`. The first such answer
//!   starts a timer for `a + 1`; once it outlives the gap timeout, `a + 1` is given up on
//!   (skipped, reported in the decision) and the gate moves on one sequence.
//!
//! The claim makes the gate exactly-once across replicas and redeliveries: two copies of the
//! same sequence cannot both be applied. A claim whose holder died lapses with its lease.

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
}

impl Default for GatePolicy {
    fn default() -> Self {
        Self {
            gap_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(30),
        }
    }
}

impl GatePolicy {
    pub(crate) fn gap_ms(&self) -> u64 {
        u64::try_from(self.gap_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
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

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateDecision {
    /// Apply now; the caller holds the claim.
    Apply {
        /// A missing sequence given up on just before (report it).
        skipped: Option<Sequence>,
    },
    /// Already applied: acknowledge and drop.
    Duplicate,
    /// Not yet: retry shortly (NAK with a short delay).
    Wait {
        /// Why.
        reason: WaitReason,
        /// A missing sequence given up on just now (report it).
        skipped: Option<Sequence>,
    },
}

impl GateDecision {
    /// The skipped sequence this decision reports, if any.
    pub fn skipped(&self) -> Option<Sequence> {
        match self {
            GateDecision::Apply { skipped } | GateDecision::Wait { skipped, .. } => *skipped,
            GateDecision::Duplicate => None,
        }
    }
}

/// Counts a gate decision (`parley_state_gate_total{stage, decision}`) and a skipped gap
/// (`parley_state_gap_skipped_total{stage}`, with a warning: a producer died between
/// allocating a sequence and publishing, or an event was delayed past the gap timeout).
pub(crate) fn observe(stage: &str, decision: &GateDecision) {
    let label = match decision {
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
            .increment(1);
        tracing::warn!(
            stage,
            sequence = skipped.get(),
            "gave up waiting for a missing sequence"
        );
    }
}

/// The gate's rules over plain numbers, shared by the embedded backend and checked against
/// the Lua script by the contract tests. `now` and times are milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct GateFields {
    pub(crate) applied: u64,
    /// (sequence, lease end)
    pub(crate) claim: Option<(u64, u64)>,
    /// (missing sequence, waiting since)
    pub(crate) gap: Option<(u64, u64)>,
}

impl GateFields {
    pub(crate) fn decide(&mut self, seq: u64, now: u64, policy: &GatePolicy) -> GateDecision {
        if seq <= self.applied {
            return GateDecision::Duplicate;
        }
        if self.claim.is_some_and(|(_, until)| until > now) {
            return GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped: None,
            };
        }
        let mut skipped = None;
        if seq > self.applied + 1 {
            let missing = self.applied + 1;
            match self.gap {
                Some((gap_seq, since)) if gap_seq == missing => {
                    if now.saturating_sub(since) >= policy.gap_ms() {
                        self.applied = missing;
                        self.gap = None;
                        skipped = Sequence::new(missing).ok();
                    }
                }
                _ => self.gap = Some((missing, now)),
            }
        }
        if seq == self.applied + 1 {
            self.claim = Some((seq, now.saturating_add(policy.lease_ms())));
            self.gap = None;
            GateDecision::Apply { skipped }
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
        if self.claim.is_some_and(|(s, _)| s <= seq) {
            self.claim = None;
        }
        if self.gap.is_some_and(|(s, _)| s <= self.applied) {
            self.gap = None;
        }
    }

    pub(crate) fn release(&mut self, seq: u64) {
        if self.claim.is_some_and(|(s, _)| s == seq) {
            self.claim = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: GatePolicy = GatePolicy {
        gap_timeout: Duration::from_millis(100),
        lease: Duration::from_millis(50),
    };

    #[test]
    fn in_order_duplicate_and_claim() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::Apply { skipped: None });
        assert_eq!(
            g.decide(1, 1, &P),
            GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped: None
            }
        );
        g.complete(1);
        assert_eq!(g.decide(1, 2, &P), GateDecision::Duplicate);
        assert_eq!(g.decide(2, 2, &P), GateDecision::Apply { skipped: None });
        // The holder died: the lease lapses and another worker may apply.
        assert_eq!(g.decide(2, 100, &P), GateDecision::Apply { skipped: None });
    }

    #[test]
    fn gap_waits_then_skips_one() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::Apply { skipped: None });
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
                skipped: Sequence::new(2).ok()
            }
        );
        g.complete(3);
        assert_eq!(g.decide(4, 112, &P), GateDecision::Apply { skipped: None });
        // The late 2 is now a duplicate.
        g.complete(4);
        assert_eq!(g.decide(2, 113, &P), GateDecision::Duplicate);
    }

    #[test]
    fn release_lets_a_retry_in() {
        let mut g = GateFields::default();
        assert_eq!(g.decide(1, 0, &P), GateDecision::Apply { skipped: None });
        g.release(1);
        assert_eq!(g.decide(1, 1, &P), GateDecision::Apply { skipped: None });
    }
}
