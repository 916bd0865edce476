//! The Wasm runtime: one wasmtime engine with the pooling allocator, the registry of loaded
//! components, and the call protocol — a fresh store and instance per call, a deadline, a memory
//! cap, and one unit of work that commits only when the component says `ok`.

pub mod artifact;
pub mod bindings;
mod call;
pub mod mfa;
pub mod onboarding;
mod registry;
pub mod verification;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use tokio::sync::Semaphore;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

pub use call::{CallState, MemoryCapExceeded};
pub use registry::{ComponentKind, LoadedComponent, Registry};

use crate::{
    capabilities::{Capabilities, CapabilityFailure},
    config::RuntimeLimits,
};

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
}

pub type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

pub struct Runtime {
    engine: Engine,
    registry: Registry,
    limits: RuntimeLimits,
    slots: Arc<Semaphore>,
}

impl Runtime {
    pub fn new(limits: RuntimeLimits) -> anyhow::Result<Self> {
        let engine = new_engine(&limits)?;
        spawn_epoch_ticker(&engine);
        Ok(Self {
            registry: Registry::new(engine.clone()),
            slots: Arc::new(Semaphore::new(limits.max_concurrent_calls as usize)),
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

    /// Runs one call of a `kind` component: `invoke` instantiates and calls an export on a fresh
    /// store. The unit of work commits when `commits(&result)` says so, and rolls back otherwise
    /// or when the call traps, runs out of time or memory.
    pub async fn call<R: Send>(
        &self,
        caps: &Arc<Capabilities>,
        kind: ComponentKind,
        commits: impl FnOnce(&R) -> bool,
        invoke: impl for<'a> FnOnce(&'a mut Store<CallState>, &'a LoadedComponent) -> CallFuture<'a, R>
        + Send,
    ) -> Result<R, CallError> {
        let component = self
            .registry
            .active(kind)
            .ok_or(CallError::NotLoaded(kind))?;
        // Waiting for a free instance counts against the deadline too.
        let _slot = tokio::time::timeout(self.limits.call_deadline, self.slots.acquire())
            .await
            .map_err(|_| CallError::Timeout(kind))?
            .expect("the call semaphore is never closed");
        let started = std::time::Instant::now();

        let mut store = Store::new(
            &self.engine,
            CallState::new(caps.clone(), kind, self.limits.memory_bytes),
        );
        store.limiter(|state| &mut state.memory);
        // Guest code yields to the executor at every epoch tick, so a long computation never
        // holds a worker thread other requests need, and is stopped once the call's budget of
        // ticks is spent.
        let budget = (self.limits.call_deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
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
        let outcome =
            tokio::time::timeout(self.limits.call_deadline, invoke(&mut store, &component)).await;
        let state = store.into_data();
        let elapsed = started.elapsed();
        match outcome {
            Ok(Ok(result)) if commits(&result) => {
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
                tracing::debug!(%kind, ?elapsed, "component call refused; rolled back");
                Ok(result)
            }
            Ok(Err(error)) => {
                let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
                state.work.rollback().await;
                let error = classify(kind, error);
                observe(kind, "failed", elapsed);
                tracing::warn!(%kind, digest = %component.digest, %error, stderr = %stderr.trim(), "component call failed; rolled back");
                Err(error)
            }
            Err(_elapsed) => {
                state.work.rollback().await;
                observe(kind, "timed_out", elapsed);
                tracing::warn!(%kind, digest = %component.digest, "component call timed out; rolled back");
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
        return CallError::Timeout(kind);
    }
    if error.downcast_ref::<MemoryCapExceeded>().is_some() {
        return CallError::MemoryExceeded(kind);
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
    let instances = limits.max_concurrent_calls.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 8)
        .total_stacks(instances)
        .max_memory_size(limits.memory_bytes);
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
