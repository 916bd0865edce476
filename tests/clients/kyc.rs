//! The KYC client against the KYC test server: a check submitted, resubmitted, decided and read.

use tonic::Code;
use usvc::{
    clients::kyc::GrpcKyc,
    verification::provider::{CheckRequest, CheckStatus, Document, DocumentType, Person},
};
use usvc_proto::bank::kyc::v1 as pb;
use usvc_tests::bank::BankServer;

use crate::quick_policy;

fn request(check_id: &str, documents: Vec<Document>) -> CheckRequest {
    CheckRequest {
        check_id: check_id.to_owned(),
        user_id: "0190c0de-0000-7000-8000-000000000001".to_owned(),
        person: Person {
            legal_name: "Ada Lovelace".to_owned(),
            date_of_birth: "1990-12-10".to_owned(),
            nationality: "GB".to_owned(),
            country_of_residence: "GB".to_owned(),
        },
        documents,
    }
}

fn passport() -> Document {
    Document {
        kind: DocumentType::Passport,
        number: "925076473".to_owned(),
        issuing_country: "GB".to_owned(),
        image_refs: vec!["kyc/ada/passport-front.jpg".to_owned()],
    }
}

#[tokio::test]
async fn a_check_round_trips_through_the_kyc_server() {
    let server = BankServer::start().await;
    let kyc = GrpcKyc::connect(&server.url(), quick_policy()).unwrap();

    let check = kyc
        .submit(&request("check-1", vec![passport()]))
        .await
        .unwrap();
    assert_eq!(check.check_id, "check-1");
    assert_eq!(check.provider_check_id, "provider-1");
    assert_eq!(check.status, CheckStatus::Pending);

    // The server received the person and the document references.
    let received = server.check_request("check-1").expect("the check");
    assert_eq!(received.user_id, "0190c0de-0000-7000-8000-000000000001");
    let person = received.person.expect("the person");
    assert_eq!(person.legal_name, "Ada Lovelace");
    assert_eq!(person.date_of_birth, "1990-12-10");
    assert_eq!(received.documents.len(), 1);
    assert_eq!(received.documents[0].r#type(), pb::DocumentType::Passport);
    assert_eq!(received.documents[0].number, "925076473");
    assert_eq!(
        received.documents[0].image_refs,
        ["kyc/ada/passport-front.jpg"]
    );

    // Submitting the same check id again is harmless: the same check comes back.
    let again = kyc
        .submit(&request("check-1", vec![passport()]))
        .await
        .unwrap();
    assert_eq!(again, check);

    // The provider decides; the decision is read back.
    server.decide("check-1", pb::CheckStatus::Rejected, &["document.expired"]);
    let decided = kyc.check("check-1").await.unwrap().expect("a known check");
    assert_eq!(decided.status, CheckStatus::Rejected);
    assert_eq!(decided.reasons, ["document.expired"]);
    assert_eq!(decided.provider_check_id, "provider-1");

    assert_eq!(kyc.check("no-such-check").await.unwrap(), None);
}

#[tokio::test]
async fn a_refused_check_is_not_retried() {
    let server = BankServer::start().await;
    let kyc = GrpcKyc::connect(&server.url(), quick_policy()).unwrap();
    let err = kyc
        .submit(&request("check-2", Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::InvalidArgument), "{err}");
    assert_eq!(server.received_of("SubmitCheck").len(), 1);
    assert!(
        !kyc.resilience().breaker().is_open(),
        "a refusal is a healthy answer"
    );
}
