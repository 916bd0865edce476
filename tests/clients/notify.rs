//! Messages to customers through the bank's notification service, with the dev mailbox beside it.

use std::time::{Duration, Instant};

use tonic::Code;
use usvc_proto::bank::notification::v1::Channel;
use usvc_tests::{Backend, Spawn, TestApp, application, backends, bank::BankServer, spawn_with};

use crate::quick_policy;

backends!(
    registration_sends_its_notices_through_the_notification_server,
    transient_failures_are_retried_and_the_message_goes_out_once,
    a_slow_notification_server_delays_registration_by_the_deadline_at_most,
    an_unreachable_notification_server_neither_stops_start_up_nor_registration,
    a_phone_number_code_goes_as_an_sms,
);

const PASSWORD: &str = "analytical engine 1843";

async fn app_with(backend: Backend, server: &BankServer) -> TestApp {
    spawn_with(Spawn {
        notification_url: Some(server.url()),
        client_policy: quick_policy(),
        ..Spawn::new(backend)
    })
    .await
}

async fn register(app: &TestApp, email: &str) {
    let reply = app
        .post("/v1/auth/register", application(email, PASSWORD))
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn registration_sends_its_notices_through_the_notification_server(backend: Backend) {
    let server = BankServer::start().await;
    let app = app_with(backend, &server).await;
    register(&app, "ada@example.com").await;

    // Delivered before the answer: the service has it now.
    let sent = server.notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = &sent[0];
    assert_eq!(message.user_id, app.user_id("ada@example.com").await);
    assert_eq!(message.channel(), Channel::Email);
    assert_eq!(message.notice, "email_verification");
    assert_eq!(message.recipient, "ada@example.com");
    assert_eq!(message.subject, "Confirm your email address");
    assert!(uuid::Uuid::parse_str(&message.idempotency_key).is_ok());

    // The dev mailbox still receives the same message, code and all.
    let code = app.verification_code("ada@example.com").await;
    assert!(message.body.contains(&code), "the code is in the body");
    let reply = app
        .post(
            "/v1/auth/verify-email",
            serde_json::json!({"email": "ada@example.com", "code": code}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let notices: Vec<String> = server
        .notifications()
        .into_iter()
        .map(|m| m.notice)
        .collect();
    assert_eq!(notices, ["email_verification", "welcome"]);
    let keys: std::collections::BTreeSet<String> = server
        .notifications()
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2, "a fresh key per message");
}

async fn transient_failures_are_retried_and_the_message_goes_out_once(backend: Backend) {
    let server = BankServer::start().await;
    let app = app_with(backend, &server).await;
    // The first attempt is refused, the second is taken but its answer lost: the third succeeds.
    server.fail_next(1, Code::Unavailable);
    server.lose_next_answers(1);
    register(&app, "grace@example.com").await;

    let attempts = server.received_of("Send");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(
        attempts.iter().all(|a| a.key == attempts[0].key),
        "every attempt carries the same idempotency key: {attempts:?}"
    );
    assert_eq!(server.notifications().len(), 1, "delivered once");
    assert_eq!(app.mailbox("grace@example.com").await.len(), 1);
}

async fn a_slow_notification_server_delays_registration_by_the_deadline_at_most(backend: Backend) {
    let server = BankServer::start().await;
    let app = spawn_with(Spawn {
        notification_url: Some(server.url()),
        client_policy: usvc::config::ClientPolicy {
            deadline: Duration::from_millis(400),
            ..quick_policy()
        },
        ..Spawn::new(backend)
    })
    .await;
    server.set_delay(Duration::from_secs(5));

    let started = Instant::now();
    register(&app, "slow@example.com").await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(2500),
        "registration took {took:?}"
    );
    // One attempt, told its deadline; no time was left to retry.
    let attempts = server.received_of("Send");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(
        attempts[0].timeout.is_some(),
        "the deadline travels as grpc-timeout"
    );
    assert!(server.notifications().is_empty());
    // The customer can still confirm with the code the mailbox kept.
    let code = app.verification_code("slow@example.com").await;
    assert_eq!(code.len(), 6);
}

async fn an_unreachable_notification_server_neither_stops_start_up_nor_registration(
    backend: Backend,
) {
    let mut server = BankServer::stopped().await;
    let app = app_with(backend, &server).await;
    register(&app, "early@example.com").await;
    assert_eq!(app.mailbox("early@example.com").await.len(), 1);
    assert!(server.received().is_empty());

    // The three refused attempts opened the breaker. Once the service is up and the cool-down
    // has passed, the next message is the probe that reaches it over a new connection.
    server.restart().await;
    tokio::time::sleep(quick_policy().breaker_cooldown + Duration::from_millis(100)).await;
    register(&app, "later@example.com").await;
    let sent = server.notifications();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].recipient, "later@example.com");
}

async fn a_phone_number_code_goes_as_an_sms(backend: Backend) {
    let server = BankServer::start().await;
    let app = app_with(backend, &server).await;
    let access = app.onboarded_customer("sms@example.com", PASSWORD).await;
    let reply = app
        .request_json(
            reqwest::Method::PUT,
            "/v1/users/me/phone",
            Some(&access),
            Some(serde_json::json!({"phone": "+447700900777"})),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let sent = server.notifications();
    let message = sent.last().expect("a message");
    assert_eq!(message.notice, "phone_verification");
    assert_eq!(message.channel(), Channel::Sms);
    assert_eq!(message.recipient, "+447700900777");
    assert_eq!(message.user_id, app.user_id("sms@example.com").await);
}
