//! The life of a deployed component: `deploy` (artifact checks, type-check against its kind's
//! world, one transaction storing the version as the kind's active one with its event and
//! audit row, then the swap), `rollback` to a stored version, the `history`, loading the stored
//! active versions at start-up, and the fleet poll that makes every host on the same database
//! switch when another one deployed. Must not: change the active version before every check
//! passed, or activate anything the database does not say is active.

mod replay;
mod trials;
pub mod watch;

pub use replay::{Difference, ReplayReport};
pub use trials::TrialStatus;

use crate::failure::{Failure, Reason};
use std::{collections::HashMap, sync::Arc, time::Duration};

use serde_json::json;
use tokio::sync::Mutex;

use crate::{
    capabilities::Capabilities,
    runtime::{
        ComponentKind, LoadedComponent, Runtime,
        artifact::{self, Rejection, Signers},
    },
    store::{
        self,
        component_versions::{self, ComponentVersion, NewVersion, StoredComponent},
    },
    trail,
};

/// How often every host asks the database which version of each kind is active.
pub const FLEET_POLL: Duration = Duration::from_secs(1);

/// Why a deploy or rollback changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The component does not compile or does not implement its kind's world.
    #[error("{0}")]
    TypeCheck(String),
    /// The component's exported self-test answered `err` (or failed).
    #[error("the component's self-test failed: {0}")]
    SelfTest(String),
    /// The artifact's version is older than the active one's, and the deploy did not say it
    /// meant to go back (`allow_downgrade`).
    #[error(
        "version {offered} is older than the active {active}: deploy it with allow_downgrade=true if that is meant, or roll back"
    )]
    Downgrade { offered: String, active: String },
    /// A trial of the version that is already active.
    #[error("that version is the active one; a trial needs another")]
    AlreadyActive,
    /// No trial runs for the kind.
    #[error("no candidate is on trial for this kind")]
    NoTrial,
    /// No stored version of the kind has that digest.
    #[error("no stored version has that digest")]
    NotFound,
    /// Another deploy or rollback of the same kind committed first.
    #[error("another deploy of this kind ran at the same time")]
    Concurrent,
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DeployError> for Failure {
    fn from(error: DeployError) -> Self {
        match error {
            DeployError::NotFound | DeployError::NoTrial => {
                Failure::not_found("no such version or trial")
            }
            DeployError::AlreadyActive => Failure::conflict(
                Reason::Conflict,
                "that version is already the active one; put another version on trial",
            ),
            DeployError::Concurrent => Failure::conflict(
                Reason::Conflict,
                "another deploy or rollback of this kind ran at the same time; try again",
            ),
            DeployError::Database(e) => e.into(),
            DeployError::Internal(e) => Failure::internal(e),
            rejected => {
                let field = match rejected {
                    DeployError::Downgrade { .. } => "allow_downgrade",
                    _ => "artifact",
                };
                let code = rejected.code().unwrap_or("artifact.rejected");
                Failure::invalid_field(field, code, &rejected.to_string())
            }
        }
    }
}

impl DeployError {
    /// The stable code of a refusal of the component itself.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Rejected(rejection) => Some(rejection.code()),
            Self::TypeCheck(_) => Some("artifact.type_check"),
            Self::SelfTest(_) => Some("artifact.self_test"),
            Self::Downgrade { .. } => Some("artifact.downgrade"),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for DeployError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // The one-active-per-kind or activation-order index: a concurrent activation won.
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Concurrent,
            _ => Self::Database(e),
        }
    }
}

/// What a deploy or rollback left active.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub version: ComponentVersion,
    /// False when that version was already the active one (nothing was written).
    pub changed: bool,
}

