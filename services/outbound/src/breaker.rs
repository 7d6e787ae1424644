//! A circuit breaker for Apple's base URL: after enough consecutive retryable failures it
//! opens and requests wait out a cool-down instead of hammering a failing gateway; then one
//! trial request decides whether it closes again.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_since: Instant },
}

/// The breaker.
pub(crate) struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    cooldown: Duration,
}

/// Whether a request may go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Go.
    Go,
    /// The circuit is open: try again after this long.
    Wait(Duration),
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks to send one request.
    pub(crate) fn permit(&self, now: Instant) -> Permit {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Permit::Go,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { trial_since: now };
                metrics::gauge!("parley_outbound_circuit_open").set(0.5);
                Permit::Go
            }
            State::Open { until } => Permit::Wait(until - now),
            // One trial at a time; a trial that never reports back is replaced after the
            // cool-down.
            State::HalfOpen { trial_since } if now.duration_since(trial_since) >= self.cooldown => {
                *state = State::HalfOpen { trial_since: now };
                Permit::Go
            }
            State::HalfOpen { .. } => Permit::Wait(self.cooldown / 4),
        }
    }

    /// A request succeeded (or failed for a reason that says nothing about Apple's health).
    pub(crate) fn success(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { failures: 0 }) {
            metrics::gauge!("parley_outbound_circuit_open").set(0.0);
        }
        *state = State::Closed { failures: 0 };
    }

    /// A request failed in a way that may mean Apple is unwell (network, timeout, 5xx, 429).
    pub(crate) fn failure(&self, now: Instant) {
        let mut state = self.lock();
        let open = match *state {
            State::Closed { failures } if failures + 1 >= self.threshold => true,
            State::Closed { failures } => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::HalfOpen { .. } => true,
            State::Open { .. } => false,
        };
        if open {
            *state = State::Open {
                until: now + self.cooldown,
            };
            metrics::gauge!("parley_outbound_circuit_open").set(1.0);
            metrics::counter!("parley_outbound_circuit_opened_total").increment(1);
            tracing::warn!(
                cooldown_ms = self.cooldown.as_millis() as u64,
                "circuit to Apple opened"
            );
        }
    }

    /// Whether the circuit is open now.
    #[cfg(test)]
    pub(crate) fn is_open(&self, now: Instant) -> bool {
        matches!(*self.lock(), State::Open { until } if now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_recovers_through_a_trial() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            breaker.failure(t0);
            assert_eq!(breaker.permit(t0), Permit::Go);
        }
        breaker.failure(t0);
        assert!(breaker.is_open(t0));
        assert_eq!(
            breaker.permit(t0 + Duration::from_secs(4)),
            Permit::Wait(Duration::from_secs(6))
        );
        // After the cool-down one trial goes; others wait for it.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(breaker.permit(later), Permit::Go);
        assert!(matches!(breaker.permit(later), Permit::Wait(_)));
        // The trial fails: open again.
        breaker.failure(later);
        assert!(breaker.is_open(later));
        // The next trial succeeds: closed.
        let much_later = later + Duration::from_secs(10);
        assert_eq!(breaker.permit(much_later), Permit::Go);
        breaker.success();
        assert_eq!(breaker.permit(much_later), Permit::Go);
        assert!(!breaker.is_open(much_later));
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.failure(t0);
        breaker.failure(t0);
        breaker.success();
        breaker.failure(t0);
        breaker.failure(t0);
        assert!(!breaker.is_open(t0));
    }
}
