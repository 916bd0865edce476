//! The state one component call owns: its sandboxed WASI context, its memory cap and its unit
//! of work. A `Store<CallState>` lives for exactly one call; nothing in it outlives the request.

use std::{collections::HashMap, sync::Arc};

use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView, p2::pipe::MemoryOutputPipe};
use wasmtime_wasi_config::WasiConfigVariables;

use super::ComponentKind;
use crate::{
    capabilities::{
        Capabilities, Tx,
        interfaces::{
            KvState, audit::Trail, clock::Time, credentials::Passwords, events::Outbox,
            factors::Factors, kv::Kv, kyc::Checks, logging::Log, notify::Messages,
            users::Directory,
        },
        work::UnitOfWork,
    },
    clock::WasiWallClock,
    limits::SandboxBounds,
};

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

/// Each capability's context, projected from the call's state for the linker: the only place
/// that sees every field, so each capability reaches only what its context holds.
impl CallState {
    pub(crate) fn time(&mut self) -> Time<'_> {
        Time {
            clock: &*self.caps.clock,
        }
    }

    pub(crate) fn directory(&mut self) -> Directory<'_> {
        Directory {
            clock: &*self.caps.clock,
            secrets: &self.caps.secrets,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn passwords(&mut self) -> Passwords<'_> {
        Passwords {
            clock: &*self.caps.clock,
            secrets: &self.caps.secrets,
            hasher: &self.caps.passwords,
            hashed: &mut self.password_hashes,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn outbox(&mut self) -> Outbox<'_> {
        Outbox {
            clock: &*self.caps.clock,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn trail(&mut self) -> Trail<'_> {
        Trail {
            clock: &*self.caps.clock,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn messages(&mut self) -> Messages<'_> {
        Messages {
            clock: &*self.caps.clock,
            secrets: &self.caps.secrets,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn checks(&mut self) -> Checks<'_> {
        Checks {
            secrets: &self.caps.secrets,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
        }
    }

    pub(crate) fn factors(&mut self) -> Factors<'_> {
        Factors {
            clock: &*self.caps.clock,
            secrets: &self.caps.secrets,
            tx: Tx {
                work: &mut self.work,
                db: &self.caps.db,
            },
            kv: Kv {
                kind: self.kind,
                shared: &self.caps.kv,
                state: &mut self.kv,
                bounds: &self.bounds,
            },
        }
    }

    pub(crate) fn kv(&mut self) -> Kv<'_> {
        Kv {
            kind: self.kind,
            shared: &self.caps.kv,
            state: &mut self.kv,
            bounds: &self.bounds,
        }
    }

    pub(crate) fn log(&mut self) -> Log<'_> {
        Log {
            kind: self.kind,
            lines: &mut self.log_lines,
            bound: self.bounds.log_lines_per_call,
        }
    }
}
