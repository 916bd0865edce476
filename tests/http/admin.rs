//! `/v1/admin`: locking and unlocking accounts needs the admin role; every refusal changes nothing.

use reqwest::Method;
use serde_json::json;
use usvc_tests::{Backend, backends, spawn};

async fn only_an_admin_locks_and_unlocks(backend: Backend) {
    let app = spawn(backend).await;
    let victim = app
        .onboarded_customer("target@example.com", "a long passphrase")
        .await;
    let victim_id = app.user_id("target@example.com").await;
    let staff = app
        .onboarded_customer("staff@example.com", "a long passphrase")
        .await;
    let path = format!("/v1/admin/users/{victim_id}/status");
    let lock = json!({ "status": "locked", "reason": "chargeback fraud" });

    // No token, then a customer's token: refused, nothing changes.
    let reply = app
        .request_json(Method::PUT, &path, None, Some(lock.clone()))
        .await;
    reply.assert_problem(401, "/problems/unauthorized");
    let reply = app
        .request_json(Method::PUT, &path, Some(&staff), Some(lock.clone()))
        .await;
    reply.assert_problem(403, "/problems/forbidden");
    assert_eq!(app.get("/v1/users/me", Some(&victim)).await.status, 200);

    // Granted the role (with the second factor staff must have), a new login carries it.
    let admin = app
        .make_admin("staff@example.com", "a long passphrase", &staff)
        .await;

    // Bad input: every broken field named; unknown customers are 404.
    let reply = app
        .request_json(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "status": "closed", "reason": "" })),
        )
        .await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(
        reply.violation_codes(),
        ["reason_required", "status_not_settable"]
    );
    let reply = app
        .request_json(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "status": "frozen", "reason": "x" })),
        )
        .await;
    reply.assert_problem(422, "/problems/invalid-body");
    let reply = app
        .request_json(
            Method::PUT,
            "/v1/admin/users/no-such-user/status",
            Some(&admin),
            Some(lock.clone()),
        )
        .await;
    reply.assert_problem(404, "/problems/not-found");

    // Lock: the customer's sessions end at once, and login is refused.
    let reply = app
        .request_json(Method::PUT, &path, Some(&admin), Some(lock.clone()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "locked");
    assert_eq!(app.get("/v1/users/me", Some(&victim)).await.status, 401);
    let login = app
        .post(
            "/v1/auth/login",
            json!({ "email": "target@example.com", "password": "a long passphrase" }),
        )
        .await;
    assert_eq!(login.status, 403, "{:?}", login.body);
    assert_eq!(app.audit_count(&victim_id, "user.status_changed").await, 1);
    assert_eq!(app.audit_count(&victim_id, "auth.session_revoked").await, 1);

    // Locking again changes and records nothing more.
    let reply = app
        .request_json(Method::PUT, &path, Some(&admin), Some(lock))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(app.audit_count(&victim_id, "user.status_changed").await, 1);

    // Unlock: login works again.
    let unlock = json!({ "status": "active", "reason": "customer verified by phone" });
    let reply = app
        .request_json(Method::PUT, &path, Some(&admin), Some(unlock))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "active");
    app.onboarded_login("target@example.com", "a long passphrase")
        .await;
    let events: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.status_changed")
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data["to"], "active");
    assert!(
        !events
            .iter()
            .any(|e| e.data.to_string().contains("target@"))
    );
}

backends!(only_an_admin_locks_and_unlocks);
