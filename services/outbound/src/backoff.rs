//! Retry delays: exponential with jitter, never shorter than Apple's `Retry-After`.

use std::time::Duration;

use rand::Rng as _;

/// The delay before retry number `attempt` (1 = the first retry).
pub(crate) fn delay(
    attempt: u32,
    initial: Duration,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let base = initial.saturating_mul(1 << exponent).min(max);
    // ±25 % jitter so retries of many conversations do not arrive together.
    let factor = rand::rng().random_range(0.75..=1.25);
    let jittered = base.mul_f64(factor).min(max);
    match retry_after {
        Some(after) => jittered.max(after),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_bounded_jitter() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for attempt in 1..=6 {
            let expected = 100.0 * f64::from(1u32 << (attempt - 1));
            for _ in 0..50 {
                let d = delay(attempt, initial, max, None).as_secs_f64() * 1000.0;
                assert!(
                    d >= expected * 0.74 && d <= expected * 1.26,
                    "attempt {attempt}: {d}"
                );
            }
        }
        assert!(delay(30, initial, max, None) <= max);
    }

    #[test]
    fn honours_retry_after() {
        let d = delay(
            1,
            Duration::from_millis(100),
            Duration::from_secs(10),
            Some(Duration::from_secs(7)),
        );
        assert!(d >= Duration::from_secs(7));
    }
}
