//! When and how long to wait before sending a request again.
//!
//! Only idempotent operations are retried: reads, deletes, and writes the
//! spec marks idempotent (`x-idempotent: true`). A create is retried only
//! where the provider accepts an idempotency key (`x-idempotency-key` names
//! the header): one key is made per call and sent on every attempt, so the
//! provider applies it once.

use http::HeaderMap;
use std::time::{Duration, SystemTime};

/// Bounds on retrying one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 never retries.
    pub max_attempts: u32,
    /// The first backoff; it doubles with each attempt, with full jitter.
    pub base_delay: Duration,
    /// No single wait is longer, whatever the backoff or `Retry-After`.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the call began.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_total: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// One attempt, never a retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1):
    /// `Retry-After` when the server sent one, else exponential backoff with
    /// full jitter. `None` when the policy says stop.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        headers: Option<&HeaderMap>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = match headers.and_then(retry_after) {
            Some(wait) if wait > self.max_delay => return None,
            Some(wait) => wait,
            None => {
                let ceiling = self
                    .base_delay
                    .saturating_mul(1 << (attempt - 1).min(16))
                    .min(self.max_delay);
                ceiling.mul_f64(fastrand::f64())
            }
        };
        (elapsed + wait <= self.max_total).then_some(wait)
    }
}

/// How an operation may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once.
    Idempotent,
    /// Never sent twice.
    NotIdempotent,
    /// Retried with the same key in this header on every attempt.
    WithKey(&'static str),
}

/// Statuses worth another attempt: rate limited, or a gateway that could
/// not reach the server.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A fresh idempotency key.
pub(crate) fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, retry_after.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&headers(&soon)).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn delays_are_bounded() {
        let policy = RetryPolicy::default();
        for attempt in 1..3 {
            let wait = policy.delay(attempt, Duration::ZERO, None).unwrap();
            assert!(wait <= policy.base_delay * (1 << (attempt - 1)), "{wait:?}");
        }
        assert_eq!(
            policy.delay(3, Duration::ZERO, None),
            None,
            "attempts are bounded"
        );
        assert_eq!(
            policy.delay(1, Duration::from_secs(29), Some(&headers("5"))),
            None,
            "total time is bounded"
        );
        assert_eq!(
            policy.delay(1, Duration::ZERO, Some(&headers("3"))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            policy.delay(1, Duration::ZERO, Some(&headers("60"))),
            None,
            "a wait beyond max_delay is not taken"
        );
        assert_eq!(RetryPolicy::none().delay(1, Duration::ZERO, None), None);
    }
}
