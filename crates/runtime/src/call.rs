//! The state one component call owns: its sandboxed WASI context, its memory cap and its unit
//! of work. A `Store<CallState>` lives for exactly one call; nothing in it outlives the request.

use std::{collections::HashMap, sync::Arc, time::Duration};

use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView, p2::pipe::MemoryOutputPipe};
use wasmtime_wasi_config::WasiConfigVariables;

use super::ComponentKind;
use crate::{
    capabilities::Capabilities,
    clock::WasiWallClock,
    limits::SandboxBounds,
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
    /// For a shadow call, the key-value writes it made, kept here instead of in the shared
    /// store (`None` = deleted); `None` for a call whose writes count.
    pub(crate) kv_overlay: Option<HashMap<String, Option<String>>>,
    /// What the call may leave in the log and the `kv` store, and what it has so far.
    pub(crate) bounds: SandboxBounds,
    pub(crate) log_lines: u32,
    pub(crate) kv_writes: u32,
    /// Whom the call is about (a customer, or an applicant's key): whose `kv` budget it spends.
    pub(crate) subject: Option<String>,
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
            kv_overlay: None,
            bounds: SandboxBounds::default(),
            log_lines: 0,
            kv_writes: 0,
            subject: None,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Makes this a shadow call: its key-value writes stay in the call (its database writes
    /// and messages are discarded by the runtime, which never commits a shadow's unit of work).
    /// Under `bounds`, spending `subject`'s `kv` budget.
    pub(crate) fn bounded(mut self, bounds: SandboxBounds, subject: Option<&str>) -> Self {
        self.bounds = bounds;
        self.subject = subject.map(str::to_owned);
        self
    }

    /// Counts one `kv` write of `bytes` (key and value) against the call's bound and, for a call
    /// whose writes count, against the kind's budget for its subject. Over either, the write is
    /// refused and the call stops with [`SandboxLimit`], rolled back.
    pub(crate) async fn kv_admit(&mut self, bytes: usize) -> wasmtime::Result<()> {
        self.kv_writes += 1;
        if self.kv_writes > self.bounds.kv_writes_per_call {
            return Err(self.over(SandboxLimit::KvWritesPerCall));
        }
        if self.kv_overlay.is_some() {
            return Ok(());
        }
        let subject = self.subject.as_deref().unwrap_or("anyone");
        let budget = format!("kv-budget:{}:{subject}", self.kind.name());
        let window = SandboxBounds::KV_WINDOW;
        let (keys, _) = self.caps.kv.incr(&format!("{budget}:keys"), window).await;
        if keys > u64::from(self.bounds.kv_keys_per_customer) {
            return Err(self.over(SandboxLimit::KvKeysPerCustomer));
        }
        let (written, _) = self
            .caps
            .kv
            .incr_by(&format!("{budget}:bytes"), bytes as u64, window)
            .await;
        if written > self.bounds.kv_bytes_per_customer {
            return Err(self.over(SandboxLimit::KvBytesPerCustomer));
        }
        Ok(())
    }

    fn over(&self, limit: SandboxLimit) -> wasmtime::Error {
        super::exceeded(self.kind, limit.label());
        tracing::warn!(kind = %self.kind, limit = limit.label(), "a component call exceeded a sandbox bound; it stops and rolls back");
        limit.into()
    }

    pub(crate) fn discard_writes(&mut self) {
        self.kv_overlay = Some(HashMap::new());
    }

    /// Reads `key` from the shared store, through this call's own writes when it is a shadow.
    pub(crate) async fn kv_get(&mut self, key: &str) -> Option<String> {
        if let Some(written) = self.kv_overlay.as_ref().and_then(|o| o.get(key)) {
            return written.clone();
        }
        self.caps.kv.get(key).await.map(|(value, _)| value)
    }

    pub(crate) async fn kv_set(&mut self, key: &str, value: &str, ttl: Duration) {
        match &mut self.kv_overlay {
            Some(overlay) => {
                overlay.insert(key.to_owned(), Some(value.to_owned()));
            }
            None => self.caps.kv.set(key, value, ttl).await,
        }
    }

    pub(crate) async fn kv_delete(&mut self, key: &str) {
        match &mut self.kv_overlay {
            Some(overlay) => {
                overlay.insert(key.to_owned(), None);
            }
            None => self.caps.kv.delete(key).await,
        }
    }

    /// Sets `key` only when it holds `expected`; whether it did (see `Shared::compare_and_set`).
    pub(crate) async fn kv_compare_and_set(
        &mut self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> bool {
        if self.kv_overlay.is_some() {
            if self.kv_get(key).await.as_deref() != expected {
                return false;
            }
            self.kv_set(key, value, ttl).await;
            return true;
        }
        self.caps
            .kv
            .compare_and_set(key, expected, value, ttl)
            .await
    }

    /// Deletes `key` only when it holds `expected`; whether this call deleted it.
    pub(crate) async fn kv_delete_if(&mut self, key: &str, expected: &str) -> bool {
        if self.kv_overlay.is_some() {
            if self.kv_get(key).await.as_deref() != Some(expected) {
                return false;
            }
            self.kv_delete(key).await;
            return true;
        }
        self.caps.kv.delete_if(key, expected).await
    }

    /// Adds one to the counter at `key`; the new count.
    pub(crate) async fn kv_increment(&mut self, key: &str, ttl: Duration) -> u64 {
        if self.kv_overlay.is_none() {
            return self.caps.kv.incr(key, ttl).await.0;
        }
        let count = self
            .kv_get(key)
            .await
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        self.kv_set(key, &count.to_string(), ttl).await;
        count
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
