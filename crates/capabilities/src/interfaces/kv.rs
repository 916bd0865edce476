//! `usvc:host/kv`: a key-value store with expiry, namespaced by component kind, in the same
//! shared state as the guard (Redis across replicas, or this process's memory). Every write
//! spends the call's and the customer's budget ([`Kv::admit`]); a shadow call's writes stay in
//! the call.

use std::{collections::HashMap, time::Duration};

use wasmtime::component::HasData;

use crate::{
    ComponentKind,
    bindings::usvc::host::kv::Host,
    kv::Shared,
    limits::{SandboxBounds, SandboxLimit},
};

const MAX_KEY_BYTES: usize = 200;
const MAX_VALUE_BYTES: usize = 4096;
const MAX_TTL_SECS: u32 = 30 * 86_400;

/// What a call has done with the store: its writes so far, whose budget they spend, and, for a
/// shadow, the writes kept in the call instead of the shared store (`None` = deleted).
#[derive(Default)]
pub struct KvState {
    pub overlay: Option<HashMap<String, Option<String>>>,
    pub writes: u32,
    /// Whom the call is about (a customer, or an applicant's key).
    pub subject: Option<String>,
}

/// The `kv` capability of one call: the shared store, seen through the call's own state.
pub struct Kv<'a> {
    pub kind: ComponentKind,
    pub shared: &'a Shared,
    pub state: &'a mut KvState,
    pub bounds: &'a SandboxBounds,
}

impl HasData for Kv<'static> {
    type Data<'a> = Kv<'a>;
}

impl Kv<'_> {
    /// `key` inside this component kind's namespace, after checking its size.
    fn key(&self, key: &str) -> wasmtime::Result<String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            wasmtime::bail!("kv: a key is 1 to {MAX_KEY_BYTES} bytes");
        }
        Ok(format!("kv:{}:{key}", self.kind.name()))
    }

    /// Counts one write of `bytes` (key and value) against the call's bound and, for a call
    /// whose writes count, against the kind's budget for its subject. Over either, the write is
    /// refused and the call stops with [`SandboxLimit`], rolled back.
    async fn admit(&mut self, bytes: usize) -> wasmtime::Result<()> {
        self.state.writes += 1;
        if self.state.writes > self.bounds.kv_writes_per_call {
            return Err(self.over(SandboxLimit::KvWritesPerCall));
        }
        if self.state.overlay.is_some() {
            return Ok(());
        }
        let subject = self.state.subject.as_deref().unwrap_or("anyone");
        let budget = format!("kv-budget:{}:{subject}", self.kind.name());
        let window = SandboxBounds::KV_WINDOW;
        let (keys, _) = self.shared.incr(&format!("{budget}:keys"), window).await;
        if keys > u64::from(self.bounds.kv_keys_per_customer) {
            return Err(self.over(SandboxLimit::KvKeysPerCustomer));
        }
        let (written, _) = self
            .shared
            .incr_by(&format!("{budget}:bytes"), bytes as u64, window)
            .await;
        if written > self.bounds.kv_bytes_per_customer {
            return Err(self.over(SandboxLimit::KvBytesPerCustomer));
        }
        Ok(())
    }

    fn over(&self, limit: SandboxLimit) -> wasmtime::Error {
        crate::exceeded(self.kind, limit.label());
        tracing::warn!(kind = %self.kind, limit = limit.label(), "a component call exceeded a sandbox bound; it stops and rolls back");
        limit.into()
    }

    /// Reads `key` from the shared store, through this call's own writes when it is a shadow.
    pub async fn read(&mut self, key: &str) -> Option<String> {
        if let Some(written) = self.state.overlay.as_ref().and_then(|o| o.get(key)) {
            return written.clone();
        }
        self.shared.get(key).await.map(|(value, _)| value)
    }

    pub async fn write(&mut self, key: &str, value: &str, ttl: Duration) {
        match &mut self.state.overlay {
            Some(overlay) => {
                overlay.insert(key.to_owned(), Some(value.to_owned()));
            }
            None => self.shared.set(key, value, ttl).await,
        }
    }

    pub async fn remove(&mut self, key: &str) {
        match &mut self.state.overlay {
            Some(overlay) => {
                overlay.insert(key.to_owned(), None);
            }
            None => self.shared.delete(key).await,
        }
    }

    /// Sets `key` only when it holds `expected`; whether it did (see `Shared::compare_and_set`).
    async fn swap(
        &mut self,
        key: &str,
        expected: Option<&str>,
        value: &str,
        ttl: Duration,
    ) -> bool {
        if self.state.overlay.is_some() {
            if self.read(key).await.as_deref() != expected {
                return false;
            }
            self.write(key, value, ttl).await;
            return true;
        }
        self.shared.compare_and_set(key, expected, value, ttl).await
    }

    /// Deletes `key` only when it holds `expected`; whether this call deleted it.
    pub async fn remove_if(&mut self, key: &str, expected: &str) -> bool {
        if self.state.overlay.is_some() {
            if self.read(key).await.as_deref() != Some(expected) {
                return false;
            }
            self.remove(key).await;
            return true;
        }
        self.shared.delete_if(key, expected).await
    }

    /// Adds one to the counter at `key`; the new count.
    async fn count(&mut self, key: &str, ttl: Duration) -> u64 {
        if self.state.overlay.is_none() {
            return self.shared.incr(key, ttl).await.0;
        }
        let count = self
            .read(key)
            .await
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        self.write(key, &count.to_string(), ttl).await;
        count
    }
}

fn ttl(secs: u32) -> wasmtime::Result<Duration> {
    if !(1..=MAX_TTL_SECS).contains(&secs) {
        wasmtime::bail!("kv: a time to live is 1 second to 30 days");
    }
    Ok(Duration::from_secs(secs.into()))
}

impl Host for Kv<'_> {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let key = self.key(&key)?;
        Ok(self.read(&key).await)
    }

    async fn set(&mut self, key: String, value: String, ttl_secs: u32) -> wasmtime::Result<()> {
        let key = self.key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            wasmtime::bail!("kv.set: a value is at most {MAX_VALUE_BYTES} bytes");
        }
        self.admit(key.len() + value.len()).await?;
        self.write(&key, &value, ttl(ttl_secs)?).await;
        Ok(())
    }

    async fn increment(&mut self, key: String, ttl_secs: u32) -> wasmtime::Result<u64> {
        let key = self.key(&key)?;
        self.admit(key.len() + 20).await?;
        Ok(self.count(&key, ttl(ttl_secs)?).await)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let key = self.key(&key)?;
        self.admit(key.len()).await?;
        self.remove(&key).await;
        Ok(())
    }

    async fn compare_and_set(
        &mut self,
        key: String,
        expected: Option<String>,
        value: String,
        ttl_secs: u32,
    ) -> wasmtime::Result<bool> {
        let key = self.key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            wasmtime::bail!("kv.compare-and-set: a value is at most {MAX_VALUE_BYTES} bytes");
        }
        let ttl = ttl(ttl_secs)?;
        self.admit(key.len() + value.len()).await?;
        Ok(self.swap(&key, expected.as_deref(), &value, ttl).await)
    }
}
