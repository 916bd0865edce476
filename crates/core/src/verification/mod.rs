//! Identity verification, the flow around the verification policy component: gather a
//! customer's facts (profile, documents, KYC results), ask the policy, store its decision (state,
//! history, and `user.verification_changed` with its audit row when the tier or status changed,
//! in one transaction), tell the customer after commit, and hand a check the policy asked for to
//! the KYC service once the decision is stored. Results come back asynchronously (RabbitMQ, or
//! the embedded sandbox's answer delivered the same way) and the policy decides again.
//!
//! Must not: put a name, date of birth, address or document number in an event, audit row or
//! log line; document numbers are opened only to build the check the KYC service receives.

pub mod provider;

use std::{future::Future, pin::Pin, sync::Arc};

use serde_json::json;

use self::provider::{CheckRequest, CheckStatus, KycProvider};
use crate::failure::{Failure, Reason};

use crate::{
    capabilities::Capabilities,
    kyc::{
        self, Recorded,
        message::{CheckCompleted, Outcome},
    },
    notify::{Notice, Notification},
    runtime::{
        CallError, Runtime,
        verification::{
            Customer, Date, DocumentFacts, DocumentKind, DocumentStatus, KycOutcome, KycResult,
            PolicyDecision, ProfileFacts, VerificationStatus,
        },
    },
    store::{
        self,
        documents::{self as document_rows, DocumentRow},
        kyc_checks,
        kyc_results::{self, KycResult as StoredResult},
        profiles, users,
        verification::{self as states, Decision, VerificationState, open_check_of},
    },
    trail,
};

/// The event published when a customer's tier or status changes.
pub const CHANGED: &str = "user.verification_changed";

/// How often a decision is taken again when another one was stored meanwhile.
const ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    #[error("no such customer")]
    NotFound,
    /// Other decisions kept being stored while this one was taken.
    #[error("the verification kept changing while it was decided")]
    Contended,
    #[error(transparent)]
    Component(#[from] CallError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A sealed profile field did not open.
    #[error(transparent)]
    Profile(#[from] profiles::ReadError),
}

impl From<VerificationError> for Failure {
    fn from(e: VerificationError) -> Self {
        match e {
            VerificationError::NotFound => Failure::not_found("no such customer"),
            VerificationError::Contended => Failure::conflict(
                Reason::Conflict,
                "the verification changed while it was decided; try again",
            ),
            VerificationError::Component(e) => e.into(),
            VerificationError::Database(e) => e.into(),
            VerificationError::Profile(e) => Failure::internal(e.into()),
        }
    }
}

/// A customer's verification as shown: the current decision (stored, or a preview when none
/// has been stored yet) and the history, newest first.
#[derive(Debug, Clone)]
pub struct Verification {
    pub state: VerificationState,
    pub history: Vec<Decision>,
}

/// Runs the verification flow; one per application, cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    runtime: Arc<Runtime>,
    caps: Arc<Capabilities>,
    provider: Arc<dyn KycProvider>,
    /// The embedded sandbox answers a check at once; its answer is then delivered as the KYC
    /// service's result message would be, through `kyc::record`.
    deliver_sandbox_results: bool,
}

/// What `gather` found.
struct Facts {
    customer: Customer,
    email: String,
    state: Option<VerificationState>,
    open_check: Option<String>,
}

impl Verifier {
    pub fn new(
        runtime: Arc<Runtime>,
        caps: Arc<Capabilities>,
        provider: Arc<dyn KycProvider>,
        deliver_sandbox_results: bool,
    ) -> Self {
        Self {
            runtime,
            caps,
            provider,
            deliver_sandbox_results,
        }
    }

    /// Decides the customer's verification now and stores the decision. `requested`: the
    /// customer asked to be verified, so the policy may ask for a KYC check, which is submitted
    /// after the decision is stored.
    pub async fn assess(
        &self,
        user_id: &str,
        requested: bool,
    ) -> Result<VerificationState, VerificationError> {
        for _ in 0..ATTEMPTS {
            let facts = self.gather(user_id, requested).await?;
            let decision = self
                .runtime
                .verification_decide(&self.caps, facts.customer.clone())
                .await?;
            let Some((state, changed)) = self.store(user_id, &facts, &decision).await? else {
                continue;
            };
            if changed {
                let notice =
                    Notification::render(user_id, &facts.email, Notice::VerificationChanged, None);
                if let Err(error) = self.caps.notifier.deliver(&notice).await {
                    tracing::error!(%error, user_id, "verification notice not delivered");
                }
            }
            if let Some(check_id) = &state.open_check_id
                && state.open_check_submitted_at.is_none()
            {
                self.submit(user_id, check_id).await;
            }
            return Ok(state);
        }
        Err(VerificationError::Contended)
    }

