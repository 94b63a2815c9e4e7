//! Which failures are worth retrying, and how long to wait between tries:
//! capped exponential backoff with full jitter (the delay before try `n` is
//! uniform in `[0, min(max_delay, min_delay × 2ⁿ)]`).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::journal::Category;
use crate::error::ErrorCode;

/// How a push retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (0: never retry).
    pub max_retries: usize,
    /// The cap of the first delay.
    pub min_delay: Duration,
    /// The cap no delay exceeds.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delays before each retry, in order (`max_retries` of them).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_factor(2.0)
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .build()
            .map(full_jitter)
    }
}

/// Full jitter: a uniform delay between zero and the exponential cap.
fn full_jitter(cap: Duration) -> Duration {
    cap.mul_f64(fastrand::f64())
}

/// The journal category of an error code.
pub fn category_of(code: ErrorCode) -> Category {
    match code {
        ErrorCode::Validation | ErrorCode::Input | ErrorCode::Config => Category::Validation,
        ErrorCode::Auth => Category::Auth,
        ErrorCode::Permission => Category::Permission,
        ErrorCode::Conflict => Category::Conflict,
        ErrorCode::Protocol => Category::Protocol,
        ErrorCode::NotFound => Category::NotFound,
        ErrorCode::RateLimit => Category::RateLimit,
        ErrorCode::Transient => Category::Transient,
        ErrorCode::Network => Category::Network,
        ErrorCode::Io | ErrorCode::Cache | ErrorCode::System | ErrorCode::Cancelled => {
            Category::System
        }
    }
}

/// True for failures that may pass by themselves: worth another try.
pub fn retryable(category: Category) -> bool {
    matches!(
        category,
        Category::Transient | Category::Network | Category::RateLimit
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_capped_jittered_and_counted() {
        let policy = RetryPolicy {
            max_retries: 8,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        };
        let delays: Vec<Duration> = policy.delays().collect();
        assert_eq!(delays.len(), 8, "one delay per retry");
        let caps = [100u64, 200, 400, 400, 400, 400, 400, 400];
        for (d, cap) in delays.iter().zip(caps) {
            assert!(
                *d <= Duration::from_millis(cap),
                "full jitter stays under the exponential cap {cap} ms: {d:?}"
            );
        }
        let spread: std::collections::HashSet<u128> = (0..20)
            .flat_map(|_| policy.delays().map(|d| d.as_micros()))
            .collect();
        assert!(spread.len() > 10, "delays are random, not fixed");
        assert_eq!(
            RetryPolicy {
                max_retries: 0,
                ..policy
            }
            .delays()
            .count(),
            0,
            "no retries means no delays"
        );
    }

    #[test]
    fn only_passing_failures_are_retried() {
        for code in [
            ErrorCode::Transient,
            ErrorCode::Network,
            ErrorCode::RateLimit,
        ] {
            assert!(retryable(category_of(code)), "{code:?} may pass: retry");
        }
        for code in [
            ErrorCode::Validation,
            ErrorCode::Auth,
            ErrorCode::Permission,
            ErrorCode::Conflict,
            ErrorCode::Protocol,
            ErrorCode::NotFound,
            ErrorCode::System,
        ] {
            assert!(!retryable(category_of(code)), "{code:?} is permanent");
        }
    }
}