/// Deploys, rolls back and keeps this host on the fleet's active versions.
pub struct Lifecycle {
    runtime: Arc<Runtime>,
    caps: Arc<Capabilities>,
    signers: Signers,
    max_bytes: usize,
    allow_unsigned: bool,
    /// Per kind, the active digest in the database this host last acted on.
    taken: Mutex<HashMap<ComponentKind, String>>,
    /// Per kind, the trial (candidate digest and mode) in the database this host last acted on.
    trials_taken: Mutex<HashMap<ComponentKind, trials::TrialKey>>,
}

impl Lifecycle {
    pub fn new(
        runtime: Arc<Runtime>,
        caps: Arc<Capabilities>,
        signers: Signers,
        max_bytes: usize,
        allow_unsigned: bool,
    ) -> Self {
        Self {
            runtime,
            caps,
            signers,
            max_bytes,
            allow_unsigned,
            taken: Mutex::default(),
            trials_taken: Mutex::default(),
        }
    }

    /// The largest artifact accepted.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Deploys an artifact (or, in development mode, a bare component of `kind`): every check,
    /// then one transaction storing it as the kind's active version, then the swap. The same
    /// component deployed again changes nothing; a stored but retired one becomes active again.
    /// A version older than the active one is refused unless `allow_downgrade`, and recorded
    /// as a downgrade when allowed.
    pub async fn deploy(
        &self,
        bytes: &[u8],
        kind: Option<ComponentKind>,
        deployed_by: &str,
        allow_downgrade: bool,
    ) -> Result<Deployed, DeployError> {
        let (opened, loaded) = self.accept(bytes, kind, deployed_by).await?;
        let kind = opened.kind;
        let now = self.caps.clock.unix();
        let mut tx = store::begin(&self.caps.db).await?;
        let downgrade = match (
            opened.manifest.as_ref(),
            component_versions::active(&mut tx, kind.name()).await?,
        ) {
            (Some(manifest), Some(active)) => older(&manifest.version, active.version.as_deref()),
            _ => None,
        };
        if let Some(active) = &downgrade
            && !allow_downgrade
        {
            return Err(DeployError::Downgrade {
                offered: opened
                    .manifest
                    .as_ref()
                    .map(|m| m.version.clone())
                    .unwrap_or_default(),
                active: active.clone(),
            });
        }
        let stored = component_versions::find(&mut tx, kind.name(), &loaded.digest).await?;
        let changed = match &stored {
            Some(version) if version.status == "active" => false,
            Some(_) => {
                component_versions::retire_active(&mut tx, kind.name()).await?;
                component_versions::reactivate(
                    &mut tx,
                    kind.name(),
                    &loaded.digest,
                    deployed_by,
                    now,
                )
                .await?;
                true
            }
            None => {
                let manifest = opened.manifest.as_ref();
                component_versions::retire_active(&mut tx, kind.name()).await?;
                component_versions::insert_active(
                    &mut tx,
                    &NewVersion {
                        kind: kind.name(),
                        digest: &loaded.digest,
                        version: manifest.map(|m| m.version.as_str()),
                        description: manifest.map(|m| m.description.as_str()),
                        author: manifest.map(|m| m.author.as_str()),
                        signer: opened.signer.as_deref(),
                        component: &opened.component,
                        artifact: opened.signer.is_some().then_some(bytes),
                        deployed_by,
                        now,
                    },
                )
                .await?;
                true
            }
        };
        let version = component_versions::find(&mut tx, kind.name(), &loaded.digest)
            .await?
            .expect("stored in this transaction");
        if changed {
            let mut data = json!({
                "kind": kind.name(),
                "digest": loaded.digest,
                "version": version.version,
                "signer": version.signer,
                "by": deployed_by,
            });
            if let Some(active) = &downgrade {
                data["downgraded_from"] = json!(active);
            }
            trail::record(&mut tx, "component.deployed", deployed_by, data, now).await?;
        }
        // The candidate on trial went live: its trial is over.
        let promoted = self
            .end_trial_of(&mut tx, kind, Some(&loaded.digest), deployed_by, now)
            .await?;
        trail::commit(tx, &self.caps).await?;
        if promoted {
            self.runtime.registry().end_trial(kind);
        }
        self.swap(loaded).await;
        if changed {
            tracing::info!(%kind, digest = %version.digest, version = ?version.version, by = deployed_by, "component deployed");
        }
        Ok(Deployed { version, changed })
    }

