//! The host side of the WIT capabilities, and the services behind them. `interfaces` has one
//! module per interface, each implementing the generated `Host` trait on a context of its own
//! that holds only what that interface needs (the call's unit of work, the clock, the sealing
//! key, ...), which the runtime projects from its call state when the linker calls it, the way
//! wasmtime-wasi's interfaces do. Capabilities are domain-level (find a customer, set a
//! password), never raw SQL; every write joins the call's unit of work ([`work`]). An
//! infrastructure failure traps the call with [`CapabilityFailure`]. The services they share
//! ([`Capabilities`]) have ports the host fills: [`kv::Remote`] and [`notify::Notifier`].
//! Nothing here knows the engine, the registry or the call protocol (`usvc-runtime`).

pub mod bindings;
pub mod clock;
pub mod codes;
pub mod interfaces;
mod kind;
pub mod kv;
pub mod limits;
pub mod notify;
pub mod password;
pub mod trace;
pub mod work;

use std::{collections::BTreeMap, sync::Arc};

use wasmtime_wasi_config::WasiConfigVariables;

pub use self::kind::ComponentKind;
use self::{
    clock::Clock,
    kv::Shared,
    notify::{Notification, Notifier},
    password::PasswordHasher,
    work::UnitOfWork,
};
pub use usvc_store::{self as store, secrets};
use usvc_store::{
    Connection, Database,
    secrets::{DEVELOPMENT_KEY, SecretBox},
};

/// The shared services behind the capabilities of every call.
pub struct Capabilities {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub notifier: Arc<dyn Notifier>,
    /// Rung after a unit of work commits, so the outbox relay delivers without waiting to poll.
    pub outbox_committed: Arc<tokio::sync::Notify>,
    /// The `kv` capability's store (shared with the guard): Redis or this process's memory.
    pub kv: Arc<Shared>,
    /// Seals the secrets the host must read back (TOTP secrets).
    pub secrets: Arc<SecretBox>,
    settings: BTreeMap<ComponentKind, Arc<WasiConfigVariables>>,
}

impl Capabilities {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        passwords: PasswordHasher,
        notifier: Arc<dyn Notifier>,
        settings: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Self {
        let settings = ComponentKind::ALL
            .into_iter()
            .map(|kind| {
                let vars = settings.get(kind.name()).into_iter().flatten();
                (
                    kind,
                    Arc::new(vars.map(|(k, v)| (k.clone(), v.clone())).collect()),
                )
            })
            .collect();
        Self {
            db,
            clock,
            passwords,
            notifier,
            outbox_committed: Arc::default(),
            kv: Arc::new(Shared::in_memory()),
            secrets: Arc::new(SecretBox::new(&DEVELOPMENT_KEY)),
            settings,
        }
    }

    /// The `kv` store, instead of this process's memory.
    pub fn with_kv(mut self, kv: Arc<Shared>) -> Self {
        self.kv = kv;
        self
    }

    /// The key secrets are sealed with, instead of the development key.
    pub fn with_secrets_key(mut self, key: &[u8; 32]) -> Self {
        self.secrets = Arc::new(SecretBox::new(key));
        self
    }

    /// The `wasi:config` settings a `kind` component sees.
    pub fn settings_for(&self, kind: ComponentKind) -> Arc<WasiConfigVariables> {
        self.settings.get(&kind).cloned().unwrap_or_default()
    }
}

/// An infrastructure failure inside a capability (database down, say). It traps the call, which
/// rolls back; the caller sees a 503, not a business answer.
#[derive(Debug, thiserror::Error)]
#[error("{capability} failed: {source}")]
pub struct CapabilityFailure {
    pub capability: &'static str,
    #[source]
    pub source: anyhow::Error,
}

pub fn failed(capability: &'static str) -> impl FnOnce(sqlx::Error) -> wasmtime::Error {
    move |e| {
        CapabilityFailure {
            capability,
            source: e.into(),
        }
        .into()
    }
}

/// The call's unit of work as a capability reaches it: its transaction, begun on first use, and
/// the messages that leave once it commits.
pub struct Tx<'a> {
    pub work: &'a mut UnitOfWork,
    pub db: &'a Database,
}

impl Tx<'_> {
    pub async fn conn(&mut self) -> sqlx::Result<&mut Connection> {
        self.work.conn(self.db).await
    }

    /// Sends `message` after the call commits (never after a rollback).
    pub fn queue(&mut self, message: Notification) {
        self.work.notifications.push(message);
    }
}

/// `usvc_component_limit_exceeded_total`, by kind and limit (`deadline`, `memory`,
/// `instances`, a sandbox bound): a call stopped, and rolled back, by its kind's limits.
pub fn exceeded(kind: ComponentKind, limit: &'static str) {
    metrics::counter!("usvc_component_limit_exceeded_total", "kind" => kind.name(), "limit" => limit)
        .increment(1);
}
