//! What a component call may use: the limits the runtime enforces, filled from configuration by
//! the host. The sandbox's bounds and the password hashing cost are the capabilities'.

use std::{collections::BTreeMap, time::Duration};

pub use usvc_capabilities::limits::{PasswordHashing, SandboxBounds, SandboxLimit};

use crate::ComponentKind;

/// What one component call may use before it is stopped.
#[derive(Debug, Clone)]
pub struct RuntimeLimits {
    /// Wall-clock budget of one call, host work included.
    pub call_deadline: Duration,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Instances running at once, all kinds together (the engine's pool), and the default of
    /// each kind's own count; further calls wait for a slot.
    pub max_concurrent_calls: u32,
    /// Limits of one kind that differ from the ones above
    /// (`USVC_<KIND>_DEADLINE_MS`, `USVC_<KIND>_MEMORY_MIB`, `USVC_<KIND>_INSTANCES`).
    pub per_kind: BTreeMap<ComponentKind, KindLimits>,
    /// What a call may put in the log and the `kv` store.
    pub sandbox: SandboxBounds,
}

/// A kind's own limits; `None` takes the runtime's.
#[derive(Debug, Clone, Default)]
pub struct KindLimits {
    pub deadline: Option<Duration>,
    pub memory_bytes: Option<usize>,
    pub instances: Option<u32>,
}

/// The limits one call of a kind runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
    pub instances: u32,
}

impl Default for RuntimeLimits {
    /// Five seconds, 64 MiB and 64 instances at once.
    fn default() -> Self {
        Self {
            call_deadline: Duration::from_secs(5),
            memory_bytes: 64 << 20,
            max_concurrent_calls: 64,
            per_kind: BTreeMap::new(),
            sandbox: SandboxBounds::default(),
        }
    }
}

impl RuntimeLimits {
    /// The limits of `kind`: its own where configured, the runtime's otherwise.
    pub fn of(&self, kind: ComponentKind) -> CallLimits {
        let own = self.per_kind.get(&kind).cloned().unwrap_or_default();
        CallLimits {
            deadline: own.deadline.unwrap_or(self.call_deadline),
            memory_bytes: own.memory_bytes.unwrap_or(self.memory_bytes),
            instances: own.instances.unwrap_or(self.max_concurrent_calls).max(1),
        }
    }
}
