//! How every call to a bank service is made: one deadline for the whole call, retries with
//! exponential backoff and jitter for transient failures, and a circuit breaker per client that
//! fails calls at once while the service is known to be down. Only idempotent calls come here.

use std::{future::Future, sync::Mutex, time::Duration};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;
use tonic::{Code, Status};

use super::ClientError;
use super::ClientPolicy;

/// The transient failures worth another attempt: the service did not answer, was overloaded, or
/// ran out of time. Anything else is the service's answer, and asking again would not change it.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

/// Failures that say the service is unwell, so they count towards opening the breaker. A refusal
/// (`INVALID_ARGUMENT`, `NOT_FOUND`, …) is a healthy service answering.
fn counts_against_service(code: Code) -> bool {
    is_transient(code) || matches!(code, Code::Internal | Code::Unknown | Code::DataLoss)
}

/// The deadline, retry and breaker policy of one client.
pub struct Resilience {
    client: &'static str,
    policy: ClientPolicy,
    breaker: Breaker,
}

impl Resilience {
    /// `client` names the service in errors, logs and metric labels (`kyc`, `notification`,
    /// `audit`).
    pub fn new(client: &'static str, policy: ClientPolicy) -> Self {
        Self {
            client,
            policy,
            breaker: Breaker::new(client, policy.breaker_threshold, policy.breaker_cooldown),
        }
    }

