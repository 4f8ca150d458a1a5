//! This server's own limits: request rates per tenant and per integrated
//! account (GCRA via `governor`: a burst of N, refilled evenly over the
//! period) and concurrent streams per tenant. Over a limit: 429 with
//! `Retry-After`, and an error body that says the limit is this server's,
//! not the provider's. Limits are counted in memory, per replica.

use crate::errors::ApiError;
use axum::http::StatusCode;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// `N` requests per `period` (`500/10s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub period: Duration,
}

impl Rate {
    pub fn new(requests: u32, period: Duration) -> Option<Rate> {
        let requests = NonZeroU32::new(requests)?;
        (!period.is_zero()).then_some(Rate { requests, period })
    }

    fn quota(self) -> Option<Quota> {
        Quota::with_period(self.period / self.requests.get())
            .map(|quota| quota.allow_burst(self.requests))
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let period = self.period;
        if period.subsec_nanos() == 0 {
            write!(f, "{}/{}s", self.requests, period.as_secs())
        } else {
            write!(f, "{}/{}ms", self.requests, period.as_millis())
        }
    }
}

/// A rate limit option: `N/PERIOD` (`500/10s`, `50/1m`, `5/500ms`, `10/s`)
/// or `0` for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateOption(pub Option<Rate>);

impl FromStr for RateOption {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "0" {
            return Ok(RateOption(None));
        }
        let bad = || format!("`{text}` is not N/PERIOD (e.g. 500/10s, 50/1m, 5/500ms) or 0");
        let (count, period) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Ok(RateOption(None));
        }
        let period = parse_duration(period.trim()).ok_or_else(bad)?;
        Rate::new(count, period)
            .map(|rate| RateOption(Some(rate)))
            .ok_or_else(bad)
    }
}

/// `10s`, `1m`, `500ms`, `1h`, or a unit alone (`s` = `1s`).
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = if number.is_empty() {
        1
    } else {
        number.parse().ok()?
    };
    let millis = match unit {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// What is limited.
#[derive(Clone, Copy, Debug)]
enum Scope {
    Tenant,
    Account,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Tenant => "tenant",
            Scope::Account => "integrated account",
        }
    }
}

struct Keyed<K: std::hash::Hash + Eq + Clone> {
    rate: Rate,
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Option<Rate>) -> Option<Self> {
        let rate = rate?;
        let quota = rate.quota()?;
        Some(Keyed {
            rate,
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        })
    }

    /// `Err(wait)` when over the limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        // Now and then, forget keys whose buckets are full again.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

/// The limits in force and their counters.
pub struct Limits {
    tenant: Option<Keyed<i64>>,
    account: Option<Keyed<Uuid>>,
    max_streams: usize,
    streams: Mutex<HashMap<i64, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("tenant", &self.tenant.as_ref().map(|keyed| keyed.rate))
            .field("account", &self.account.as_ref().map(|keyed| keyed.rate))
            .field("max_streams", &self.max_streams)
            .finish()
    }
}

/// Held while a stream runs; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Limits {
    /// `max_streams` 0 means no cap.
    pub fn new(tenant: Option<Rate>, account: Option<Rate>, max_streams: usize) -> Self {
        Limits {
            tenant: Keyed::new(tenant),
            account: Keyed::new(account),
            max_streams,
            streams: Mutex::default(),
        }
    }

    pub fn check_tenant(&self, tenant: i64) -> Result<(), ApiError> {
        match &self.tenant {
            Some(keyed) => keyed
                .check(&tenant)
                .map_err(|wait| rate_limited(Scope::Tenant, keyed.rate, wait)),
            None => Ok(()),
        }
    }

    pub fn check_account(&self, account: Uuid) -> Result<(), ApiError> {
        match &self.account {
            Some(keyed) => keyed
                .check(&account)
                .map_err(|wait| rate_limited(Scope::Account, keyed.rate, wait)),
            None => Ok(()),
        }
    }

    /// A slot for one more stream of `tenant`, or a 429.
    pub fn stream_slot(&self, tenant: i64) -> Result<StreamSlot, ApiError> {
        if self.max_streams == 0 {
            return Ok(StreamSlot { _permit: None });
        }
        let semaphore = {
            let mut streams = self
                .streams
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            streams
                .entry(tenant)
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_streams)))
                .clone()
        };
        semaphore
            .try_acquire_owned()
            .map(|permit| StreamSlot {
                _permit: Some(permit),
            })
            .map_err(|_| {
                let mut error = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "this server's limit of {} concurrent streams per tenant is reached (a limit of this API server, not of the provider); retry when a stream ends",
                        self.max_streams
                    ),
                );
                error.retry_after = Some(1);
                error.limit = Some(Box::new(json!({"source": "server", "scope": "streams", "limit": self.max_streams})));
                error
            })
    }
}

fn rate_limited(scope: Scope, rate: Rate, wait: Duration) -> ApiError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this server's rate limit per {} ({} requests per {}) is exceeded; retry after {seconds} s. This limit is the unified API server's, not the provider's.",
            scope.name(),
            rate.requests,
            humantime(rate.period),
        ),
    );
    error.retry_after = Some(u32::try_from(seconds).unwrap_or(u32::MAX));
    error.limit = Some(Box::new(json!({
        "source": "server",
        "scope": match scope { Scope::Tenant => "tenant", Scope::Account => "account" },
        "limit": rate.requests.get(),
        "period_seconds": rate.period.as_secs_f64(),
    })));
    error
}

fn humantime(period: Duration) -> String {
    if period.subsec_nanos() == 0 {
        format!("{} s", period.as_secs())
    } else {
        format!("{} ms", period.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        let rate = |text: &str| text.parse::<RateOption>().map(|option| option.0);
        assert_eq!(rate("500/10s"), Ok(Rate::new(500, Duration::from_secs(10))));
        assert_eq!(rate("50/1m"), Ok(Rate::new(50, Duration::from_secs(60))));
        assert_eq!(
            rate("5/500ms"),
            Ok(Rate::new(5, Duration::from_millis(500)))
        );
        assert_eq!(rate("10/s"), Ok(Rate::new(10, Duration::from_secs(1))));
        assert_eq!(rate("0"), Ok(None));
        assert_eq!(rate("0/10s"), Ok(None));
        for bad in [
            "",
            "10",
            "10/",
            "10/0s",
            "x/10s",
            "10/10x",
            "-1/10s",
            "10/10 s s",
        ] {
            assert!(rate(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Rate::new(500, Duration::from_secs(10)).unwrap().to_string(),
            "500/10s"
        );
    }

    #[test]
    fn a_burst_then_429_with_retry_after() {
        let limits = Limits::new(Rate::new(3, Duration::from_secs(30)), None, 0);
        for _ in 0..3 {
            assert!(limits.check_tenant(1).is_ok());
        }
        let error = limits.check_tenant(1).unwrap_err();
        assert_eq!(error.status, StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=10).contains(&error.retry_after.unwrap()));
        assert!(error.message.contains("not the provider's"));
        // Another tenant has its own budget; accounts are not limited here.
        assert!(limits.check_tenant(2).is_ok());
        assert!(limits.check_account(Uuid::nil()).is_ok());
    }

    #[test]
    fn stream_slots_are_freed_when_dropped() {
        let limits = Limits::new(None, None, 1);
        let slot = limits.stream_slot(1).unwrap();
        assert!(limits.stream_slot(1).is_err());
        assert!(limits.stream_slot(2).is_ok());
        drop(slot);
        assert!(limits.stream_slot(1).is_ok());
    }
}
