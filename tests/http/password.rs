//! Changing a password: the current one is required, the new one meets the onboarding policy,
//! and every other session ends.

use serde_json::json;
use usvc_tests::{Backend, TestApp, backends, spawn};

backends!(
    a_changed_password_replaces_the_old_and_ends_other_sessions,
    a_wrong_current_password_changes_nothing,
    a_weak_new_password_is_refused_by_the_policy,
    changing_a_password_needs_a_session,
);

const OLD: &str = "first password here";
const NEW: &str = "a much better passphrase";

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> usvc_tests::Reply {
    let body = json!({"current_password": current, "new_password": new});
    let response = app
        .http
        .post(app.url("/v1/users/me/password"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    usvc_tests::Reply::read(response).await
}

async fn login(app: &TestApp, password: &str) -> u16 {
    let body = json!({"email": "ada@example.com", "password": password});
    app.post("/v1/auth/login", body).await.status
}

async fn a_changed_password_replaces_the_old_and_ends_other_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let other = app.onboarded_customer("ada@example.com", OLD).await;
    let current = app.onboarded_login("ada@example.com", OLD).await;

    let reply = change(&app, &current, OLD, NEW).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(login(&app, OLD).await, 401);
    assert_eq!(login(&app, NEW).await, 200);
    app.get("/v1/users/me", Some(&other))
        .await
        .assert_problem(401, "/problems/unauthorized");
    assert_eq!(app.get("/v1/users/me", Some(&current)).await.status, 200);
    let changed = app
        .events()
        .await
        .into_iter()
        .find(|e| e.event_type == "auth.password_changed");
    assert_eq!(changed.expect("published").data["other_sessions_ended"], 1);
}

async fn a_wrong_current_password_changes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer("ada@example.com", OLD).await;
    change(&app, &token, "not my password", NEW)
        .await
        .assert_problem(403, "/problems/wrong-password");
    assert_eq!(login(&app, OLD).await, 200);
    let failed = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.password_change_failed");
    assert_eq!(failed.count(), 1);
}

async fn a_weak_new_password_is_refused_by_the_policy(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer("ada@example.com", OLD).await;
    let reply = change(&app, &token, OLD, "short").await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(reply.violation_codes(), ["password.too_short"]);
    assert_eq!(reply.body["violations"][0]["field"], "new_password");
    assert_eq!(login(&app, OLD).await, 200);
}

async fn changing_a_password_needs_a_session(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/v1/users/me/password",
            json!({"current_password": OLD, "new_password": NEW}),
        )
        .await;
    reply.assert_problem(401, "/problems/unauthorized");
}
