//! The bank's KYC service over gRPC as a [`KycProvider`]. Checks carry personal data: nothing
//! here logs or prints a request.

use tonic::{Code, Request};
use usvc_core::verification::provider::{
    Check, CheckRequest, CheckStatus, DocumentType, KycProvider,
};
use usvc_proto::bank::kyc::v1 as pb;

use super::{ClientError, ClientPolicy, resilience::Resilience};

/// The bank's KYC service over gRPC.
pub struct GrpcKyc {
    grpc: pb::kyc_service_client::KycServiceClient<super::Traced>,
    resilience: Resilience,
}

impl GrpcKyc {
    /// A client of the service at `url`; it connects on first use.
    pub fn connect(url: &str, policy: ClientPolicy) -> anyhow::Result<Self> {
        Ok(Self {
            grpc: pb::kyc_service_client::KycServiceClient::new(super::channel(url, &policy)?),
            resilience: Resilience::new("kyc", policy),
        })
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }
}

fn to_proto(request: &CheckRequest) -> pb::SubmitCheckRequest {
    let kind = |kind| match kind {
        DocumentType::Passport => pb::DocumentType::Passport,
        DocumentType::IdCard => pb::DocumentType::IdCard,
        DocumentType::DrivingLicence => pb::DocumentType::DrivingLicence,
        DocumentType::ResidencePermit => pb::DocumentType::ResidencePermit,
    };
    pb::SubmitCheckRequest {
        check_id: request.check_id.clone(),
        user_id: request.user_id.clone(),
        person: Some(pb::Person {
            legal_name: request.person.legal_name.clone(),
            date_of_birth: request.person.date_of_birth.clone(),
            nationality: request.person.nationality.clone(),
            country_of_residence: request.person.country_of_residence.clone(),
        }),
        documents: request
            .documents
            .iter()
            .map(|d| pb::Document {
                r#type: kind(d.kind).into(),
                number: d.number.clone(),
                issuing_country: d.issuing_country.clone(),
                image_refs: d.image_refs.clone(),
            })
            .collect(),
    }
}

fn from_proto(rpc: &'static str, check: pb::Check) -> Result<Check, ClientError> {
    let status = match pb::CheckStatus::try_from(check.status) {
        Ok(pb::CheckStatus::Pending) => CheckStatus::Pending,
        Ok(pb::CheckStatus::Approved) => CheckStatus::Approved,
        Ok(pb::CheckStatus::Rejected) => CheckStatus::Rejected,
        Ok(pb::CheckStatus::ManualReview) => CheckStatus::ManualReview,
        Ok(pb::CheckStatus::Unspecified) | Err(_) => {
            return Err(ClientError::Failed {
                client: "kyc",
                rpc,
                code: Code::Internal,
                message: format!(
                    "the service answered an unknown check status {}",
                    check.status
                ),
            });
        }
    };
    Ok(Check {
        check_id: check.check_id,
        provider_check_id: check.provider_check_id,
        status,
        reasons: check.reasons,
    })
}

impl GrpcKyc {
    /// Starts the check (or returns it, when `check_id` was submitted before).
    pub async fn submit(&self, request: &CheckRequest) -> Result<Check, ClientError> {
        let message = to_proto(request);
        let check = self
            .resilience
            .call("SubmitCheck", |left| {
                let mut grpc = self.grpc.clone();
                let mut request = Request::new(message.clone());
                request.set_timeout(left);
                async move { grpc.submit_check(request).await }
            })
            .await?;
        from_proto("SubmitCheck", check.into_inner())
    }

    /// The check with usvc's `check_id`, if the service knows it.
    pub async fn check(&self, check_id: &str) -> Result<Option<Check>, ClientError> {
        let message = pb::GetCheckRequest {
            check_id: check_id.to_owned(),
        };
        let answer = self
            .resilience
            .call("GetCheck", |left| {
                let mut grpc = self.grpc.clone();
                let mut request = Request::new(message.clone());
                request.set_timeout(left);
                async move { grpc.get_check(request).await }
            })
            .await;
        match answer {
            Ok(check) => from_proto("GetCheck", check.into_inner()).map(Some),
            Err(e) if e.code() == Some(Code::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl KycProvider for GrpcKyc {
    async fn submit(&self, request: &CheckRequest) -> anyhow::Result<Check> {
        Ok(GrpcKyc::submit(self, request).await?)
    }

    async fn check(&self, check_id: &str) -> anyhow::Result<Option<Check>> {
        Ok(GrpcKyc::check(self, check_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use usvc_core::verification::provider::{Document, Person};

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

    #[test]
    fn checks_map_to_the_wire_and_back() {
        let message = to_proto(&request("c1", &["123"]));
        assert_eq!(message.check_id, "c1");
        assert_eq!(message.person.unwrap().date_of_birth, "1990-12-10");
        assert_eq!(message.documents[0].r#type(), pb::DocumentType::Passport);
        let answer = pb::Check {
            check_id: "c1".to_owned(),
            provider_check_id: "p1".to_owned(),
            status: pb::CheckStatus::ManualReview.into(),
            reasons: vec!["face.mismatch".to_owned()],
        };
        let check = from_proto("GetCheck", answer.clone()).unwrap();
        assert_eq!(check.status, CheckStatus::ManualReview);
        let unknown = pb::Check {
            status: 0,
            ..answer
        };
        let err = from_proto("GetCheck", unknown).unwrap_err();
        assert_eq!(err.code(), Some(Code::Internal));
    }
}
