//! The host side of the WIT capabilities: one module per interface, each implementing the
//! generated `Host` trait on a context of its own that holds only what that interface needs
//! (the call's unit of work, the clock, the sealing key, ...), projected from the call's
//! the call's state when the linker calls it (`CallState::directory`, ...), the way
//! wasmtime-wasi's interfaces do. Capabilities are domain-level (find a customer, set a
//! password), never raw SQL; every write joins the call's unit of work. An infrastructure
//! failure traps the call with [`CapabilityFailure`].

pub(crate) mod audit;
pub(crate) mod clock;
pub(crate) mod credentials;
pub(crate) mod events;
pub mod factors;
pub(crate) mod kv;
pub(crate) mod kyc;
pub(crate) mod logging;
pub(crate) mod notify;
pub(crate) mod users;

use std::{collections::BTreeMap, sync::Arc};

use wasmtime_wasi_config::WasiConfigVariables;

pub(crate) use self::kv::KvState;
use crate::{
    ComponentKind,
    clock::Clock,
    kv::Shared,
    notify::{Notification, Notifier},
    password::PasswordHasher,
    secrets::{DEVELOPMENT_KEY, SecretBox},
    store::{Connection, Database},
    work::UnitOfWork,
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
    pub(crate) fn settings_for(&self, kind: ComponentKind) -> Arc<WasiConfigVariables> {
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

pub(crate) fn failed(capability: &'static str) -> impl FnOnce(sqlx::Error) -> wasmtime::Error {
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
pub(crate) struct Tx<'a> {
    pub(crate) work: &'a mut UnitOfWork,
    pub(crate) db: &'a Database,
}

impl Tx<'_> {
    pub(crate) async fn conn(&mut self) -> sqlx::Result<&mut Connection> {
        self.work.conn(self.db).await
    }

    /// Sends `message` after the call commits (never after a rollback).
    pub(crate) fn queue(&mut self, message: Notification) {
        self.work.notifications.push(message);
    }
}
