//! Each account's mapping context (custom field definitions, stages),
//! fetched once and shared by concurrent requests, kept for a while, and
//! refreshed when it is too old or when a write names something it does
//! not know.

use crate::error::UnifiedError;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// How long a context is used before it is fetched again.
pub const DEFAULT_CONTEXT_TTL: Duration = Duration::from_secs(600);

type Shared = Arc<dyn Any + Send + Sync>;

struct Entry {
    cell: Arc<OnceCell<Shared>>,
    created: Instant,
}

/// Contexts by account id (or another key: lookup snapshots are kept by
/// account and lookup).
pub(crate) struct ContextCache<K = Uuid> {
    ttl: Duration,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Eq + Hash + Copy> ContextCache<K> {
    pub fn new(ttl: Duration) -> Self {
        ContextCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops an account's context.
    pub fn forget(&self, account: K) {
        self.lock().remove(&account);
    }

    /// The account's context of type `T`, fetched by `fetch` when there is
    /// none, when it expired, or when it holds another type (the account
    /// changed provider). Concurrent callers share one fetch.
    pub async fn get<T, F>(&self, account: K, fetch: F) -> Result<Arc<T>, UnifiedError>
    where
        T: Send + Sync + 'static,
        F: Future<Output = Result<T, UnifiedError>>,
    {
        let cell = {
            let mut entries = self.lock();
            let stale = entries.get(&account).is_some_and(|entry| {
                entry.created.elapsed() >= self.ttl
                    || entry
                        .cell
                        .get()
                        .is_some_and(|value| !value.as_ref().is::<T>())
            });
            if stale {
                entries.remove(&account);
            }
            entries
                .entry(account)
                .or_insert_with(|| Entry {
                    cell: Arc::default(),
                    created: Instant::now(),
                })
                .cell
                .clone()
        };
        let value = cell
            .get_or_try_init(|| async { fetch.await.map(|value| Arc::new(value) as Shared) })
            .await?
            .clone();
        value.downcast::<T>().map_err(|_| UnifiedError::Internal {
            message: "an account's cached context has another provider's type".into(),
        })
    }
}