    /// Makes a stored version of `kind` the active one again.
    pub async fn rollback(
        &self,
        kind: ComponentKind,
        digest: &str,
        by: &str,
    ) -> Result<Deployed, DeployError> {
        let digest = digest.trim().to_ascii_lowercase();
        let stored = {
            let mut conn = self.caps.db.acquire().await?;
            component_versions::component(&mut conn, kind.name(), &digest)
                .await?
                .ok_or(DeployError::NotFound)?
        };
        // Checked again: its signature against the signers trusted now, and its world (a
        // version stored by an older host may no longer fit).
        let loaded = self.reopen(kind, &digest, stored).await?;
        self.self_test(&loaded).await?;
        let now = self.caps.clock.unix();
        let mut tx = store::begin(&self.caps.db).await?;
        let before = component_versions::find(&mut tx, kind.name(), &digest)
            .await?
            .ok_or(DeployError::NotFound)?;
        let changed = before.status != "active";
        if changed {
            component_versions::retire_active(&mut tx, kind.name()).await?;
            component_versions::reactivate(&mut tx, kind.name(), &digest, by, now).await?;
            let data = json!({
                "kind": kind.name(),
                "digest": digest,
                "version": before.version,
                "by": by,
            });
            trail::record(&mut tx, "component.rolled_back", by, data, now).await?;
        }
        let version = component_versions::find(&mut tx, kind.name(), &digest)
            .await?
            .expect("read in this transaction");
        trail::commit(tx, &self.caps).await?;
        self.swap(loaded).await;
        if changed {
            tracing::info!(%kind, %digest, by, "component rolled back");
        }
        Ok(Deployed { version, changed })
    }

    /// The decision log's entries that `filter` selects, newest first.
    pub async fn decisions(
        &self,
        filter: &store::decisions::Filter,
    ) -> sqlx::Result<Vec<store::decisions::DecisionRecord>> {
        let mut conn = self.caps.db.acquire().await?;
        store::decisions::query(&mut conn, filter).await
    }

    /// Every stored version, by kind, newest activation first.
    pub async fn history(&self) -> sqlx::Result<Vec<ComponentVersion>> {
        let mut conn = self.caps.db.acquire().await?;
        component_versions::history(&mut conn).await
    }

    /// Activates the stored active version of every kind that has one (over the components
    /// directory's file). At start-up, and every [`FLEET_POLL`] after: a version activated by
    /// another host is taken within a poll. A stored version that no longer loads is logged and
    /// the one running stays.
    pub async fn follow_fleet(&self) -> sqlx::Result<()> {
        let active = {
            let mut conn = self.caps.db.acquire().await?;
            component_versions::active_digests(&mut conn).await?
        };
        for (kind, digest) in active {
            let Some(kind) = ComponentKind::from_name(&kind) else {
                continue;
            };
            if self.taken.lock().await.get(&kind) == Some(&digest) {
                continue;
            }
            if self
                .runtime
                .registry()
                .active(kind)
                .is_none_or(|running| running.digest != digest)
            {
                let stored = {
                    let mut conn = self.caps.db.acquire().await?;
                    component_versions::component(&mut conn, kind.name(), &digest).await?
                };
                let Some(stored) = stored else { continue };
                match self.reopen(kind, &digest, stored).await {
                    Ok(loaded) => {
                        self.runtime.registry().activate(loaded);
                        tracing::info!(%kind, %digest, "switched to the fleet's active component version");
                    }
                    Err(error) => {
                        tracing::error!(%kind, %digest, %error, "the stored active component does not load here; the running version stays")
                    }
                }
            }
            self.taken.lock().await.insert(kind, digest);
        }
        self.follow_trials().await
    }

