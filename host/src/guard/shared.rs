//! The key-value state behind the guards: counters and flags with a time to live, in Redis when
//! configured, with this process's memory as the fallback whenever Redis does not answer.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{AsyncCommands, aio::ConnectionManager};
use tokio::sync::OnceCell;

/// How long one Redis command may take before the memory fallback answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, Redis is left alone for this long so that requests do not each wait on it.
const REDIS_BACKOFF: Duration = Duration::from_secs(2);

pub struct Shared {
    redis: Option<Redis>,
    memory: Memory,
}

impl Shared {
    /// Memory only: one process's view, for development and single-replica deployments.
    pub fn in_memory() -> Self {
        Self {
            redis: None,
            memory: Memory::default(),
        }
    }

    /// Redis at `url`, keys under `prefix`. Connecting is lazy: a Redis that is down at start-up
    /// is used as soon as it answers.
    pub fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a Redis URL: {e}"))?;
        Ok(Self {
            redis: Some(Redis {
                client,
                prefix: prefix.to_owned(),
                connection: OnceCell::new(),
                retry_after: AtomicU64::new(0),
                down: AtomicBool::new(false),
                started: Instant::now(),
            }),
            memory: Memory::default(),
        })
    }

    /// Whether the last Redis command succeeded (true when Redis is not configured).
    pub fn redis_healthy(&self) -> bool {
        self.redis
            .as_ref()
            .is_none_or(|r| !r.down.load(Ordering::Relaxed))
    }

    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Adds one to the counter `key`, which lives for `window` from its first increment.
    /// Returns the new count and the time the counter has left.
    pub async fn incr(&self, key: &str, window: Duration) -> (u64, Duration) {
        self.incr_by(key, 1, window).await
    }

    /// Adds `amount` to the counter `key`, as [`Shared::incr`] adds one.
    pub async fn incr_by(&self, key: &str, amount: u64, window: Duration) -> (u64, Duration) {
        if let Some(redis) = self.available() {
            let k = redis.key(key);
            let result = redis
                .run(|mut c| async move {
                    // Create the counter with its window, then count: one round trip.
                    let (count, ttl): (u64, i64) = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg(&k)
                        .arg(0)
                        .arg("PX")
                        .arg(window.as_millis().max(1) as u64)
                        .arg("NX")
                        .ignore()
                        .incr(&k, amount)
                        .pttl(&k)
                        .query_async(&mut c)
                        .await?;
                    Ok((count, ttl))
                })
                .await;
            if let Some((count, ttl)) = result {
                return (count, Duration::from_millis(ttl.max(0) as u64));
            }
        }
        self.memory.incr(key, amount, window)
    }

    /// Sets `key` to `value` for `ttl`.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) {
        if let Some(redis) = self.available() {
            let (k, v) = (redis.key(key), value.to_owned());
            let ms = ttl.as_millis().max(1) as u64;
            if redis
                .run(|mut c| async move { c.pset_ex::<_, _, ()>(k, v, ms).await })
                .await
                .is_some()
            {
                return;
            }
        }
        self.memory.set(key, value, ttl)
    }

    /// The value of `key` and the time it has left, if it is set.
    pub async fn get(&self, key: &str) -> Option<(String, Duration)> {
        if let Some(redis) = self.available() {
            let k = redis.key(key);
            let result = redis
                .run(|mut c| async move {
                    let (value, ttl): (Option<String>, i64) =
                        redis::pipe().get(&k).pttl(&k).query_async(&mut c).await?;
                    Ok((value, ttl))
                })
                .await;
            if let Some((value, ttl)) = result {
                return value.map(|v| (v, Duration::from_millis(ttl.max(0) as u64)));
            }
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
        if let Some(redis) = self.available() {
            let ms = (ttl.as_millis().max(1) as u64).to_string();
            let flag = if expected.is_some() { "1" } else { "0" };
            let args = [flag, expected.unwrap_or_default(), value, &ms];
            if let Some(set) = redis.eval(COMPARE_AND_SET, key, &args).await {
                return set == 1;
            }
        }
        self.memory.compare_and_set(key, expected, value, ttl)
    }

    /// Deletes `key` only when it holds `expected`; whether this caller deleted it (of callers
    /// racing for one value, one does).
    pub async fn delete_if(&self, key: &str, expected: &str) -> bool {
        if let Some(redis) = self.available()
            && let Some(deleted) = redis.eval(DELETE_IF, key, &[expected]).await
        {
            return deleted == 1;
        }
        self.memory.delete_if(key, expected)
    }

    pub async fn delete(&self, key: &str) {
        // Both places: a value written to memory while Redis was down must not outlive it.
        self.memory.delete(key);
        if let Some(redis) = self.available() {
            let k = redis.key(key);
            redis
                .run(|mut c| async move { c.del::<_, ()>(k).await })
                .await;
        }
    }

    fn available(&self) -> Option<&Redis> {
        self.redis.as_ref().filter(|r| r.ready())
    }
}

