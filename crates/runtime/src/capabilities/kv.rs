//! `usvc:host/kv`: a key-value store with expiry, namespaced by component kind, in the same
//! shared state as the guard (Redis across replicas, or this process's memory). Every write
//! spends the call's and the customer's budget (`CallState::kv_admit`).

use std::time::Duration;

use crate::{CallState, bindings::usvc::host::kv::Host};

const MAX_KEY_BYTES: usize = 200;
const MAX_VALUE_BYTES: usize = 4096;
const MAX_TTL_SECS: u32 = 30 * 86_400;

impl CallState {
    /// `key` inside this component kind's namespace, after checking its size.
    fn kv_key(&self, key: &str) -> wasmtime::Result<String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            wasmtime::bail!("kv: a key is 1 to {MAX_KEY_BYTES} bytes");
        }
        Ok(format!("kv:{}:{key}", self.kind.name()))
    }
}

fn ttl(secs: u32) -> wasmtime::Result<Duration> {
    if !(1..=MAX_TTL_SECS).contains(&secs) {
        wasmtime::bail!("kv: a time to live is 1 second to 30 days");
    }
    Ok(Duration::from_secs(secs.into()))
}

impl Host for CallState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let key = self.kv_key(&key)?;
        Ok(self.kv_get(&key).await)
    }

    async fn set(&mut self, key: String, value: String, ttl_secs: u32) -> wasmtime::Result<()> {
        let key = self.kv_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            wasmtime::bail!("kv.set: a value is at most {MAX_VALUE_BYTES} bytes");
        }
        self.kv_admit(key.len() + value.len()).await?;
        self.kv_set(&key, &value, ttl(ttl_secs)?).await;
        Ok(())
    }

    async fn increment(&mut self, key: String, ttl_secs: u32) -> wasmtime::Result<u64> {
        let key = self.kv_key(&key)?;
        self.kv_admit(key.len() + 20).await?;
        Ok(self.kv_increment(&key, ttl(ttl_secs)?).await)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        let key = self.kv_key(&key)?;
        self.kv_admit(key.len()).await?;
        self.kv_delete(&key).await;
        Ok(())
    }

    async fn compare_and_set(
        &mut self,
        key: String,
        expected: Option<String>,
        value: String,
        ttl_secs: u32,
    ) -> wasmtime::Result<bool> {
        let key = self.kv_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            wasmtime::bail!("kv.compare-and-set: a value is at most {MAX_VALUE_BYTES} bytes");
        }
        let ttl = ttl(ttl_secs)?;
        self.kv_admit(key.len() + value.len()).await?;
        Ok(self
            .kv_compare_and_set(&key, expected.as_deref(), &value, ttl)
            .await)
    }
}
