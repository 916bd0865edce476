//! The Wasm runtime: one wasmtime engine with the pooling allocator, the registry of loaded
//! components, and the call protocol — a fresh store and instance per call, a deadline, a memory
//! cap, and one unit of work that commits only when the component says `ok` — linking each kind
//! to exactly the capabilities (`usvc-capabilities`) its world imports. Nothing here speaks
//! HTTP, gRPC, AMQP, Redis or S3.

pub mod artifact;
pub mod bindings;
mod call;
pub mod decision;
pub mod keys;
pub mod limits;
pub mod mfa;
pub mod onboarding;
mod registry;
pub mod verification;

// The capabilities and the services behind them, under the names the runtime has always used.
pub use usvc_capabilities::{self as capabilities, clock, codes, exceeded, kv, notify, password};

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

pub use call::{CallState, MemoryCapExceeded};
pub use decision::{Ask, Role, Trial, TrialMode};
pub use limits::SandboxLimit;
pub use registry::{ComponentKind, LoadedComponent, Registry};

// The persistence layer, under the names the runtime has always used for it.
use usvc_store::{self as store, secrets};

use crate::{
    capabilities::{Capabilities, CapabilityFailure},
    limits::RuntimeLimits,
    store::decisions::{self, DecisionRecord},
};
use decision::{failure_outcome, in_canary};

/// How often the engine's epoch advances; a call's deadline is counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why a component call produced no answer. Every variant leaves nothing written.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no {0} component is loaded")]
    NotLoaded(ComponentKind),
    #[error("the {0} component ran past its deadline")]
    Timeout(ComponentKind),
    #[error("the {0} component exceeded its memory cap")]
    MemoryExceeded(ComponentKind),
    #[error("the {kind} component failed: {message}")]
    Trapped {
        kind: ComponentKind,
        message: String,
    },
    #[error("a capability failed: {0}")]
    Capability(#[source] anyhow::Error),
    /// A sandbox bound on what a call leaves behind (see [`SandboxLimit`]).
    #[error("the {kind} component exceeded {limit}")]
    SandboxLimit {
        kind: ComponentKind,
        limit: SandboxLimit,
    },
}

pub type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

pub struct Runtime {
    engine: Engine,
    registry: Registry,
    limits: RuntimeLimits,
    /// Per kind, a slot per instance the kind may run at once.
    slots: BTreeMap<ComponentKind, Semaphore>,
    /// A slot per instance the engine's pool holds, shared by every kind.
    pool: Semaphore,
}

/// Whether a call's writes count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effects<'a> {
    /// The unit of work commits when the answer says so, and `kv` writes spend `subject`'s
    /// budget (see `CallState::kv_admit`).
    Kept { subject: Option<&'a str> },
    /// Everything is rolled back and nothing is sent, whatever the answer (a shadow, a replay,
    /// a self-test).
    Discarded,
}

