//! What a component is asked and how its answer is recorded: the [`Ask`] every call carries
//! (kind, export, the customer it is about, the input), the roles a version plays in a
//! decision, candidates on [`Trial`] (shadow or canary) and the stable split of customers
//! between a canary and the active version.

use std::{fmt, sync::Arc};

use sha2::{Digest, Sha256};

use super::{CallError, ComponentKind, LoadedComponent};
use crate::{secrets::SecretBox, store::decisions::DecisionRecord};

/// One question put to a component: which export of which kind, about whom, with what input.
pub struct Ask {
    pub kind: ComponentKind,
    /// The export called, e.g. `register` or `assess-login`.
    pub operation: &'static str,
    /// The customer the decision is about, when one exists yet.
    pub user: Option<String>,
    /// What a canary splits on: the customer's id, or what identifies an applicant before they
    /// have one.
    split_key: Option<String>,
    /// The input as the digest sees it (may hold a password or a code; never stored).
    input: String,
    /// The input as JSON, for decisions that can be replayed (no secret in it).
    replay: Option<serde_json::Value>,
    /// Asks this candidate instead, with every write discarded and nothing logged (a replay).
    pub(crate) replaying: Option<Arc<LoadedComponent>>,
}

impl Ask {
    pub fn new(kind: ComponentKind, operation: &'static str, input: &impl fmt::Debug) -> Self {
        Self {
            kind,
            operation,
            user: None,
            split_key: None,
            input: format!("{input:?}"),
            replay: None,
            replaying: None,
        }
    }

    /// Asks `candidate` instead of the kind's versions, deciding nothing: a replay.
    pub fn replaying(mut self, candidate: Arc<LoadedComponent>) -> Self {
        self.replaying = Some(candidate);
        self
    }

    /// The decision is about the customer `user` (also what a canary splits on).
    pub fn about(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self.split_key = Some(user.to_owned());
        self
    }

    /// A canary splits on `key` (an applicant without an id yet).
    pub fn split_by(mut self, key: String) -> Self {
        self.split_key = Some(key);
        self
    }

    /// Keeps the input (sealed) in the decision log so a candidate can be replayed on it.
    pub fn replayable(mut self, input: &impl serde::Serialize) -> Self {
        self.replay = serde_json::to_value(input).ok();
        self
    }

    pub(crate) fn split_key(&self) -> Option<&str> {
        self.split_key.as_deref()
    }

    /// The keyed digest of the input (see [`SecretBox::keyed_digest`]).
    pub(crate) fn input_digest(&self, secrets: &SecretBox) -> String {
        secrets.keyed_digest(format!("{}:{}:{}", self.kind, self.operation, self.input).as_bytes())
    }

    /// The log row of this decision taken by `component` playing `role`.
    pub(crate) fn record(
        &self,
        secrets: &SecretBox,
        component: &LoadedComponent,
        role: Role,
        outcome: String,
        elapsed: std::time::Duration,
        now: i64,
    ) -> DecisionRecord {
        let id = uuid::Uuid::now_v7().to_string();
        let input = match role {
            // A shadow's input is the active decision's input; it is kept once, there.
            Role::Shadow => None,
            Role::Active | Role::Canary => self
                .replay
                .as_ref()
                .map(|input| secrets.seal_text(&input.to_string(), &input_context(&id))),
        };
        DecisionRecord {
            id,
            decided_at: now,
            kind: self.kind.name().to_owned(),
            operation: self.operation.to_owned(),
            digest: component.digest.clone(),
            role: role.as_str().to_owned(),
            user_id: self.user.clone(),
            input_digest: self.input_digest(secrets),
            outcome,
            agreed: None,
            duration_us: elapsed.as_micros().try_into().unwrap_or(i64::MAX),
            input,
        }
    }
}

/// The associated data a replayable input is sealed with: its own decision.
pub fn input_context(decision_id: &str) -> String {
    format!("component_decisions:{decision_id}:input")
}

/// How a version took part in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The kind's active version decided.
    Active,
    /// A canary candidate decided, for a customer in its share.
    Canary,
    /// A shadow candidate was evaluated beside the version that decided; its writes discarded.
    Shadow,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canary => "canary",
            Self::Shadow => "shadow",
        }
    }
}

/// How a candidate is tried beside the active version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialMode {
    /// Evaluated on every call's input, deciding nothing.
    Shadow,
    /// Deciding for this percentage of customers.
    Canary { percent: u8 },
}

impl TrialMode {
    /// The `mode` and `percent` columns of a stored trial.
    pub fn stored(self) -> (&'static str, Option<i64>) {
        match self {
            Self::Shadow => ("shadow", None),
            Self::Canary { percent } => ("canary", Some(i64::from(percent))),
        }
    }

    /// A stored trial's mode; `None` when the row makes no sense.
    pub fn from_stored(mode: &str, percent: Option<i64>) -> Option<Self> {
        match (mode, percent) {
            ("shadow", _) => Some(Self::Shadow),
            ("canary", Some(p)) => u8::try_from(p).ok().map(|percent| Self::Canary { percent }),
            _ => None,
        }
    }
}

/// A candidate on trial for its kind.
pub struct Trial {
    pub candidate: Arc<LoadedComponent>,
    pub mode: TrialMode,
}

/// Whether the customer with `key` falls in a canary's `percent`: a stable hash, so a
/// customer meets the same version on every call and on every host.
pub fn in_canary(key: &str, percent: u8) -> bool {
    let hash = Sha256::digest(key.as_bytes());
    let bucket = u64::from_be_bytes(hash[..8].try_into().expect("eight bytes")) % 100;
    bucket < u64::from(percent)
}

/// How a failed call shows in the decision log.
pub fn failure_outcome(error: &CallError) -> String {
    match error {
        CallError::NotLoaded(_) => "failed:not_loaded",
        CallError::Timeout(_) => "failed:deadline",
        CallError::MemoryExceeded(_) => "failed:memory",
        CallError::Trapped { .. } => "failed:trap",
        CallError::Capability(_) => "failed:capability",
        CallError::SandboxLimit { .. } => "failed:sandbox_limit",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canary_takes_its_share_of_customers_and_keeps_them() {
        let ids: Vec<String> = (0..20_000)
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        for percent in [0u8, 5, 30, 50, 100] {
            let taken = ids.iter().filter(|id| in_canary(id, percent)).count();
            let share = taken as f64 / ids.len() as f64 * 100.0;
            assert!(
                (share - f64::from(percent)).abs() < 1.5,
                "{percent}% canary took {share:.2}%"
            );
        }
        // Stable: the same customer, the same answer; and a bigger canary keeps everyone the
        // smaller one had.
        for id in &ids[..1000] {
            assert_eq!(in_canary(id, 30), in_canary(id, 30));
            if in_canary(id, 10) {
                assert!(in_canary(id, 30));
            }
        }
    }
}
