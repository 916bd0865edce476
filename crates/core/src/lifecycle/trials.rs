//! Trials: a candidate version evaluated in the shadow of a kind's active version, or deciding
//! for a canary share of customers. Starting and ending one is stored (with its event and audit
//! row) before this host switches, and every host of the fleet follows the stored trials.

use serde_json::json;

use super::{DeployError, Lifecycle};
use crate::{
    runtime::{ComponentKind, TrialMode},
    store::{
        self, Connection,
        component_trials::{self, StoredTrial},
        decisions,
    },
    trail,
};

/// What identifies a running trial: the candidate's digest, the mode and the canary's percent.
pub(super) type TrialKey = (String, String, Option<i64>);

/// A trial and what it has shown so far.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialStatus {
    #[serde(flatten)]
    pub trial: StoredTrial,
    /// Shadow evaluations logged for the candidate.
    pub evaluated: i64,
    /// Of those, how many answered otherwise than the version that decided.
    pub disagreements: i64,
}

impl Lifecycle {
    /// Puts an artifact on trial for its kind (replacing any earlier trial), after every check
    /// a deploy makes.
    pub async fn start_trial(
        &self,
        bytes: &[u8],
        kind: Option<ComponentKind>,
        mode: TrialMode,
        by: &str,
    ) -> Result<TrialStatus, DeployError> {
        let (opened, loaded) = self.accept(bytes, kind, by).await?;
        let kind = opened.kind;
        if self
            .runtime
            .registry()
            .active(kind)
            .is_some_and(|active| active.digest == loaded.digest)
        {
            return Err(DeployError::AlreadyActive);
        }
        let (mode_name, percent) = mode.stored();
        let trial = StoredTrial {
            kind: kind.name().to_owned(),
            digest: loaded.digest.clone(),
            version: opened.manifest.as_ref().map(|m| m.version.clone()),
            signer: opened.signer.clone(),
            mode: mode_name.to_owned(),
            percent,
            started_by: by.to_owned(),
            started_at: self.caps.clock.unix(),
        };
        let mut tx = store::begin(&self.caps.db).await?;
        let artifact = opened.signer.is_some().then_some(bytes);
        component_trials::put(&mut tx, &trial, &opened.component, artifact).await?;
        let data = json!({
            "kind": kind.name(),
            "digest": trial.digest,
            "version": trial.version,
            "mode": mode_name,
            "percent": percent,
            "by": by,
        });
        trail::record(
            &mut tx,
            "component.trial_started",
            by,
            data,
            trial.started_at,
        )
        .await?;
        trail::commit(tx, &self.caps).await?;
        self.trials_taken.lock().await.insert(
            kind,
            (trial.digest.clone(), trial.mode.clone(), trial.percent),
        );
        self.runtime.registry().start_trial(loaded, mode);
        tracing::info!(%kind, digest = %trial.digest, mode = mode_name, ?percent, by, "component trial started");
        self.trial(kind).await
    }

    /// The trial of `kind` with its counts.
    pub async fn trial(&self, kind: ComponentKind) -> Result<TrialStatus, DeployError> {
        let mut conn = self.caps.db.acquire().await?;
        let trial = component_trials::find(&mut conn, kind.name())
            .await?
            .ok_or(DeployError::NoTrial)?;
        let (evaluated, disagreements) =
            decisions::shadow_counts(&mut conn, kind.name(), &trial.digest).await?;
        Ok(TrialStatus {
            trial,
            evaluated,
            disagreements,
        })
    }

    /// Ends the trial of `kind`: the candidate stops deciding or being evaluated.
    pub async fn end_trial(
        &self,
        kind: ComponentKind,
        by: &str,
    ) -> Result<TrialStatus, DeployError> {
        let status = self.trial(kind).await?;
        let now = self.caps.clock.unix();
        let mut tx = store::begin(&self.caps.db).await?;
        if !self.end_trial_of(&mut tx, kind, None, by, now).await? {
            return Err(DeployError::NoTrial);
        }
        trail::commit(tx, &self.caps).await?;
        self.trials_taken.lock().await.remove(&kind);
        self.runtime.registry().end_trial(kind);
        tracing::info!(%kind, digest = %status.trial.digest, by, "component trial ended");
        Ok(status)
    }

    /// Ends the stored trial of `kind` (only if its candidate is `digest`, when given), with its
    /// event; whether one ended.
    pub(super) async fn end_trial_of(
        &self,
        conn: &mut Connection,
        kind: ComponentKind,
        digest: Option<&str>,
        by: &str,
        now: i64,
    ) -> Result<bool, DeployError> {
        let Some(trial) = component_trials::find(conn, kind.name()).await? else {
            return Ok(false);
        };
        if digest.is_some_and(|d| d != trial.digest) {
            return Ok(false);
        }
        let (evaluated, disagreements) =
            decisions::shadow_counts(conn, kind.name(), &trial.digest).await?;
        component_trials::end(conn, kind.name()).await?;
        let data = json!({
            "kind": kind.name(),
            "digest": trial.digest,
            "mode": trial.mode,
            "evaluated": evaluated,
            "disagreements": disagreements,
            "promoted": digest.is_some(),
            "by": by,
        });
        trail::record(conn, "component.trial_ended", by, data, now).await?;
        Ok(true)
    }

    /// Runs the trials the database holds, as [`Lifecycle::follow_fleet`] does the active
    /// versions.
    pub(super) async fn follow_trials(&self) -> sqlx::Result<()> {
        let stored = {
            let mut conn = self.caps.db.acquire().await?;
            component_trials::all(&mut conn).await?
        };
        let mut taken = self.trials_taken.lock().await;
        for kind in ComponentKind::ALL {
            let Some(trial) = stored.iter().find(|t| t.kind == kind.name()) else {
                if taken.remove(&kind).is_some() || self.runtime.registry().trial(kind).is_some() {
                    self.runtime.registry().end_trial(kind);
                    tracing::info!(%kind, "the fleet's trial ended here too");
                }
                continue;
            };
            let key = (trial.digest.clone(), trial.mode.clone(), trial.percent);
            if taken.get(&kind) == Some(&key) {
                continue;
            }
            let Some(mode) = TrialMode::from_stored(&trial.mode, trial.percent) else {
                continue;
            };
            let stored = {
                let mut conn = self.caps.db.acquire().await?;
                component_trials::component(&mut conn, kind.name()).await?
            };
            let Some(stored) = stored else { continue };
            match self.reopen(kind, &trial.digest, stored).await {
                Ok(loaded) => {
                    self.runtime.registry().start_trial(loaded, mode);
                    tracing::info!(%kind, digest = %trial.digest, mode = %trial.mode, "joined the fleet's component trial");
                }
                Err(error) => {
                    tracing::error!(%kind, digest = %trial.digest, %error, "the fleet's trial candidate does not load here; no trial on this host")
                }
            }
            taken.insert(kind, key);
        }
        Ok(())
    }
}
