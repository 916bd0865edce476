//! Replaying recorded decisions against a candidate before it goes live: the input of every
//! logged decision that kept one is asked again of the candidate and of the active version, both
//! with their writes discarded and against today's state, and each input they answer
//! differently is reported (with what was decided at the time).

use std::sync::Arc;

use super::{DeployError, Lifecycle};
use crate::{
    runtime::{
        Ask, ComponentKind, LoadedComponent, decision::input_context, mfa::LoginContext,
        verification::Customer,
    },
    store::decisions::{self, DecisionRecord, Filter},
};

/// What a replay found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplayReport {
    pub kind: &'static str,
    /// The candidate's digest.
    pub candidate: String,
    /// The active version's digest.
    pub active: String,
    /// Decisions asked again.
    pub replayed: usize,
    /// Of those, answered alike by the candidate and the active version.
    pub agreed: usize,
    pub differences: Vec<Difference>,
}

/// A recorded input the candidate answers otherwise than the active version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub decision_id: String,
    pub operation: String,
    pub user_id: Option<String>,
    pub decided_at: i64,
    /// What was decided at the time, and by which version.
    pub recorded: String,
    pub recorded_digest: String,
    /// The answers today.
    pub active: String,
    pub candidate: String,
}

impl Lifecycle {
    /// Replays the recorded decisions `filter` selects (of the artifact's kind, newest first)
    /// against the artifact and the kind's active version, after every check a deploy makes.
    pub async fn replay(
        &self,
        bytes: &[u8],
        kind: Option<ComponentKind>,
        mut filter: Filter,
        by: &str,
    ) -> Result<ReplayReport, DeployError> {
        let (opened, loaded) = self.accept(bytes, kind, by).await?;
        let candidate = Arc::new(loaded);
        let active = self.runtime.registry().active(opened.kind).ok_or_else(|| {
            DeployError::Internal(anyhow::anyhow!("no {} component is loaded", opened.kind))
        })?;
        filter.kind = Some(opened.kind.name().to_owned());
        filter.replayable = true;
        let recorded = {
            let mut conn = self.caps.db.acquire().await?;
            decisions::query(&mut conn, &filter).await?
        };
        let mut report = ReplayReport {
            kind: opened.kind.name(),
            candidate: candidate.digest.clone(),
            active: active.digest.clone(),
            replayed: 0,
            agreed: 0,
            differences: Vec::new(),
        };
        for decision in recorded {
            let Some(today) = self.ask_again(&active, &decision).await else {
                continue;
            };
            let Some(answer) = self.ask_again(&candidate, &decision).await else {
                continue;
            };
            report.replayed += 1;
            if answer == today {
                report.agreed += 1;
            } else {
                report.differences.push(Difference {
                    decision_id: decision.id,
                    operation: decision.operation,
                    user_id: decision.user_id,
                    decided_at: decision.decided_at,
                    recorded: decision.outcome,
                    recorded_digest: decision.digest,
                    active: today,
                    candidate: answer,
                });
            }
        }
        tracing::info!(kind = %opened.kind, candidate = %report.candidate, replayed = report.replayed, differences = report.differences.len(), by, "recorded decisions replayed");
        Ok(report)
    }

    /// `component`'s answer to a recorded decision's input, as the decision log words it; `None`
    /// when the decision cannot be replayed (no input kept, or an export replay does not know).
    async fn ask_again(
        &self,
        candidate: &Arc<LoadedComponent>,
        decision: &DecisionRecord,
    ) -> Option<String> {
        let sealed = decision.input.as_deref()?;
        let input = match self
            .caps
            .secrets
            .open_text(sealed, &input_context(&decision.id))
        {
            Ok(input) => input,
            Err(error) => {
                tracing::warn!(%error, decision = %decision.id, "a recorded input does not open; skipped");
                return None;
            }
        };
        let runtime = &self.runtime;
        let caps = &self.caps;
        let kind = candidate.kind;
        let answer = match (kind, decision.operation.as_str()) {
            (ComponentKind::Mfa, "assess-login") => {
                let context: LoginContext = serde_json::from_str(&input).ok()?;
                let ask = Ask::new(kind, "assess-login", &context).replaying(candidate.clone());
                runtime
                    .mfa_assess_login(caps, ask, context)
                    .await
                    .map(|answer| crate::runtime::mfa::login_requirement_outcome(&answer))
            }
            (ComponentKind::Verification, "decide") => {
                let customer: Customer = serde_json::from_str(&input).ok()?;
                let ask = Ask::new(kind, "decide", &customer).replaying(candidate.clone());
                runtime
                    .verification_decide_as(caps, ask, customer)
                    .await
                    .map(|decision| decision.outcome())
            }
            _ => return None,
        };
        Some(answer.unwrap_or_else(|error| crate::runtime::decision::failure_outcome(&error)))
    }
}