impl Runtime {
    pub fn new(limits: RuntimeLimits) -> anyhow::Result<Self> {
        // Exported from the start, at zero, so alerts and panels see a series before any limit
        // is hit (increments of zero leave another runtime's counts in this process alone).
        for kind in ComponentKind::ALL {
            for limit in ["deadline", "memory", "instances"] {
                metrics::counter!("usvc_component_limit_exceeded_total", "kind" => kind.name(), "limit" => limit)
                    .increment(0);
            }
        }
        metrics::counter!("usvc_decision_log_failures_total").increment(0);
        let engine = new_engine(&limits)?;
        spawn_epoch_ticker(&engine);
        Ok(Self {
            registry: Registry::new(engine.clone()),
            slots: ComponentKind::ALL
                .into_iter()
                .map(|kind| (kind, Semaphore::new(limits.of(kind).instances as usize)))
                .collect(),
            pool: Semaphore::new(limits.max_concurrent_calls.max(1) as usize),
            engine,
            limits,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one call of an `ask.kind` component: `invoke` instantiates and calls an export on a
    /// fresh store. The unit of work commits when `commits(&result)` says so, and rolls back
    /// otherwise or when the call traps, runs out of time or memory.
    ///
    /// The version that decides is the kind's active one, or its canary for a customer in the
    /// canary's share. A shadow candidate is first evaluated on the same input with every write
    /// discarded, and its `outcome` compared with the deciding version's. Every decision is
    /// logged (`component_decisions`): a committed one in its own transaction.
    pub async fn call<R: Send>(
        &self,
        caps: &Arc<Capabilities>,
        ask: Ask,
        commits: impl Fn(&R) -> bool,
        outcome: impl Fn(&R) -> String,
        invoke: impl for<'a> FnOnce(&'a mut Store<CallState>, &'a LoadedComponent) -> CallFuture<'a, R>
        + Clone
        + Send,
    ) -> Result<R, CallError> {
        let kind = ask.kind;
        let _slots = self.instances(kind).await?;
        if let Some(candidate) = &ask.replaying {
            return self
                .run(
                    caps,
                    candidate,
                    Effects::Discarded,
                    &commits,
                    invoke,
                    |_, _| None,
                )
                .await;
        }
        let active = self
            .registry
            .active(kind)
            .ok_or(CallError::NotLoaded(kind))?;
        let trial = self.registry.trial(kind);

        let (decider, role) = match trial.as_deref() {
            Some(Trial {
                candidate,
                mode: TrialMode::Canary { percent },
            }) if ask.split_key().is_some_and(|key| in_canary(key, *percent)) => {
                (candidate.clone(), Role::Canary)
            }
            _ => (active, Role::Active),
        };
        // The shadow runs first, so it sees what the deciding version sees.
        let shadow = match trial.as_deref() {
            Some(Trial {
                candidate,
                mode: TrialMode::Shadow,
            }) => {
                let started = Instant::now();
                let answer = self
                    .run(
                        caps,
                        candidate,
                        Effects::Discarded,
                        &commits,
                        invoke.clone(),
                        |_, _| None,
                    )
                    .await;
                let outcome = answer.as_ref().map_or_else(failure_outcome, &outcome);
                Some((candidate.clone(), outcome, started.elapsed()))
            }
            _ => None,
        };

        let started = Instant::now();
        let mut logged = None;
        let answer = self
            .run(
                caps,
                &decider,
                Effects::Kept {
                    subject: ask.split_key(),
                },
                &commits,
                invoke,
                |result, elapsed| {
                    // Logged in the unit of work it decided.
                    let record = ask.record(
                        &caps.secrets,
                        &decider,
                        role,
                        outcome(result),
                        elapsed,
                        caps.clock.unix(),
                    );
                    logged = Some(record.outcome.clone());
                    Some(record)
                },
            )
            .await;
        let decided = match logged {
            Some(logged) => logged,
            // Refused or failed: logged on its own.
            None => {
                let decided = answer.as_ref().map_or_else(failure_outcome, &outcome);
                let record = ask.record(
                    &caps.secrets,
                    &decider,
                    role,
                    decided.clone(),
                    started.elapsed(),
                    caps.clock.unix(),
                );
                self.log(caps, record).await;
                decided
            }
        };

        if let Some((candidate, shadow_outcome, elapsed)) = shadow {
            let agreed = shadow_outcome == decided;
            if !agreed {
                metrics::counter!("usvc_component_shadow_disagreements_total", "kind" => kind.name())
                    .increment(1);
                tracing::info!(%kind, operation = ask.operation, candidate = %candidate.digest, decided = %decided, shadow = %shadow_outcome, "the shadow candidate disagreed");
            }
            metrics::counter!("usvc_component_shadow_evaluations_total", "kind" => kind.name())
                .increment(1);
            let mut record = ask.record(
                &caps.secrets,
                &candidate,
                Role::Shadow,
                shadow_outcome,
                elapsed,
                caps.clock.unix(),
            );
            record.agreed = Some(agreed);
            self.log(caps, record).await;
        }
        answer
    }

    /// Runs the component's exported self-test, if it has one, with every write discarded:
    /// `Ok(false)` when it has none, `Ok(true)` when it passed, `Err` saying why it failed.
    pub async fn self_test(
        &self,
        caps: &Arc<Capabilities>,
        component: &LoadedComponent,
    ) -> Result<bool, String> {
        let Some(run) = component.self_test else {
            return Ok(false);
        };
        let _slots = self
            .instances(component.kind)
            .await
            .map_err(|e| e.to_string())?;
        let answer = self
            .run(
                caps,
                component,
                Effects::Discarded,
                &|_| false,
                move |store, component| {
                    Box::pin(async move {
                        let instance = component
                            .prepared
                            .instance_pre()
                            .instantiate_async(&mut *store)
                            .await?;
                        let run = instance
                            .get_typed_func::<(), (Result<(), String>,)>(&mut *store, &run)?;
                        let (passed,) = run.call_async(&mut *store, ()).await?;
                        Ok(passed)
                    })
                },
                |_, _| None,
            )
            .await;
        match answer {
            Ok(Ok(())) => Ok(true),
            Ok(Err(why)) => Err(why),
            Err(error) => Err(error.to_string()),
        }
    }

    /// An instance of `kind` and one of the engine's pool, waited for at most half the kind's
    /// deadline: a kind whose instances are all busy that long is saturated, and the caller
    /// hears so at once. Held for the whole call (a shadow and its real call run one after
    /// the other on it).
    async fn instances(
        &self,
        kind: ComponentKind,
    ) -> Result<(SemaphorePermit<'_>, SemaphorePermit<'_>), CallError> {
        let wait = self.limits.of(kind).deadline / 2;
        let acquired = tokio::time::timeout(wait, async {
            let of_kind = self.slots[&kind].acquire().await;
            let of_pool = self.pool.acquire().await;
            (of_kind, of_pool)
        })
        .await;
        match acquired {
            Ok((Ok(of_kind), Ok(of_pool))) => Ok((of_kind, of_pool)),
            Ok(_) => unreachable!("the call semaphores are never closed"),
            Err(_) => {
                exceeded(kind, "instances");
                Err(CallError::Timeout(kind))
            }
        }
    }

    /// Writes a decision that has no unit of work of its own (refused, failed or a shadow's).
    async fn log(&self, caps: &Capabilities, record: DecisionRecord) {
        let written = async {
            let mut conn = caps.db.acquire().await?;
            decisions::insert(&mut conn, &record).await
        }
        .await;
        if let Err(error) = written {
            metrics::counter!("usvc_decision_log_failures_total").increment(1);
            tracing::error!(%error, kind = %record.kind, operation = %record.operation, "a component decision was not logged");
        }
    }

    /// One call on `component`: a fresh store under the kind's limits. When the answer commits,
    /// `log` makes the decision's record, written in the same transaction.
    async fn run<R: Send>(
        &self,
        caps: &Arc<Capabilities>,
        component: &LoadedComponent,
        effects: Effects<'_>,
        commits: &impl Fn(&R) -> bool,
        invoke: impl for<'a> FnOnce(&'a mut Store<CallState>, &'a LoadedComponent) -> CallFuture<'a, R>
        + Send,
        log: impl FnOnce(&R, Duration) -> Option<DecisionRecord>,
    ) -> Result<R, CallError> {
        let kind = component.kind;
        let limits = self.limits.of(kind);
        let started = Instant::now();
        let subject = match effects {
            Effects::Kept { subject } => subject,
            Effects::Discarded => None,
        };
        let mut state = CallState::new(caps.clone(), kind, limits.memory_bytes)
            .bounded(self.limits.sandbox, subject);
        if effects == Effects::Discarded {
            state.discard_writes();
        }
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        // Guest code yields to the executor at every epoch tick, so a long computation never
        // holds a worker thread other requests need, and is stopped once the call's budget of
        // ticks is spent.
        let budget = (limits.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let mut spent = 0u64;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            spent += 1;
            Ok(if spent >= budget {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });

        // The epoch deadline stops guest code; this timeout also covers time spent awaiting
        // host capabilities. Dropping the future cancels the call.
        let outcome = tokio::time::timeout(limits.deadline, invoke(&mut store, component)).await;
        let mut state = store.into_data();
        let elapsed = started.elapsed();
        let role = if effects != Effects::Discarded {
            ""
        } else {
            " (shadow)"
        };
        match outcome {
            Ok(Ok(result)) if effects != Effects::Discarded && commits(&result) => {
                if let Some(record) = log(&result, elapsed) {
                    let conn = state
                        .work
                        .conn(&caps.db)
                        .await
                        .map_err(|e| CallError::Capability(e.into()))?;
                    decisions::insert(conn, &record)
                        .await
                        .map_err(|e| CallError::Capability(e.into()))?;
                }
                let notifications = state
                    .work
                    .commit()
                    .await
                    .map_err(|e| CallError::Capability(e.into()))?;
                caps.outbox_committed.notify_one();
                for notification in notifications {
                    if let Err(error) = caps.notifier.deliver(&notification).await {
                        tracing::error!(%error, user_id = %notification.user_id, "notification not delivered");
                    }
                }
                observe(kind, "committed", elapsed);
                tracing::debug!(%kind, digest = %component.digest, ?elapsed, "component call committed");
                Ok(result)
            }
            Ok(Ok(result)) => {
                state.work.rollback().await;
                observe(kind, "refused", elapsed);
                tracing::debug!(%kind, ?elapsed, "component call refused{role}; rolled back");
                Ok(result)
            }
            Ok(Err(error)) => {
                let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
                state.work.rollback().await;
                let error = classify(kind, error);
                observe(kind, "failed", elapsed);
                tracing::warn!(%kind, digest = %component.digest, %error, stderr = %stderr.trim(), "component call failed{role}; rolled back");
                Err(error)
            }
            Err(_elapsed) => {
                state.work.rollback().await;
                observe(kind, "timed_out", elapsed);
                exceeded(kind, "deadline");
                tracing::warn!(%kind, digest = %component.digest, "component call timed out{role}; rolled back");
                Err(CallError::Timeout(kind))
            }
        }
    }
}

/// `usvc_component_calls_total` and `usvc_component_call_duration_seconds`, by kind and outcome.
fn observe(kind: ComponentKind, outcome: &'static str, elapsed: std::time::Duration) {
    let labels = [("kind", kind.name()), ("outcome", outcome)];
    metrics::counter!("usvc_component_calls_total", &labels).increment(1);
    metrics::histogram!("usvc_component_call_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}

fn classify(kind: ComponentKind, error: wasmtime::Error) -> CallError {
    if let Some(Trap::Interrupt) = error.downcast_ref::<Trap>() {
        exceeded(kind, "deadline");
        return CallError::Timeout(kind);
    }
    if error.downcast_ref::<MemoryCapExceeded>().is_some() {
        exceeded(kind, "memory");
        return CallError::MemoryExceeded(kind);
    }
    if let Some(limit) = error.downcast_ref::<SandboxLimit>() {
        return CallError::SandboxLimit {
            kind,
            limit: *limit,
        };
    }
    if error.downcast_ref::<CapabilityFailure>().is_some() {
        return CallError::Capability(error.into());
    }
    CallError::Trapped {
        kind,
        message: format!("{error:#}"),
    }
}

fn new_engine(limits: &RuntimeLimits) -> anyhow::Result<Engine> {
    // Room for every kind's instances at once, each as large as the largest cap.
    let kinds = ComponentKind::ALL.map(|kind| limits.of(kind));
    let instances: u32 = kinds.iter().map(|l| l.instances).sum();
    let memory_bytes = kinds
        .iter()
        .map(|l| l.memory_bytes)
        .max()
        .unwrap_or(limits.memory_bytes);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 8)
        .total_stacks(instances)
        .max_memory_size(memory_bytes);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config)?)
}

/// Advances the engine's epoch every tick for as long as the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("usvc-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