    /// The customer's verification: the stored decision and its history, or, before any was
    /// stored, what the policy would decide now (nothing is written).
    pub async fn view(&self, user_id: &str) -> Result<Verification, VerificationError> {
        let mut conn = self.caps.db.acquire().await?;
        let state = states::get(&mut conn, user_id).await?;
        let history = states::history(&mut conn, user_id).await?;
        drop(conn);
        let state = match state {
            Some(state) => state,
            None => {
                let facts = self.gather(user_id, false).await?;
                let decision = self
                    .runtime
                    .verification_decide(&self.caps, facts.customer)
                    .await?;
                state_of(user_id, &decision, None, self.caps.clock.unix())
            }
        };
        Ok(Verification { state, history })
    }

    /// A KYC result for the customer was recorded: the policy decides again, and when it
    /// cannot, the customer is held at tier 0 until it can (a rejection must not leave the
    /// tier granted before it).
    pub async fn result_recorded(&self, user_id: &str) {
        self.decide_again(user_id, "a KYC result").await;
    }

    /// The customer changed what identifies them: a stored decision is taken again, since a tier
    /// granted on the old identity may no longer hold (the policy decides what the new facts
    /// support). A customer never assessed has nothing to take back. A failure is logged; the
    /// next assessment decides again.
    pub async fn identity_changed(&self, user_id: &str) {
        let assessed = async {
            let mut conn = self.caps.db.acquire().await?;
            states::get(&mut conn, user_id).await
        };
        match assessed.await {
            Ok(Some(_)) => self.decide_again(user_id, "an identity change").await,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, user_id, "verification not decided again after an identity change")
            }
        }
    }

    /// The policy decides again after new facts (`after` says which); when it cannot, the
    /// customer is held at tier 0.
    async fn decide_again(&self, user_id: &str, after: &str) {
        if let Err(error) = self.assess(user_id, false).await {
            tracing::warn!(%error, user_id, after, "verification not decided again; holding the customer at tier 0");
            metrics::counter!("usvc_verification_held_total").increment(1);
            if let Err(error) = self.hold(user_id).await {
                tracing::error!(%error, user_id, after, "a customer could not be held at tier 0");
            }
        }
    }

    /// When the policy cannot weigh new facts (an identity change, a KYC result), nothing it
    /// granted before them stays: the customer is held at tier 0, pending, with no limits, until
    /// a decision succeeds (their next request, or later facts). Failing closed is the host's
    /// mechanism; what the customer is granted next is the policy's decision.
    async fn hold(&self, user_id: &str) -> Result<(), VerificationError> {
        for _ in 0..ATTEMPTS {
            let facts = self.gather(user_id, false).await?;
            let currency = facts
                .state
                .as_ref()
                .map(|s| s.limits.currency.clone())
                .unwrap_or_default();
            let held = PolicyDecision {
                tier: 0,
                status: VerificationStatus::Pending,
                limits: states::Limits {
                    currency,
                    daily_transfer_limit: 0,
                    balance_cap: 0,
                },
                requirements: vec!["kyc.check".to_owned()],
                submit_kyc: false,
                check_id: None,
                manual_review: false,
                reasons: vec![states::Reason {
                    code: "kyc.undecided".to_owned(),
                    message: "New identity facts could not be weighed yet: nothing is granted until they are.".to_owned(),
                }],
                component_digest: String::new(),
            };
            if self.store(user_id, &facts, &held).await?.is_some() {
                return Ok(());
            }
        }
        Err(VerificationError::Contended)
    }

    async fn gather(&self, user_id: &str, requested: bool) -> Result<Facts, VerificationError> {
        let mut conn = self.caps.db.acquire().await?;
        let user = users::get(&mut conn, user_id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let profile = profiles::get(&mut conn, &self.caps.secrets, user_id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let documents = document_rows::list(&mut conn, user_id).await?;
        let results = kyc_results::for_user(&mut conn, user_id).await?;
        let identity = identity_digest(&self.caps.secrets, &profile);
        let checked: std::collections::HashMap<String, String> =
            kyc_checks::for_user(&mut conn, user_id)
                .await?
                .into_iter()
                .map(|c| (c.check_id, c.identity_digest))
                .collect();
        let state = states::get(&mut conn, user_id).await?;
        let open_check = open_check_of(state.as_ref(), &results);
        let present = |s: &str| !s.trim().is_empty();
        let customer = Customer {
            user: user_id.to_owned(),
            profile: ProfileFacts {
                has_legal_name: present(&profile.legal_name),
                date_of_birth: parse_date(&profile.date_of_birth),
                nationality: profile.nationality.clone(),
                address_country: profile
                    .address
                    .as_ref()
                    .map(|a| a.country.clone())
                    .filter(|c| present(c)),
                country_of_residence: Some(user.country_of_residence.clone())
                    .filter(|c| present(c)),
                email_verified: user.status != users::UserStatus::PendingVerification,
            },
            documents: documents.iter().filter_map(document_facts).collect(),
            kyc_results: results
                .iter()
                // A result from before checks were noted (no row) counts as it did then.
                .filter_map(|r| {
                    let current = checked.get(&r.check_id).is_none_or(|d| *d == identity);
                    result_facts(r, current)
                })
                .collect(),
            open_check: open_check.clone(),
            requested,
        };
        Ok(Facts {
            customer,
            email: user.email,
            state,
            open_check,
        })
    }

    /// Stores the decision when it differs from the stored one, conditionally on the stored
    /// version: `None` when another decision was stored meanwhile. Answers the state and
    /// whether the tier or status changed.
    async fn store(
        &self,
        user_id: &str,
        facts: &Facts,
        decision: &PolicyDecision,
    ) -> Result<Option<(VerificationState, bool)>, VerificationError> {
        let now = self.caps.clock.unix();
        let previous = facts.state.as_ref();
        let check_id = decision
            .check_id
            .clone()
            .filter(|id| uuid::Uuid::try_parse(id).is_ok())
            .or_else(|| facts.open_check.clone());
        let mut next = state_of(user_id, decision, check_id, now);
        if let Some(previous) = previous {
            if previous.open_check_id == next.open_check_id {
                next.open_check_submitted_at = previous.open_check_submitted_at;
            }
            let same = previous.tier == next.tier
                && previous.status == next.status
                && previous.limits == next.limits
                && previous.requirements == next.requirements
                && previous.reasons == next.reasons
                && previous.manual_review == next.manual_review
                && previous.open_check_id == next.open_check_id;
            if same {
                return Ok(Some((previous.clone(), false)));
            }
        }

        let expected = previous.map_or(0, |p| p.version);
        let mut tx = store::begin(&self.caps.db).await?;
        let Some(version) = states::save(&mut tx, &next, expected).await? else {
            return Ok(None);
        };
        next.version = version;
        states::insert_decision(
            &mut tx,
            &Decision {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: user_id.to_owned(),
                tier: next.tier,
                status: next.status.clone(),
                requirements: next.requirements.clone(),
                reasons: next.reasons.clone(),
                check_id: next.open_check_id.clone(),
                component_digest: next.component_digest.clone(),
                decided_at: now,
            },
        )
        .await?;
        let (from_tier, from_status) = previous.map_or((0, "unverified"), |p| (p.tier, &p.status));
        let changed = from_tier != next.tier || from_status != next.status;
        if changed {
            let data = json!({
                "user_id": user_id,
                "from_tier": from_tier,
                "to_tier": next.tier,
                "from_status": from_status,
                "to_status": next.status,
                "reasons": decision.reason_codes(),
            });
            trail::record(&mut tx, CHANGED, user_id, data, now).await?;
        }
        trail::commit(tx, &self.caps).await?;
        tracing::info!(
            user_id,
            tier = next.tier,
            status = %next.status,
            reasons = ?decision.reason_codes(),
            "verification decided"
        );
        metrics::counter!("usvc_verification_decisions_total", "status" => next.status.clone())
            .increment(1);
        Ok(Some((next, changed)))
    }

    /// Hands the open check to the KYC service. A failure is logged and leaves the check
    /// unsubmitted: the customer's next request submits it again (with the same id, which the
    /// service deduplicates).
    async fn submit(&self, user_id: &str, check_id: &str) {
        let request = match self.check_request(user_id, check_id).await {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(%error, user_id, check_id, "KYC check not built");
                return;
            }
        };
        // Noted before the KYC service hears of it, so that its result, however fast, answers a
        // check we know.
        let noted = async {
            let mut conn = self.caps.db.acquire().await?;
            let profile = profiles::get(&mut conn, &self.caps.secrets, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no such customer"))?;
            let identity = identity_digest(&self.caps.secrets, &profile);
            let now = self.caps.clock.unix();
            kyc_checks::submitted(&mut conn, check_id, user_id, &identity, now).await?;
            anyhow::Ok(())
        };
        if let Err(error) = noted.await {
            tracing::warn!(%error, user_id, check_id, "KYC check not noted; the next request retries");
            return;
        }
        let check = match self.provider.submit(&request).await {
            Ok(check) => check,
            Err(error) => {
                tracing::warn!(%error, user_id, check_id, "KYC check not submitted; the next request retries");
                return;
            }
        };
        let now = self.caps.clock.unix();
        let marked = async {
            let mut conn = self.caps.db.acquire().await?;
            states::check_submitted(&mut conn, user_id, check_id, now).await
        };
        if let Err(error) = marked.await {
            tracing::warn!(%error, user_id, check_id, "KYC check submitted but not marked");
        }
        tracing::info!(user_id, check_id, "KYC check submitted");
        if self.deliver_sandbox_results && check.status != CheckStatus::Pending {
            tokio::spawn(crate::trace::carried(
                self.clone()
                    .deliver_sandbox_result(user_id.to_owned(), check),
            ));
        }
    }

    /// The sandbox's answer, recorded as a `kyc.check.completed` message would be (the check id
    /// is its message id, so it is recorded once), then decided on.
    fn deliver_sandbox_result(
        self,
        user_id: String,
        check: provider::Check,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let outcome = match check.status {
                CheckStatus::Approved => Outcome::Approved,
                CheckStatus::Rejected => Outcome::Rejected,
                CheckStatus::ManualReview => Outcome::ManualReview,
                CheckStatus::Pending => return,
            };
            let result = CheckCompleted {
                message_id: check.check_id.clone(),
                completed_at: self.caps.clock.unix(),
                check_id: check.check_id,
                user_id: user_id.clone(),
                outcome,
                reasons: check.reasons,
                provider_reference: check.provider_check_id,
            };
            match kyc::record(&self.caps, &result).await {
                Ok(Recorded::New) => self.result_recorded(&user_id).await,
                Ok(Recorded::Duplicate) => {}
                Err(error) => tracing::warn!(%error, user_id, "sandbox KYC result not recorded"),
            }
        })
    }

    /// The check the KYC service receives: the person from the profile and the newest
    /// confirmed identity document with its number opened.
    async fn check_request(&self, user_id: &str, check_id: &str) -> anyhow::Result<CheckRequest> {
        let mut conn = self.caps.db.acquire().await?;
        let user = users::get(&mut conn, user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no such customer"))?;
        let profile = profiles::get(&mut conn, &self.caps.secrets, user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no such customer"))?;
        drop(conn);
        // The newest confirmed identity document: the one a customer gives after a rejection
        // is checked on its own.
        let documents = crate::documents::list(&self.caps, user_id)
            .await?
            .into_iter()
            .filter(|d| d.is_confirmed() && d.number.is_some())
            .filter(|d| matches!(d.kind.as_str(), "passport" | "id_card"))
            .max_by_key(|d| (d.confirmed_at, d.created_at))
            .into_iter()
            .filter_map(|d| {
                let kind = match d.kind.as_str() {
                    "passport" => provider::DocumentType::Passport,
                    "id_card" => provider::DocumentType::IdCard,
                    _ => return None,
                };
                Some(provider::Document {
                    kind,
                    number: d.number?,
                    issuing_country: d.issuing_country.unwrap_or_default(),
                    image_refs: vec![d.object_key],
                })
            })
            .collect();
        Ok(CheckRequest {
            check_id: check_id.to_owned(),
            user_id: user_id.to_owned(),
            person: provider::Person {
                legal_name: profile.legal_name,
                date_of_birth: profile.date_of_birth,
                nationality: profile.nationality.unwrap_or_default(),
                country_of_residence: user.country_of_residence,
            },
            documents,
        })
    }
}

fn state_of(
    user_id: &str,
    decision: &PolicyDecision,
    open_check_id: Option<String>,
    now: i64,
) -> VerificationState {
    VerificationState {
        user_id: user_id.to_owned(),
        tier: decision.tier,
        status: decision.status.as_str().to_owned(),
        limits: decision.limits.clone(),
        requirements: decision.requirements.clone(),
        reasons: decision.reasons.clone(),
        manual_review: decision.manual_review,
        open_check_id,
        open_check_submitted_at: None,
        component_digest: decision.component_digest.clone(),
        version: 0,
        decided_at: now,
    }
}

/// `YYYY-MM-DD` as a WIT date.
fn parse_date(text: &str) -> Option<Date> {
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(Date {
        year: date.year(),
        month: date.month().into(),
        day: date.day(),
    })
}

fn document_facts(row: &DocumentRow) -> Option<DocumentFacts> {
    Some(DocumentFacts {
        kind: match row.kind.as_str() {
            "passport" => DocumentKind::Passport,
            "id_card" => DocumentKind::IdCard,
            "proof_of_address" => DocumentKind::ProofOfAddress,
            "selfie" => DocumentKind::Selfie,
            _ => return None,
        },
        status: match row.status.as_str() {
            "pending" => DocumentStatus::Pending,
            "confirmed" => DocumentStatus::Confirmed,
            "rejected" => DocumentStatus::Rejected,
            _ => return None,
        },
        issuing_country: row.issuing_country.clone(),
        confirmed_at: row.confirmed_at,
    })
}

/// A keyed digest of what identifies the customer (legal name, date of birth, nationality,
/// national id): a check notes it, and its result counts only while it still matches.
pub fn identity_digest(secrets: &crate::secrets::SecretBox, profile: &profiles::Profile) -> String {
    let identity = json!([
        profile.legal_name.trim(),
        profile.date_of_birth,
        profile.nationality,
        profile.national_id,
    ]);
    secrets.keyed_digest(format!("kyc-identity:{identity}").as_bytes())
}

fn result_facts(result: &StoredResult, identity_current: bool) -> Option<KycResult> {
    Some(KycResult {
        check_id: result.check_id.clone(),
        outcome: match result.outcome.as_str() {
            "approved" => KycOutcome::Approved,
            "rejected" => KycOutcome::Rejected,
            "manual_review" => KycOutcome::ManualReview,
            _ => return None,
        },
        reasons: result.reasons.clone(),
        completed_at: result.completed_at,
        identity_current,
    })
}

#[async_trait::async_trait]
impl kyc::ResultRecorded for Verifier {
    async fn result_recorded(&self, user_id: &str) {
        Verifier::result_recorded(self, user_id).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(check_id: &str, outcome: &str) -> StoredResult {
        StoredResult {
            message_id: uuid::Uuid::now_v7().to_string(),
            check_id: check_id.to_owned(),
            user_id: "u".to_owned(),
            outcome: outcome.to_owned(),
            reasons: Vec::new(),
            provider_reference: "p".to_owned(),
            completed_at: 1,
            received_at: 1,
        }
    }

    fn state(open: Option<&str>) -> VerificationState {
        VerificationState {
            user_id: "u".to_owned(),
            tier: 1,
            status: "pending".to_owned(),
            limits: store::verification::Limits {
                currency: "GBP".to_owned(),
                daily_transfer_limit: 0,
                balance_cap: 0,
            },
            requirements: Vec::new(),
            reasons: Vec::new(),
            manual_review: false,
            open_check_id: open.map(str::to_owned),
            open_check_submitted_at: None,
            component_digest: String::new(),
            version: 1,
            decided_at: 1,
        }
    }

    #[test]
    fn a_check_stays_open_until_a_final_result_for_it_arrives() {
        assert_eq!(open_check_of(None, &[]), None);
        assert_eq!(open_check_of(Some(&state(None)), &[]), None);
        let open = state(Some("c1"));
        assert_eq!(open_check_of(Some(&open), &[]).as_deref(), Some("c1"));
        let review = [result("c1", "manual_review"), result("c2", "approved")];
        assert_eq!(open_check_of(Some(&open), &review).as_deref(), Some("c1"));
        for outcome in ["approved", "rejected"] {
            assert_eq!(open_check_of(Some(&open), &[result("c1", outcome)]), None);
        }
    }

    #[test]
    fn birth_dates_become_wit_dates() {
        let date = parse_date("1990-12-10").unwrap();
        assert_eq!((date.year, date.month, date.day), (1990, 12, 10));
        assert!(parse_date("10/12/1990").is_none());
        assert!(parse_date("").is_none());
    }
}
