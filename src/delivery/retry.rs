//! When to try again: exponential backoff with jitter, capped, and never
//! sooner than the server's `Retry-After`.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// Delay before the attempt after `attempt` (1-based) failed. `jitter` in
    /// [0, 1) spreads retries between half and all of the exponential step, so a
    /// burst of failures does not come back as a burst.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let step = exp.min(self.max);
        let jittered = step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(server) if server > jittered => server,
            _ => jittered,
        }
    }
}

/// A number in [0, 1) from the operating system's random source.
pub fn jitter() -> f64 {
    let bytes = crate::domain::codes::random_bytes::<8>();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(2),
        max: Duration::from_secs(600),
    };

    #[test]
    fn doubles_per_attempt_within_jitter_band() {
        for attempt in 1..=8 {
            let full = Duration::from_secs(2 << (attempt - 1));
            assert_eq!(P.delay(attempt, None, 0.0), full / 2);
            assert!(P.delay(attempt, None, 0.999) <= full);
        }
    }

    #[test]
    fn is_capped_even_after_many_attempts() {
        assert!(P.delay(1000, None, 0.999) <= Duration::from_secs(600));
        assert!(P.delay(u32::MAX, None, 0.0) >= Duration::from_secs(300));
    }

    #[test]
    fn honours_retry_after() {
        let d = P.delay(1, Some(Duration::from_secs(30)), 0.5);
        assert_eq!(d, Duration::from_secs(30));
        assert_eq!(
            P.delay(8, Some(Duration::from_secs(1)), 0.0),
            Duration::from_secs(128)
        );
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
