//! Redis as the replicas' shared key-value store behind [`Shared`]: counters and flags with a
//! time to live, each command bounded by a timeout after which this process's memory answers.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use redis::{AsyncCommands, aio::ConnectionManager};
use tokio::sync::OnceCell;

use usvc_core::runtime::kv::{Remote, Shared};

/// How long one Redis command may take before the memory fallback answers instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, Redis is left alone for this long so that requests do not each wait on it.
const REDIS_BACKOFF: Duration = Duration::from_secs(2);

/// Redis at `url`, keys under `prefix`, memory whenever it does not answer. Connecting is lazy:
/// a Redis that is down at start-up is used as soon as it answers.
pub fn shared(url: &str, prefix: &str) -> anyhow::Result<Shared> {
    Ok(Shared::with_remote(Redis::new(url, prefix)?))
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
    fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a Redis URL: {e}"))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            connection: OnceCell::new(),
            retry_after: AtomicU64::new(0),
            down: AtomicBool::new(false),
            started: Instant::now(),
        })
    }

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

#[async_trait::async_trait]
impl Remote for Redis {
    fn ready(&self) -> bool {
        self.started.elapsed().as_millis() as u64 >= self.retry_after.load(Ordering::Relaxed)
    }

    fn healthy(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    async fn incr_by(&self, key: &str, amount: u64, window: Duration) -> Option<(u64, Duration)> {
        let k = self.key(key);
        let (count, ttl) = self
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
            .await?;
        Some((count, Duration::from_millis(ttl.max(0) as u64)))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Option<()> {
        let (k, v) = (self.key(key), value.to_owned());
        let ms = ttl.as_millis().max(1) as u64;
        self.run(|mut c| async move { c.pset_ex::<_, _, ()>(k, v, ms).await })
            .await
    }

    async fn get(&self, key: &str) -> Option<Option<(String, Duration)>> {
        let k = self.key(key);
        let (value, ttl) = self
            .run(|mut c| async move {
                let (value, ttl): (Option<String>, i64) =
                    redis::pipe().get(&k).pttl(&k).query_async(&mut c).await?;
                Ok((value, ttl))
            })
            .await?;
        Some(value.map(|v| (v, Duration::from_millis(ttl.max(0) as u64))))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> Option<bool> {
        let ms = (ttl.as_millis().max(1) as u64).to_string();
        let flag = if expected.is_some() { "1" } else { "0" };
        let args = [flag, expected.unwrap_or_default(), value, &ms];
        Some(self.eval(COMPARE_AND_SET, key, &args).await? == 1)
    }

    async fn delete_if(&self, key: &str, expected: &str) -> Option<bool> {
        Some(self.eval(DELETE_IF, key, &[expected]).await? == 1)
    }

    async fn delete(&self, key: &str) -> Option<()> {
        let k = self.key(key);
        self.run(|mut c| async move { c.del::<_, ()>(k).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_memory() {
        // Nothing listens on port 1.
        let shared = shared("redis://127.0.0.1:1", "t:").unwrap();
        assert_eq!(shared.incr("k", Duration::from_secs(5)).await.0, 1);
        assert!(!shared.redis_healthy());
        assert_eq!(shared.incr("k", Duration::from_secs(5)).await.0, 2);
    }
}
