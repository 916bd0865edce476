//! The audit trail reaches the bank's audit service: `audit_events` is its outbox, forwarded
//! oldest first, kept until the service has each row, deduplicated by event id.

use std::time::Duration;

use usvc::store::audit::{self, AuditEvent};
use usvc_tests::{
    Backend, Spawn, TestApp, backends,
    bank::{BankServer, eventually},
    spawn_with,
};

use crate::quick_policy;

backends!(
    audit_rows_reach_the_audit_server,
    rows_written_while_the_audit_server_is_down_arrive_when_it_is_back,
);

const PASSWORD: &str = "analytical engine 1843";

async fn app_with(backend: Backend, server: &BankServer) -> TestApp {
    spawn_with(Spawn {
        audit_url: Some(server.url()),
        client_policy: quick_policy(),
        ..Spawn::new(backend)
    })
    .await
}

/// Rows the forwarder has not yet delivered.
async fn unforwarded(app: &TestApp) -> Vec<AuditEvent> {
    let mut conn = app.db.acquire().await.unwrap();
    audit::unforwarded(&mut conn, 1000).await.unwrap()
}

/// Logs in with a wrong password `n` times (each is audited as `auth.login_failed`).
async fn fail_logins(app: &TestApp, email: &str, n: usize) {
    for _ in 0..n {
        app.wrong_password(email, "not the password").await;
    }
}

async fn audit_rows_reach_the_audit_server(backend: Backend) {
    let server = BankServer::start().await;
    let app = app_with(backend, &server).await;
    app.onboarded_customer("ada@example.com", PASSWORD).await;
    let user_id = app.user_id("ada@example.com").await;
    fail_logins(&app, "ada@example.com", 1).await;
    let local = app.audit(&user_id).await;
    assert!(local.len() >= 2, "{local:?}");

    eventually(
        "the trail to reach the audit server",
        Duration::from_secs(10),
        || async { server.audit_events().len() >= local.len() },
    )
    .await;
    let remote = server.audit_events();
    assert_eq!(remote.len(), local.len(), "{remote:?}");
    for (sent, row) in remote.iter().zip(&local) {
        assert_eq!(sent.event_id, row.id);
        assert_eq!(sent.event_type, row.event_type);
        assert_eq!(sent.user_id, row.user_id);
        assert_eq!(sent.occurred_at.unwrap().seconds, row.occurred_at);
        let data: serde_json::Value = serde_json::from_str(&sent.data_json).unwrap();
        assert_eq!(data, row.data);
        assert_eq!(sent.source, "usvc");
    }
    assert!(
        remote.iter().any(|e| e.event_type == "auth.login_failed"),
        "{remote:?}"
    );
    eventually(
        "every row to be marked forwarded",
        Duration::from_secs(5),
        || async { unforwarded(&app).await.is_empty() },
    )
    .await;
}

async fn rows_written_while_the_audit_server_is_down_arrive_when_it_is_back(backend: Backend) {
    let mut server = BankServer::stopped().await;
    let app = app_with(backend, &server).await;
    app.onboarded_customer("grace@example.com", PASSWORD).await;
    fail_logins(&app, "grace@example.com", 2).await;
    let user_id = app.user_id("grace@example.com").await;
    let local = app.audit(&user_id).await;
    assert!(local.len() >= 3, "{local:?}");

    // Rounds fail while the service is away (the breaker opens); nothing is marked.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(unforwarded(&app).await.len(), local.len());

    // Back, but the answer to its first call is lost: that row is sent again.
    server.restart().await;
    server.lose_next_answers(1);
    eventually(
        "the backlog to be forwarded",
        Duration::from_secs(15),
        || async { unforwarded(&app).await.is_empty() },
    )
    .await;
    let remote = server.audit_events();
    let sent: Vec<&str> = remote.iter().map(|e| e.event_id.as_str()).collect();
    let mut oldest_first: Vec<&str> = local.iter().map(|e| e.id.as_str()).collect();
    oldest_first.sort();
    assert_eq!(sent, oldest_first, "every row once, oldest first");
    let calls = server.received_of("Record");
    assert!(
        calls.len() > remote.len(),
        "the row whose answer was lost was sent again: {calls:?}"
    );
}
