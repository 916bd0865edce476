//! The key-value state behind the guards and the `kv` capability: counters and flags with a
//! time to live, in a shared store (Redis, filled in by the host) when configured, with this
//! process's memory as the fallback whenever the shared store does not answer.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A store every replica shares (Redis). Each command answers `None` when the store does not
/// answer in time; [`Shared`] then falls back to this process's memory.
#[async_trait::async_trait]
pub trait Remote: Send + Sync + 'static {
    /// Whether the store may be tried now (it is left alone for a while after a failure).
    fn ready(&self) -> bool;
    /// Whether the last command succeeded.
    fn healthy(&self) -> bool;
    async fn incr_by(&self, key: &str, amount: u64, window: Duration) -> Option<(u64, Duration)>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Option<()>;
    async fn get(&self, key: &str) -> Option<Option<(String, Duration)>>;
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> Option<bool>;
    async fn delete_if(&self, key: &str, expected: &str) -> Option<bool>;
    async fn delete(&self, key: &str) -> Option<()>;
}

pub struct Shared {
    remote: Option<Box<dyn Remote>>,
    memory: Memory,
}

impl Shared {
    /// Memory only: one process's view, for development and single-replica deployments.
    pub fn in_memory() -> Self {
        Self {
            remote: None,
            memory: Memory::default(),
        }
    }

    /// `remote` first, this process's memory whenever it does not answer.
    pub fn with_remote(remote: impl Remote) -> Self {
        Self {
            remote: Some(Box::new(remote)),
            memory: Memory::default(),
        }
    }

    /// Whether the last shared-store command succeeded (true when none is configured).
    pub fn redis_healthy(&self) -> bool {
        self.remote.as_ref().is_none_or(|r| r.healthy())
    }

    pub fn uses_redis(&self) -> bool {
        self.remote.is_some()
    }

    /// Adds one to the counter `key`, which lives for `window` from its first increment.
    /// Returns the new count and the time the counter has left.
    pub async fn incr(&self, key: &str, window: Duration) -> (u64, Duration) {
        self.incr_by(key, 1, window).await
    }

    /// Adds `amount` to the counter `key`, as [`Shared::incr`] adds one.
    pub async fn incr_by(&self, key: &str, amount: u64, window: Duration) -> (u64, Duration) {
        if let Some(remote) = self.available()
            && let Some(answer) = remote.incr_by(key, amount, window).await
        {
            return answer;
        }
        self.memory.incr(key, amount, window)
    }

    /// Sets `key` to `value` for `ttl`.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) {
        if let Some(remote) = self.available()
            && remote.set(key, value, ttl).await.is_some()
        {
            return;
        }
        self.memory.set(key, value, ttl)
    }

    /// The value of `key` and the time it has left, if it is set.
    pub async fn get(&self, key: &str) -> Option<(String, Duration)> {
        if let Some(remote) = self.available()
            && let Some(answer) = remote.get(key).await
        {
            return answer;
        }
        self.memory.get(key)
    }

    /// Sets `key` to `value` for `ttl` only when it holds `expected` now (`None`: unset or
    /// expired); whether it did. Atomic across replicas: of callers expecting the same value,
    /// one wins — what spending a single-use secret needs.
    pub async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> bool {
        if let Some(remote) = self.available()
            && let Some(set) = remote.compare_and_set(key, expected, value, ttl).await
        {
            return set;
        }
        self.memory.compare_and_set(key, expected, value, ttl)
    }

    /// Deletes `key` only when it holds `expected`; whether this caller deleted it (of callers
    /// racing for one value, one does).
    pub async fn delete_if(&self, key: &str, expected: &str) -> bool {
        if let Some(remote) = self.available()
            && let Some(deleted) = remote.delete_if(key, expected).await
        {
            return deleted;
        }
        self.memory.delete_if(key, expected)
    }

    pub async fn delete(&self, key: &str) {
        // Both places: a value written to memory while the shared store was down must not
        // outlive it.
        self.memory.delete(key);
        if let Some(remote) = self.available() {
            remote.delete(key).await;
        }
    }

    fn available(&self) -> Option<&dyn Remote> {
        self.remote.as_deref().filter(|r| r.ready())
    }
}

/// Keys with a deadline in a map; expired entries are swept as the map grows.
#[derive(Default)]
struct Memory {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

/// Above this many entries, expired ones are swept on the next write.
const SWEEP_ABOVE: usize = 10_000;

impl Memory {
    fn incr(&self, key: &str, amount: u64, window: Duration) -> (u64, Duration) {
        let now = Instant::now();
        let mut entries = self.lock();
        Self::sweep(&mut entries, now);
        let entry = entries
            .entry(key.to_owned())
            .or_insert_with(|| ("0".to_owned(), now + window));
        if entry.1 <= now {
            *entry = ("0".to_owned(), now + window);
        }
        let count = entry.0.parse::<u64>().unwrap_or(0) + amount;
        entry.0 = count.to_string();
        (count, entry.1 - now)
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.lock();
        Self::sweep(&mut entries, now);
        entries.insert(key.to_owned(), (value.to_owned(), now + ttl));
    }

    fn get(&self, key: &str) -> Option<(String, Duration)> {
        let now = Instant::now();
        let entries = self.lock();
        let (value, deadline) = entries.get(key)?;
        (*deadline > now).then(|| (value.clone(), *deadline - now))
    }

    fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        let current = entries
            .get(key)
            .filter(|(_, deadline)| *deadline > now)
            .map(|(v, _)| v.as_str());
        if current != expected {
            return false;
        }
        entries.insert(key.to_owned(), (value.to_owned(), now + ttl));
        true
    }

    fn delete_if(&self, key: &str, expected: &str) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        let held = entries
            .get(key)
            .is_some_and(|(v, deadline)| v == expected && *deadline > now);
        if held {
            entries.remove(key);
        }
        held
    }

    fn sweep(entries: &mut HashMap<String, (String, Instant)>, now: Instant) {
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, (_, deadline)| *deadline > now);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent: recover it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_counter_counts_within_its_window_and_restarts_after_it() {
        let shared = Shared::in_memory();
        let window = Duration::from_millis(50);
        assert_eq!(shared.incr("k", window).await.0, 1);
        assert_eq!(shared.incr("k", window).await.0, 2);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(shared.incr("k", window).await.0, 1);
    }

    #[tokio::test]
    async fn a_value_expires() {
        let shared = Shared::in_memory();
        shared.set("k", "v", Duration::from_millis(30)).await;
        assert_eq!(shared.get("k").await.unwrap().0, "v");
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(shared.get("k").await.is_none());
    }
}