    pub fn client(&self) -> &'static str {
        self.client
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Makes one idempotent call of `rpc`: `attempt` is run (and given the time left, to send as
    /// the gRPC deadline) until it succeeds, fails with a non-transient status, runs out of
    /// attempts, or the deadline of the whole call would pass. Each attempt asks the breaker
    /// first, so an open breaker ends the call at once.
    pub async fn call<T, F, Fut>(&self, rpc: &'static str, mut attempt: F) -> Result<T, ClientError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let started = Instant::now();
        let deadline = started + self.policy.deadline;
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(self.policy.min_backoff)
            .with_max_delay(self.policy.max_backoff)
            .with_max_times(self.policy.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build();
        loop {
            let Some(permit) = self.breaker.admit() else {
                self.observe("rejected", started);
                return Err(ClientError::BreakerOpen {
                    client: self.client,
                });
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let result = match tokio::time::timeout(left, attempt(left)).await {
                Ok(result) => result,
                Err(_) => Err(Status::deadline_exceeded("the call's deadline passed")),
            };
            let status = match result {
                Ok(value) => {
                    permit.finish(false);
                    self.observe("ok", started);
                    return Ok(value);
                }
                // Whatever went wrong, once the deadline has passed the call timed out.
                Err(_) if Instant::now() >= deadline => {
                    Status::deadline_exceeded("the call's deadline passed")
                }
                Err(status) => status,
            };
            permit.finish(counts_against_service(status.code()));
            if is_transient(status.code())
                && let Some(delay) = delays.next()
                && Instant::now() + delay < deadline
            {
                metrics::counter!("usvc_client_retries_total", "client" => self.client)
                    .increment(1);
                tracing::debug!(client = self.client, rpc, code = ?status.code(), ?delay, "retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
            let outcome = if status.code() == Code::DeadlineExceeded {
                "timed_out"
            } else {
                "failed"
            };
            self.observe(outcome, started);
            return Err(ClientError::Failed {
                client: self.client,
                rpc,
                code: status.code(),
                message: status.message().to_owned(),
            });
        }
    }

    fn observe(&self, outcome: &'static str, started: Instant) {
        metrics::counter!("usvc_client_calls_total", "client" => self.client, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("usvc_client_call_duration_seconds", "client" => self.client, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
    }
}

/// A circuit breaker: closed, it lets every attempt through and counts consecutive failures;
/// after `threshold` of them it opens and refuses attempts for `cooldown`; then it lets exactly
/// one probe through (half-open), which closes it on success or opens it again on failure.
pub struct Breaker {
    client: &'static str,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// Half-open, with its one probe under way.
    Probing,
}

/// Leave to make one attempt; say how it went with [`Permit::finish`].
#[must_use]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    finished: bool,
}

impl Breaker {
    pub fn new(client: &'static str, threshold: u32, cooldown: Duration) -> Self {
        metrics::gauge!("usvc_client_breaker_open", "client" => client).set(0.0);
        Self {
            client,
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether the breaker refuses attempts now (open, or half-open with its probe under way).
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }

    /// Leave for one attempt, or `None` while the breaker is open.
    pub fn admit(&self) -> Option<Permit<'_>> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::Probing;
                true
            }
            State::Open { .. } | State::Probing => return None,
        };
        Some(Permit {
            breaker: self,
            probe,
            finished: false,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, probe: bool, failed: bool) {
        let mut state = self.lock();
        let next = match (*state, failed) {
            (_, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 >= self.threshold => State::Open {
                until: Instant::now() + self.cooldown,
            },
            (State::Closed { failures }, true) => State::Closed {
                failures: failures + 1,
            },
            (State::Probing, true) if probe => State::Open {
                until: Instant::now() + self.cooldown,
            },
            // An attempt let through before the breaker opened: only the probe decides now.
            (state @ (State::Open { .. } | State::Probing), true) => state,
        };
        let was_closed = matches!(*state, State::Closed { .. });
        let now_closed = matches!(next, State::Closed { .. });
        *state = next;
        drop(state);
        if was_closed && !now_closed {
            tracing::warn!(client = self.client, cooldown = ?self.cooldown, "circuit breaker opened: calls fail at once until a probe succeeds");
            metrics::gauge!("usvc_client_breaker_open", "client" => self.client).set(1.0);
        } else if !was_closed && now_closed {
            tracing::info!(
                client = self.client,
                "circuit breaker closed: the service answers again"
            );
            metrics::gauge!("usvc_client_breaker_open", "client" => self.client).set(0.0);
        }
    }
}

impl Permit<'_> {
    /// Records the attempt's outcome: `failed` when it says the service is unwell.
    pub fn finish(mut self, failed: bool) {
        self.finished = true;
        self.breaker.record(self.probe, failed);
    }
}

impl Drop for Permit<'_> {
    /// A probe abandoned without an outcome (its call was cancelled) gives the next caller
    /// the chance to probe instead.
    fn drop(&mut self) {
        if self.probe && !self.finished {
            let mut state = self.breaker.lock();
            if *state == State::Probing {
                *state = State::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use super::*;

    fn policy() -> ClientPolicy {
        ClientPolicy {
            deadline: Duration::from_secs(2),
            max_attempts: 3,
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(10),
        }
    }

    /// An attempt that fails with `code` the first `failures` times, then answers `"ok"`.
    fn flaky(
        failures: u32,
        code: Code,
    ) -> (
        Arc<AtomicU32>,
        impl FnMut(Duration) -> std::future::Ready<Result<&'static str, Status>>,
    ) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let attempt = move |_left: Duration| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            std::future::ready(if n < failures {
                Err(Status::new(code, "injected"))
            } else {
                Ok("ok")
            })
        };
        (calls, attempt)
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_growing_waits() {
        let resilience = Resilience::new("test", policy());
        let (calls, attempt) = flaky(2, Code::Unavailable);
        let started = Instant::now();
        assert_eq!(resilience.call("Rpc", attempt).await.unwrap(), "ok");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Waits of [50, 100) and [100, 200) ms: backoff with jitter, never less than the base.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_millis(300),
            "{waited:?}"
        );
        assert!(!resilience.breaker().is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded() {
        let resilience = Resilience::new("test", policy());
        let (calls, attempt) = flaky(10, Code::ResourceExhausted);
        let err = resilience.call("Rpc", attempt).await.unwrap_err();
        assert_eq!(err.code(), Some(Code::ResourceExhausted));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_from_the_service_is_not_retried() {
        let resilience = Resilience::new("test", policy());
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::PermissionDenied,
            Code::Internal,
        ] {
            let (calls, attempt) = flaky(1, code);
            let err = resilience.call("Rpc", attempt).await.unwrap_err();
            assert_eq!(err.code(), Some(code));
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{code:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_covers_the_whole_call() {
        let resilience = Resilience::new("test", policy());
        let started = Instant::now();
        let err = resilience
            .call("Rpc", |left| async move {
                assert!(left <= Duration::from_secs(2));
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, Status>(())
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(Code::DeadlineExceeded));
        assert_eq!(started.elapsed(), Duration::from_secs(2));

        // A retry that would wait past the deadline is not made.
        let mut lefts = Vec::new();
        let err = resilience
            .call("Rpc", |left| {
                lefts.push(left);
                async move {
                    tokio::time::sleep(Duration::from_millis(1950)).await;
                    Err::<(), _>(Status::unavailable("down"))
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(Code::Unavailable));
        assert_eq!(lefts, [Duration::from_secs(2)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_fails_fast_and_closes_after_a_successful_probe() {
        let resilience = Resilience::new("test", policy());
        // Three consecutive failed attempts (one call, retried twice) open it.
        let (calls, attempt) = flaky(u32::MAX, Code::Unavailable);
        assert!(resilience.call("Rpc", attempt).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(resilience.breaker().is_open());

        // Open: refused without an attempt.
        let (calls, attempt) = flaky(0, Code::Ok);
        let err = resilience.call("Rpc", attempt).await.unwrap_err();
        assert!(
            matches!(err, ClientError::BreakerOpen { client: "test" }),
            "{err}"
        );
        assert!(err.to_string().contains("circuit breaker is open"));
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        // After the cool-down one probe goes through; a failed probe opens it again.
        tokio::time::advance(Duration::from_secs(10)).await;
        let (calls, attempt) = flaky(u32::MAX, Code::Unavailable);
        assert!(resilience.call("Rpc", attempt).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the probe is not retried");
        assert!(resilience.breaker().is_open());
        let (calls, attempt) = flaky(0, Code::Ok);
        assert!(resilience.call("Rpc", attempt).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        // A successful probe closes it.
        tokio::time::advance(Duration::from_secs(10)).await;
        let (calls, attempt) = flaky(0, Code::Ok);
        assert_eq!(resilience.call("Rpc", attempt).await.unwrap(), "ok");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!resilience.breaker().is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn only_one_probe_at_a_time_and_an_abandoned_probe_frees_the_next() {
        let breaker = Breaker::new("test", 1, Duration::from_secs(5));
        breaker.admit().unwrap().finish(true);
        assert!(breaker.admit().is_none());
        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = breaker.admit().expect("the probe");
        assert!(
            breaker.admit().is_none(),
            "a second caller waits for the probe"
        );
        drop(probe);
        breaker.admit().expect("the next probe").finish(false);
        assert!(!breaker.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn successes_reset_the_count_and_refusals_do_not_count() {
        let breaker = Breaker::new("test", 3, Duration::from_secs(5));
        for _ in 0..2 {
            breaker.admit().unwrap().finish(true);
        }
        breaker.admit().unwrap().finish(false);
        for _ in 0..2 {
            breaker.admit().unwrap().finish(true);
        }
        assert!(!breaker.is_open());
        assert!(!counts_against_service(Code::InvalidArgument));
        assert!(!counts_against_service(Code::NotFound));
        assert!(counts_against_service(Code::Internal));
        breaker.admit().unwrap().finish(true);
        assert!(breaker.is_open());
    }
}