    /// Runs [`Lifecycle::follow_fleet`] every [`FLEET_POLL`] until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        let mut failing = false;
        loop {
            tokio::time::sleep(FLEET_POLL).await;
            match self.follow_fleet().await {
                Ok(()) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "cannot read the active component versions; retrying every second");
                }
                Err(_) => {}
            }
        }
    }

    /// Opens an artifact and checks everything a component must pass before it may decide
    /// anything: signature, size, kind, the type-check against its world, and its self-test.
    async fn accept(
        &self,
        bytes: &[u8],
        kind: Option<ComponentKind>,
        by: &str,
    ) -> Result<(artifact::Opened, LoadedComponent), DeployError> {
        let opened = artifact::open(
            bytes,
            kind,
            &artifact::Policy {
                signers: &self.signers,
                max_bytes: self.max_bytes,
                allow_unsigned: self.allow_unsigned,
            },
        )?;
        if opened.signer.is_none() {
            tracing::warn!(kind = %opened.kind, by, "accepting an UNSIGNED component (development mode only)");
        }
        let loaded = self.prepare(opened.kind, opened.component.clone()).await?;
        self.self_test(&loaded).await?;
        Ok((opened, loaded))
    }

    /// A stored version or trial of `kind`, made ready to run again only as far as it is still
    /// trusted: its signed artifact verified against today's signers (and naming `digest`), or
    /// — in development mode only — a bare component.
    async fn reopen(
        &self,
        kind: ComponentKind,
        digest: &str,
        stored: StoredComponent,
    ) -> Result<LoadedComponent, DeployError> {
        let component = match stored.artifact {
            Some(bytes) => {
                let opened = artifact::open(
                    &bytes,
                    Some(kind),
                    &artifact::Policy {
                        signers: &self.signers,
                        max_bytes: self.max_bytes,
                        allow_unsigned: false,
                    },
                )?;
                opened.component
            }
            None if self.allow_unsigned => stored.component,
            None => return Err(Rejection::Unsigned.into()),
        };
        let loaded = self.prepare(kind, component).await?;
        if loaded.digest != digest {
            return Err(Rejection::DigestMismatch.into());
        }
        Ok(loaded)
    }

    /// Runs the component's exported self-test when it exports one.
    async fn self_test(&self, loaded: &LoadedComponent) -> Result<(), DeployError> {
        match self.runtime.self_test(&self.caps, loaded).await {
            Ok(true) => {
                tracing::info!(kind = %loaded.kind, digest = %loaded.digest, "the component's self-test passed");
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(why) => Err(DeployError::SelfTest(why)),
        }
    }

    async fn prepare(
        &self,
        kind: ComponentKind,
        bytes: Vec<u8>,
    ) -> Result<LoadedComponent, DeployError> {
        let runtime = self.runtime.clone();
        tokio::task::spawn_blocking(move || runtime.registry().prepare(kind, &bytes))
            .await
            .map_err(|e| DeployError::Internal(e.into()))?
            .map_err(|e| DeployError::TypeCheck(format!("{e:#}")))
    }

    /// Activates what was just committed, and remembers it so the fleet poll does not redo it.
    async fn swap(&self, loaded: LoadedComponent) {
        let mut taken = self.taken.lock().await;
        taken.insert(loaded.kind, loaded.digest.clone());
        if self
            .runtime
            .registry()
            .active(loaded.kind)
            .is_none_or(|running| running.digest != loaded.digest)
        {
            self.runtime.registry().activate(loaded);
        }
    }
}

/// The active version, when `offered` (a semantic version) is older than it.
fn older(offered: &str, active: Option<&str>) -> Option<String> {
    let active = active?;
    let (offered_v, active_v) = (
        semver::Version::parse(offered).ok()?,
        semver::Version::parse(active).ok()?,
    );
    (offered_v < active_v).then(|| active.to_owned())
}
