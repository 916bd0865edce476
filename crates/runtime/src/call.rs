//! The state one component call owns: its sandboxed WASI context, its memory cap and its unit
//! of work. A `Store<CallState>` lives for exactly one call; nothing in it outlives the request.

use std::{collections::HashMap, sync::Arc};

use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView, p2::pipe::MemoryOutputPipe};
use wasmtime_wasi_config::WasiConfigVariables;

use super::ComponentKind;
use crate::{
    capabilities::{Capabilities, KvState},
    clock::WasiWallClock,
    limits::SandboxBounds,
    notify::Notification,
    store::{Connection, Database, Transaction},
};

/// Everything a component call writes, committed together or not at all.
#[derive(Default)]
pub struct UnitOfWork {
    tx: Option<Transaction>,
    /// Messages to send once the transaction has committed.
    pub(crate) notifications: Vec<Notification>,
}

impl UnitOfWork {
    /// The call's transaction, begun on first use.
    pub(crate) async fn conn(&mut self, db: &Database) -> sqlx::Result<&mut Connection> {
        if self.tx.is_none() {
            self.tx = Some(crate::store::begin(db).await?);
        }
        Ok(self.tx.as_mut().expect("just begun"))
    }

    pub(crate) async fn commit(self) -> sqlx::Result<Vec<Notification>> {
        if let Some(tx) = self.tx {
            tx.commit().await?;
        }
        Ok(self.notifications)
    }

    pub(crate) async fn rollback(self) {
        if let Some(tx) = self.tx {
            // Dropping the transaction rolls it back too; asking explicitly returns the
            // connection to the pool sooner.
            if let Err(error) = tx.rollback().await {
                tracing::warn!(%error, "rollback failed; the connection is discarded");
            }
        }
    }
}

/// A bound on what a call leaves outside its unit of work, exceeded: the call stops, rolled
/// back, and `usvc_component_limit_exceeded_total{limit}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SandboxLimit {
    #[error("its kv writes per call")]
    KvWritesPerCall,
    #[error("its kv keys per customer")]
    KvKeysPerCustomer,
    #[error("its kv bytes per customer")]
    KvBytesPerCustomer,
}

impl SandboxLimit {
    pub fn label(self) -> &'static str {
        match self {
            Self::KvWritesPerCall => "kv-writes-per-call",
            Self::KvKeysPerCustomer => "kv-keys-per-customer",
            Self::KvBytesPerCustomer => "kv-bytes-per-customer",
        }
    }

    /// Whether the customer, rather than the component, ran into it (they may try later).
    pub fn is_customers(self) -> bool {
        !matches!(self, Self::KvWritesPerCall)
    }
}

/// The memory ceiling of one instance. Growing past it traps with [`MemoryCapExceeded`].
pub(crate) struct MemoryCap {
    pub bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("component tried to grow its memory to {wanted} bytes; the cap is {cap}")]
pub struct MemoryCapExceeded {
    pub wanted: usize,
    pub cap: usize,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.bytes {
            return Err(MemoryCapExceeded {
                wanted: desired,
                cap: self.bytes,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

pub struct CallState {
    pub(crate) caps: Arc<Capabilities>,
    pub(crate) kind: ComponentKind,
    pub(crate) work: UnitOfWork,
    pub(crate) memory: MemoryCap,
    pub(crate) settings: Arc<WasiConfigVariables>,
    /// Argon2id hashes this call has computed (see `Runtime::register`).
    pub(crate) password_hashes: u32,
    /// What the component wrote to stderr (a panic message, say), kept for the log.
    pub(crate) stderr: MemoryOutputPipe,
    /// What the call has done with the `kv` store (and, for a shadow, the writes it keeps).
    pub(crate) kv: KvState,
    /// What the call may leave in the log and the `kv` store.
    pub(crate) bounds: SandboxBounds,
    pub(crate) log_lines: u32,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl CallState {
    pub(crate) fn new(caps: Arc<Capabilities>, kind: ComponentKind, memory_bytes: usize) -> Self {
        let stderr = MemoryOutputPipe::new(16 * 1024);
        // No arguments, environment, files, sockets or stdin: the sandbox grants nothing beyond
        // what the world imports. The wall clock is the host's, so a fixed test clock holds.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(WasiWallClock(caps.clock.clone()))
            .build();
        Self {
            settings: caps.settings_for(kind),
            caps,
            kind,
            work: UnitOfWork::default(),
            password_hashes: 0,
            memory: MemoryCap {
                bytes: memory_bytes,
            },
            stderr,
            kv: KvState::default(),
            bounds: SandboxBounds::default(),
            log_lines: 0,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Under `bounds`, spending `subject`'s `kv` budget.
    pub(crate) fn bounded(mut self, bounds: SandboxBounds, subject: Option<&str>) -> Self {
        self.bounds = bounds;
        self.kv.subject = subject.map(str::to_owned);
        self
    }

    /// Makes this a shadow call: its key-value writes stay in the call (its database writes
    /// and messages are discarded by the runtime, which never commits a shadow's unit of work).
    pub(crate) fn discard_writes(&mut self) {
        self.kv.overlay = Some(HashMap::new());
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
