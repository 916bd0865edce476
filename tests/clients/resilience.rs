//! Deadlines, retries and the circuit breaker, through the real clients over loopback gRPC.

use std::time::{Duration, Instant};

use tonic::Code;
use usvc::{
    clients::{ClientError, audit::AuditClient, notification::NotificationClient},
    config::ClientPolicy,
    notify::{Notice, Notification},
    store::audit::AuditEvent,
};
use usvc_tests::bank::BankServer;

use crate::quick_policy;

fn notice() -> Notification {
    Notification::render(
        "0190c0de-0000-7000-8000-000000000001",
        "ada@example.com",
        Notice::Welcome,
        None,
    )
}

fn audit_event(id: &str) -> AuditEvent {
    AuditEvent {
        id: id.to_owned(),
        event_type: "auth.login_succeeded".to_owned(),
        user_id: "0190c0de-0000-7000-8000-000000000001".to_owned(),
        data: serde_json::json!({"session_id": "s-1"}),
        occurred_at: 1_790_000_000,
    }
}

#[tokio::test]
async fn a_slow_server_hits_the_deadline() {
    let server = BankServer::start().await;
    server.set_delay(Duration::from_secs(5));
    let policy = ClientPolicy {
        deadline: Duration::from_millis(300),
        ..quick_policy()
    };
    let client = NotificationClient::connect(&server.url(), policy).unwrap();
    let started = Instant::now();
    let err = client.send("key-1", &notice()).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), Some(Code::DeadlineExceeded), "{err}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    let attempts = server.received_of("Send");
    assert_eq!(attempts.len(), 1, "no time was left for a retry");
    let timeout = attempts[0].timeout.as_deref().expect("a grpc-timeout");
    assert!(
        timeout.ends_with('m') || timeout.ends_with('u'),
        "{timeout}"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_succeed() {
    let server = BankServer::start().await;
    // A breaker that stays closed throughout: this test is about retries alone.
    let policy = ClientPolicy {
        breaker_threshold: 100,
        ..quick_policy()
    };
    let client = AuditClient::connect(&server.url(), policy).unwrap();
    server.fail_next(2, Code::Unavailable);
    let duplicate = client.record(&audit_event("e-1")).await.unwrap();
    assert!(!duplicate);
    let attempts = server.received_of("Record");
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(attempts.iter().all(|a| a.key == "e-1"));
    assert_eq!(server.audit_events().len(), 1);

    // RESOURCE_EXHAUSTED is transient too; the service recognises the event id.
    server.fail_next(1, Code::ResourceExhausted);
    assert!(
        client.record(&audit_event("e-1")).await.unwrap(),
        "a duplicate"
    );
    assert_eq!(server.received_of("Record").len(), 5);
    assert_eq!(server.audit_events().len(), 1);

    // Attempts are bounded.
    server.fail_next(10, Code::Unavailable);
    let err = client.record(&audit_event("e-2")).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
    assert_eq!(server.received_of("Record").len(), 8);

    // Other failures are answers, not retried.
    server.fail_next(1, Code::PermissionDenied);
    let err = client.record(&audit_event("e-3")).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::PermissionDenied), "{err}");
    assert_eq!(server.received_of("Record").len(), 9);
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_closes_after_the_cool_down() {
    let mut server = BankServer::start().await;
    let policy = quick_policy();
    let client = NotificationClient::connect(&server.url(), policy).unwrap();
    client
        .send("key-1", &notice())
        .await
        .expect("healthy at first");

    // The service goes away: one call's three refused attempts open the breaker.
    server.stop().await;
    let err = client.send("key-2", &notice()).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unavailable), "{err}");
    assert!(client.resilience().breaker().is_open());

    // Open: calls fail at once, without reaching for the service, even once it is back.
    server.restart().await;
    let started = Instant::now();
    let err = client.send("key-3", &notice()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::BreakerOpen {
                client: "notification"
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("circuit breaker is open"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(server.received_of("Send").iter().all(|r| r.key == "key-1"));

    // After the cool-down a probe goes through and closes it.
    tokio::time::sleep(policy.breaker_cooldown + Duration::from_millis(100)).await;
    client.send("key-4", &notice()).await.expect("the probe");
    assert!(!client.resilience().breaker().is_open());
    client.send("key-5", &notice()).await.expect("closed again");
    let keys: Vec<String> = server
        .notifications()
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(keys, ["key-1", "key-4", "key-5"]);
}
