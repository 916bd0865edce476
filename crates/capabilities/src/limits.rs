//! What a call may leave outside its unit of work ([`SandboxBounds`], [`SandboxLimit`]) and
//! what one password hash may cost ([`PasswordHashing`]), filled from configuration by the host.

use std::time::Duration;

/// Bounds on what a component leaves behind outside its unit of work: log lines, and `kv`
/// keys and bytes, per call and per kind and customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxBounds {
    /// Log lines one call may write; further ones are dropped and counted
    /// (`USVC_COMPONENT_LOG_LINES_PER_CALL`).
    pub log_lines_per_call: u32,
    /// `kv` writes (set, increment, compare-and-set, delete) one call may make
    /// (`USVC_COMPONENT_KV_WRITES_PER_CALL`).
    pub kv_writes_per_call: u32,
    /// `kv` keys one kind may write for one customer within [`SandboxBounds::KV_WINDOW`]
    /// (`USVC_COMPONENT_KV_KEYS_PER_CUSTOMER`).
    pub kv_keys_per_customer: u32,
    /// Bytes (keys and values) one kind may write for one customer within the window
    /// (`USVC_COMPONENT_KV_BYTES_PER_CUSTOMER`).
    pub kv_bytes_per_customer: u64,
}

impl SandboxBounds {
    /// The window of the per-customer `kv` budgets.
    pub const KV_WINDOW: Duration = Duration::from_secs(3600);
}

impl Default for SandboxBounds {
    fn default() -> Self {
        Self {
            log_lines_per_call: 100,
            kv_writes_per_call: 50,
            kv_keys_per_customer: 1000,
            kv_bytes_per_customer: 512 * 1024,
        }
    }
}

/// Argon2id cost, OWASP's recommendation by default (m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; the rest queue, so logins cannot starve other requests.
    pub max_concurrent: usize,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
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
