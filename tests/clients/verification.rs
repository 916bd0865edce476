//! The verification flow against the bank's KYC service (the test server): the check the
//! policy asks for is built from the profile and the newest confirmed identity document, its
//! submission is retried by the customer's next request with the same check id when the service
//! was away, and never submitted twice.

use tonic::Code;
use usvc_proto::bank::kyc::v1::DocumentType;
use usvc_tests::{
    Backend, Spawn, backends, bank::BankServer, spawn_with, verification::VERIFICATION,
};

use crate::quick_policy;

backends!(the_check_goes_to_the_kyc_service_once_even_after_it_was_away);

const PASSWORD: &str = "analytical engine 1843";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn the_check_goes_to_the_kyc_service_once_even_after_it_was_away(backend: Backend) {
    let server = BankServer::start().await;
    let app = spawn_with(Spawn {
        kyc_url: Some(server.url()),
        client_policy: quick_policy(),
        ..Spawn::new(backend)
    })
    .await;
    let (access, user) = app.verifiable_customer("ada@example.com", PASSWORD).await;
    app.confirmed_document(&user, "passport", "111111111").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.confirmed_document(&user, "passport", "925076473").await;

    // The service is away for every attempt of the first request.
    server.fail_next(3, Code::Unavailable);
    let post = || app.request_json(reqwest::Method::POST, VERIFICATION, Some(&access), None);
    let first = post().await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert_eq!(first.body["status"], "pending");
    let attempts = server.received_of("SubmitCheck");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    let check_id = attempts[0].key.clone();
    assert!(uuid::Uuid::parse_str(&check_id).is_ok(), "{check_id}");
    assert!(server.check_request(&check_id).is_none());

    // Once the client's breaker lets calls through again, the next request submits the same
    // check. The gateway sends its trace this time, and the call continues it.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let second = app
        .http
        .post(app.url(VERIFICATION))
        .bearer_auth(&access)
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 202);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["status"], "pending");
    let submitted = server.check_request(&check_id).expect("the check arrived");
    assert_eq!(submitted.user_id, user);
    let person = submitted.person.expect("a person");
    assert_eq!(person.legal_name, "Ada Lovelace");
    assert_eq!(person.date_of_birth, "1990-12-10");
    assert_eq!(person.nationality, "GB");
    assert_eq!(person.country_of_residence, "GB");
    assert_eq!(submitted.documents.len(), 1, "the newest identity document");
    let document = &submitted.documents[0];
    assert_eq!(document.r#type(), DocumentType::Passport);
    assert_eq!(document.number, "925076473");
    assert_eq!(document.issuing_country, "GB");

    // Submitted once: asking again waits for the result.
    let third = post().await;
    assert_eq!(third.body["status"], "pending");
    let calls = server.received_of("SubmitCheck");
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls.iter().all(|c| c.key == check_id));
    let trace_of = |i: usize| {
        let traceparent = calls[i].traceparent.clone().expect("a traceparent");
        traceparent.split('-').nth(1).unwrap().to_owned()
    };
    assert_eq!(trace_of(3), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(
        !calls[3]
            .traceparent
            .as_ref()
            .unwrap()
            .contains("00f067aa0ba902b7")
    );
    // One request's retries share its trace; the second request continued the gateway's.
    assert_eq!(trace_of(0), trace_of(1));
    assert_eq!(trace_of(0), trace_of(2));
    assert_ne!(trace_of(0), trace_of(3));
    // A real service reports results over RabbitMQ; nothing was recorded from the answer.
    let recorded = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.kyc_result_recorded")
        .count();
    assert_eq!(recorded, 0);
}
