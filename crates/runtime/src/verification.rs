//! Calls into the verification policy component, in the host's own types. The facts go in as
//! the WIT records themselves (re-exported here); the decision comes back as a
//! [`PolicyDecision`] with the digest of the component that took it.

use std::sync::Arc;

use super::{
    Ask, CallError, ComponentKind, Runtime,
    bindings::verification::exports::usvc::host::verification as wit, registry::Prepared,
};
use crate::{
    capabilities::Capabilities,
    store::verification::{Limits, Reason},
};

pub use super::bindings::usvc::host::types::Date;
pub use wit::{
    Customer, DocumentFacts, DocumentKind, DocumentStatus, KycOutcome, KycResult, ProfileFacts,
};

/// A customer's verification status, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationStatus {
    Unverified,
    Pending,
    Verified,
    ManualReview,
    Rejected,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::ManualReview => "manual_review",
            Self::Rejected => "rejected",
        }
    }
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    pub tier: u8,
    pub status: VerificationStatus,
    pub limits: Limits,
    pub requirements: Vec<String>,
    pub submit_kyc: bool,
    /// The check the policy asked for (through `kyc.request-check`).
    pub check_id: Option<String>,
    pub manual_review: bool,
    pub reasons: Vec<Reason>,
    /// Hex SHA-256 of the component that decided.
    pub component_digest: String,
}

impl PolicyDecision {
    pub fn reason_codes(&self) -> Vec<&str> {
        self.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    /// The decision as the decision log words it: everything decided but the check's id
    /// (fresh for every check) and the deciding digest.
    pub fn outcome(&self) -> String {
        format!(
            "tier={};status={};requirements={};reasons={};submit_kyc={};manual_review={}",
            self.tier,
            self.status.as_str(),
            self.requirements.join(","),
            self.reason_codes().join(","),
            self.submit_kyc,
            self.manual_review
        )
    }
}

impl Runtime {
    /// Asks the verification policy for its decision. Commits nothing: asking for a check only
    /// reads, and the host stores the decision itself.
    pub async fn verification_decide(
        &self,
        caps: &Arc<Capabilities>,
        customer: Customer,
    ) -> Result<PolicyDecision, CallError> {
        let ask = Ask::new(ComponentKind::Verification, "decide", &customer)
            .about(&customer.user)
            .replayable(&customer);
        self.verification_decide_as(caps, ask, customer).await
    }

    /// The verification policy's `decide` on `customer`, asked as `ask` (also how a recorded
    /// decision is replayed).
    pub async fn verification_decide_as(
        &self,
        caps: &Arc<Capabilities>,
        ask: Ask,
        customer: Customer,
    ) -> Result<PolicyDecision, CallError> {
        let (decision, digest) = self
            .call(
                caps,
                ask,
                |_| false,
                |(decision, digest): &(wit::Decision, String)| {
                    policy_decision(decision.clone(), digest.clone()).outcome()
                },
                |store, component| {
                    Box::pin(async move {
                        let Prepared::Verification(pre) = &component.prepared else {
                            wasmtime::bail!("the active verification component is of another kind");
                        };
                        let instance = pre.instantiate_async(&mut *store).await?;
                        let decision = instance
                            .usvc_host_verification()
                            .call_decide(&mut *store, &customer)
                            .await?;
                        Ok((decision, component.digest.clone()))
                    })
                },
            )
            .await?;
        if decision.tier > 3 {
            return Err(CallError::Trapped {
                kind: ComponentKind::Verification,
                message: format!("decided tier {}, beyond 3", decision.tier),
            });
        }
        Ok(policy_decision(decision, digest))
    }
}

fn policy_decision(decision: wit::Decision, digest: String) -> PolicyDecision {
    PolicyDecision {
        tier: decision.tier,
        status: match decision.status {
            wit::VerificationStatus::Unverified => VerificationStatus::Unverified,
            wit::VerificationStatus::Pending => VerificationStatus::Pending,
            wit::VerificationStatus::Verified => VerificationStatus::Verified,
            wit::VerificationStatus::ManualReview => VerificationStatus::ManualReview,
            wit::VerificationStatus::Rejected => VerificationStatus::Rejected,
        },
        limits: Limits {
            currency: decision.limits.currency,
            daily_transfer_limit: decision.limits.daily_transfer_limit,
            balance_cap: decision.limits.balance_cap,
        },
        requirements: decision.requirements,
        submit_kyc: decision.submit_kyc,
        check_id: decision.check_id,
        manual_review: decision.manual_review,
        reasons: decision
            .reasons
            .into_iter()
            .map(|r| Reason {
                code: r.code,
                message: r.message,
            })
            .collect(),
        component_digest: digest,
    }
}
