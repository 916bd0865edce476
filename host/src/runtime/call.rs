//! The state one component call owns: its sandboxed WASI context, its memory cap and its unit
//! of work. A `Store<CallState>` lives for exactly one call; nothing in it outlives the request.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView, p2::pipe::MemoryOutputPipe};
use wasmtime_wasi_config::WasiConfigVariables;

use super::ComponentKind;
use crate::{
    capabilities::Capabilities,
    clock::WasiWallClock,
    notify::Notification,
    store::{Connection, Transaction},
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
    pub(crate) async fn conn(&mut self, caps: &Capabilities) -> sqlx::Result<&mut Connection> {
        if self.tx.is_none() {
            self.tx = Some(crate::store::begin(&caps.db).await?);
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
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// The call's transaction and the capabilities at once (they are separate fields, so both
    /// borrows can live together).
    pub(crate) async fn conn(&mut self) -> sqlx::Result<&mut Connection> {
        self.work.conn(&self.caps).await
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