/// `compare_and_set` on Redis, as one script (Redis runs it without interleaving another command).
/// ARGV: whether a value is expected (`1`/`0`), the expected value, the new value, the TTL in ms.
const COMPARE_AND_SET: &str = "local current = redis.call('GET', KEYS[1]) \
    if (ARGV[1] == '0' and not current) or (ARGV[1] == '1' and current == ARGV[2]) then \
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) return 1 end return 0";
/// `delete_if` on Redis. ARGV: the expected value.
const DELETE_IF: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

struct Redis {
    client: redis::Client,
    prefix: String,
    connection: OnceCell<ConnectionManager>,
    /// Milliseconds since `started` before which Redis is not tried again.
    retry_after: AtomicU64,
    down: AtomicBool,
    started: Instant,
}

impl Redis {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs `script` on one key with `args`; its integer answer, `None` when Redis does not
    /// answer.
    async fn eval(&self, script: &'static str, key: &str, args: &[&str]) -> Option<i64> {
        let key = self.key(key);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.run(|mut c| async move {
            redis::cmd("EVAL")
                .arg(script)
                .arg(1)
                .arg(key)
                .arg(args)
                .query_async(&mut c)
                .await
        })
        .await
    }

    fn ready(&self) -> bool {
        self.started.elapsed().as_millis() as u64 >= self.retry_after.load(Ordering::Relaxed)
    }

    /// Runs one command; `None` (and the fallback for a while) when Redis does not answer.
    async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let connection = self
                .connection
                .get_or_try_init(|| async {
                    let config = redis::aio::ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(REDIS_TIMEOUT))
                        .set_response_timeout(Some(REDIS_TIMEOUT))
                        .set_number_of_retries(1);
                    ConnectionManager::new_with_config(self.client.clone(), config).await
                })
                .await?;
            command(connection.clone()).await
        };
        match tokio::time::timeout(REDIS_TIMEOUT * 2, attempt).await {
            Ok(Ok(value)) => {
                metrics::gauge!("usvc_redis_up").set(1.0);
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again; shared limits and revocations resume");
                }
                Some(value)
            }
            failure => {
                let error = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                let until = self.started.elapsed() + REDIS_BACKOFF;
                self.retry_after
                    .store(until.as_millis() as u64, Ordering::Relaxed);
                metrics::gauge!("usvc_redis_up").set(0.0);
                metrics::counter!("usvc_redis_failures_total").increment(1);
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error, "Redis is unreachable; limits and revocations fall back to this process's memory");
                }
                None
            }
        }
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

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_memory() {
        // Nothing listens on port 1.
        let shared = Shared::redis("redis://127.0.0.1:1", "t:").unwrap();
        assert_eq!(shared.incr("k", Duration::from_secs(5)).await.0, 1);
        assert!(!shared.redis_healthy());
        assert_eq!(shared.incr("k", Duration::from_secs(5)).await.0, 2);
    }
}
