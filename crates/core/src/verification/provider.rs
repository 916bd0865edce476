//! Who verifies identities: the [`KycProvider`] port (the bank's KYC service over gRPC in
//! `usvc-adapters`) and the embedded [`SandboxKyc`], whose outcome the document number decides.
//! Checks carry personal data: nothing here logs or prints a request.

use std::{collections::HashMap, sync::Mutex};

/// A check of one person against their identity documents. `check_id` is chosen by usvc and
/// makes the submission idempotent.
#[derive(Clone)]
pub struct CheckRequest {
    pub check_id: String,
    pub user_id: String,
    pub person: Person,
    pub documents: Vec<Document>,
}

#[derive(Clone)]
pub struct Person {
    pub legal_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    pub country_of_residence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Passport,
    IdCard,
    DrivingLicence,
    ResidencePermit,
}

/// An identity document's printed details and where its images are stored (never the images).
#[derive(Clone)]
pub struct Document {
    pub kind: DocumentType,
    pub number: String,
    pub issuing_country: String,
    pub image_refs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    Pending,
    Approved,
    Rejected,
    /// The provider could not decide; a compliance officer must.
    ManualReview,
}

/// Where a check stands. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub check_id: String,
    pub provider_check_id: String,
    pub status: CheckStatus,
    /// Machine-readable reasons, e.g. `document.rejected`.
    pub reasons: Vec<String>,
}

/// Who verifies identities: the bank's KYC service, or the sandbox when none is configured.
#[async_trait::async_trait]
pub trait KycProvider: Send + Sync + 'static {
    /// Starts the check (or returns it, when `check_id` was submitted before).
    async fn submit(&self, request: &CheckRequest) -> anyhow::Result<Check>;
    /// The check with usvc's `check_id`, if the provider knows it.
    async fn check(&self, check_id: &str) -> anyhow::Result<Option<Check>>;
}

/// A document number ending in this is rejected by the sandbox.
pub const SANDBOX_REJECTED_SUFFIX: &str = "0001";
/// A document number ending in this is sent to manual review by the sandbox.
pub const SANDBOX_REVIEW_SUFFIX: &str = "0002";

/// The embedded KYC provider for development and tests, like a payment sandbox: every check is
/// decided at once by its document numbers. One ending in [`SANDBOX_REJECTED_SUFFIX`] is
/// rejected (`document.rejected`), else one ending in [`SANDBOX_REVIEW_SUFFIX`] goes to manual
/// review (`document.unreadable`); a check without documents is rejected
/// (`document.missing`); anything else is approved. Checks are kept in memory.
#[derive(Default)]
pub struct SandboxKyc {
    checks: Mutex<HashMap<String, Check>>,
}

impl SandboxKyc {
    fn decide(request: &CheckRequest) -> (CheckStatus, Vec<String>) {
        let numbers: Vec<String> = request
            .documents
            .iter()
            .map(|d| d.number.trim().to_ascii_uppercase())
            .collect();
        if numbers.is_empty() {
            (CheckStatus::Rejected, vec!["document.missing".to_owned()])
        } else if numbers.iter().any(|n| n.ends_with(SANDBOX_REJECTED_SUFFIX)) {
            (CheckStatus::Rejected, vec!["document.rejected".to_owned()])
        } else if numbers.iter().any(|n| n.ends_with(SANDBOX_REVIEW_SUFFIX)) {
            (
                CheckStatus::ManualReview,
                vec!["document.unreadable".to_owned()],
            )
        } else {
            (CheckStatus::Approved, Vec::new())
        }
    }
}

#[async_trait::async_trait]
impl KycProvider for SandboxKyc {
    async fn submit(&self, request: &CheckRequest) -> anyhow::Result<Check> {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        let check = checks.entry(request.check_id.clone()).or_insert_with(|| {
            let (status, reasons) = Self::decide(request);
            Check {
                check_id: request.check_id.clone(),
                provider_check_id: format!("sandbox-{}", request.check_id),
                status,
                reasons,
            }
        });
        Ok(check.clone())
    }

    async fn check(&self, check_id: &str) -> anyhow::Result<Option<Check>> {
        let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        Ok(checks.get(check_id).cloned())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn request(check_id: &str, numbers: &[&str]) -> CheckRequest {
        CheckRequest {
            check_id: check_id.to_owned(),
            user_id: "user-1".to_owned(),
            person: Person {
                legal_name: "Ada Lovelace".to_owned(),
                date_of_birth: "1990-12-10".to_owned(),
                nationality: "GB".to_owned(),
                country_of_residence: "GB".to_owned(),
            },
            documents: numbers
                .iter()
                .map(|n| Document {
                    kind: DocumentType::Passport,
                    number: (*n).to_owned(),
                    issuing_country: "GB".to_owned(),
                    image_refs: vec!["kyc/user-1/passport-front.jpg".to_owned()],
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn the_document_number_decides_the_sandbox_outcome() {
        let kyc = SandboxKyc::default();
        let cases: [(&str, &[&str], CheckStatus, &[&str]); 6] = [
            ("c1", &["123456789"], CheckStatus::Approved, &[]),
            (
                "c2",
                &["12345-0001"],
                CheckStatus::Rejected,
                &["document.rejected"],
            ),
            (
                "c3",
                &["X0002"],
                CheckStatus::ManualReview,
                &["document.unreadable"],
            ),
            // A rejection outweighs a review.
            (
                "c4",
                &["X0002", "Y0001"],
                CheckStatus::Rejected,
                &["document.rejected"],
            ),
            ("c5", &[], CheckStatus::Rejected, &["document.missing"]),
            (
                "c6",
                &[" 0001 "],
                CheckStatus::Rejected,
                &["document.rejected"],
            ),
        ];
        for (id, numbers, status, reasons) in cases {
            let check = kyc.submit(&request(id, numbers)).await.unwrap();
            assert_eq!(check.check_id, id);
            assert_eq!(check.provider_check_id, format!("sandbox-{id}"));
            assert_eq!(check.status, status, "{numbers:?}");
            assert_eq!(check.reasons, reasons, "{numbers:?}");
        }
    }

    #[tokio::test]
    async fn sandbox_checks_are_idempotent_and_can_be_read_back() {
        let kyc = SandboxKyc::default();
        assert_eq!(kyc.check("c1").await.unwrap(), None);
        let first = kyc.submit(&request("c1", &["X0002"])).await.unwrap();
        // The same id again keeps the first decision, whatever the documents now say.
        let again = kyc.submit(&request("c1", &["123"])).await.unwrap();
        assert_eq!(again, first);
        assert_eq!(kyc.check("c1").await.unwrap(), Some(first));
    }
}
