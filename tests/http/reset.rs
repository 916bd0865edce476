//! Resetting a forgotten password: a one-time token by email that never tells a known address
//! from an unknown one, a new password the onboarding policy accepts, and every session ended.

use std::time::Duration;

use serde_json::{Value, json};
use usvc_tests::{Backend, Reply, Spawn, TestApp, backends, spawn, spawn_with};

backends!(
    a_reset_request_answers_alike_for_any_address,
    a_reset_token_sets_a_new_password_and_ends_every_session,
    a_refused_new_password_leaves_the_token_usable,
    unknown_and_expired_tokens_are_refused,
    a_newer_token_makes_the_older_one_unusable,
    a_reset_lifts_a_login_lockout,
);

const ADA: &str = "ada@example.com";
const OLD: &str = "first password here";
const NEW: &str = "a much better passphrase";

async fn request_reset(app: &TestApp, email: &str) -> Reply {
    app.post("/v1/auth/password-reset", json!({"email": email}))
        .await
}

async fn confirm(app: &TestApp, token: &str, new_password: &str) -> Reply {
    let body = json!({"token": token, "new_password": new_password});
    app.post("/v1/auth/password-reset/confirm", body).await
}

/// The messages of one kind in a customer's mailbox.
async fn mail(app: &TestApp, email: &str, notice: &str) -> Vec<Value> {
    app.mailbox(email)
        .await
        .into_iter()
        .filter(|m| m["notice"] == notice)
        .collect()
}

/// Waits for the `count`th reset token sent to `email` (it is sent after the answer) and
/// returns it.
async fn reset_token(app: &TestApp, email: &str, count: usize) -> String {
    for _ in 0..100 {
        let sent = mail(app, email, "password_reset").await;
        if sent.len() >= count {
            assert_eq!(sent.len(), count, "{sent:?}");
            let token = sent[count - 1]["code"].as_str().expect("a token");
            return token.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reset token {count} never reached {email}");
}

/// Asks for a reset of `email` and waits for its token.
async fn requested_token(app: &TestApp, email: &str, count: usize) -> String {
    let reply = request_reset(app, email).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reset_token(app, email, count).await
}

async fn login(app: &TestApp, password: &str) -> Reply {
    app.post(
        "/v1/auth/login",
        json!({"email": ADA, "password": password}),
    )
    .await
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body:?}"))
}

async fn reset_tokens_stored(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM password_reset_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn a_reset_request_answers_alike_for_any_address(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer(ADA, OLD).await;
    // A registration never confirmed: no account to reset yet.
    let pending = "pending@example.com";
    let reply = app
        .post("/v1/auth/register", usvc_tests::application(pending, OLD))
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let unknown = "nobody@example.com";

    let for_unknown = request_reset(&app, unknown).await;
    let for_pending = request_reset(&app, pending).await;
    let for_known = request_reset(&app, ADA).await;
    for reply in [&for_unknown, &for_pending, &for_known] {
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(reply.body, for_known.body);
    }
    assert_eq!(for_known.body["status"], "reset_requested");

    let token = reset_token(&app, ADA, 1).await;
    let sent = &mail(&app, ADA, "password_reset").await[0];
    let user_id = app.user_id(ADA).await;
    assert_eq!(sent["to"], ADA);
    assert_eq!(sent["user_id"], user_id.as_str());
    assert!(field(sent, "body").contains(&token));
    assert!(token.len() >= 20, "{token}");
    // Give the other two requests' background work time to finish: they send nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mail(&app, unknown, "password_reset").await.is_empty());
    assert!(mail(&app, pending, "password_reset").await.is_empty());
    assert_eq!(reset_tokens_stored(&app).await, 1);

    let requested: Vec<_> = app
        .audit(&user_id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.password_reset_requested")
        .collect();
    assert_eq!(requested.len(), 1);
    assert!(requested[0].data["expires_at"].as_i64().unwrap() > requested[0].occurred_at);
    assert!(!requested[0].data.to_string().contains(&token));
    // Asking changes nothing yet.
    assert_eq!(login(&app, OLD).await.status, 200);
}

async fn a_reset_token_sets_a_new_password_and_ends_every_session(backend: Backend) {
    let app = spawn(backend).await;
    let onboarding = app.onboarded_customer(ADA, OLD).await;
    let phone = login(&app, OLD).await.body;
    let laptop = login(&app, OLD).await.body;
    let token = requested_token(&app, ADA, 1).await;
    // Each session is in use, so the revocation check believes it live for a while.
    assert_eq!(app.get("/v1/users/me", Some(&onboarding)).await.status, 200);
    for live in [&phone, &laptop] {
        let me = app
            .get("/v1/users/me", Some(field(live, "access_token")))
            .await;
        assert_eq!(me.status, 200);
    }

    let reply = confirm(&app, &token, NEW).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    app.get("/v1/users/me", Some(&onboarding))
        .await
        .assert_problem(401, "/problems/unauthorized");
    for ended in [&phone, &laptop] {
        app.get("/v1/users/me", Some(field(ended, "access_token")))
            .await
            .assert_problem(401, "/problems/unauthorized");
        let refresh = json!({"refresh_token": field(ended, "refresh_token")});
        app.post("/v1/auth/refresh", refresh)
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    login(&app, OLD)
        .await
        .assert_problem(401, "/problems/unauthorized");
    let fresh = login(&app, NEW).await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.body);
    let me = app
        .get("/v1/users/me", Some(field(&fresh.body, "access_token")))
        .await;
    assert_eq!(me.status, 200, "{:?}", me.body);

    let told = mail(&app, ADA, "password_was_reset").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].get("code").is_none(), "{:?}", told[0]);

    let user_id = app.user_id(ADA).await;
    let trail = app.audit(&user_id).await;
    let kinds: Vec<&str> = trail.iter().map(|e| e.event_type.as_str()).collect();
    let requested = kinds
        .iter()
        .position(|k| *k == "auth.password_reset_requested");
    let reset = kinds.iter().position(|k| *k == "auth.password_reset");
    assert!(requested.is_some() && requested < reset, "{kinds:?}");
    let reset = &trail[reset.unwrap()];
    assert_eq!(reset.data["sessions_ended"], 3);
    assert_eq!(reset.data["user_id"], user_id.as_str());
    let mut revoked: Vec<&str> = trail
        .iter()
        .filter(|e| e.event_type == "auth.session_revoked")
        .inspect(|e| assert_eq!(e.data["reason"], "password_reset", "{:?}", e.data))
        .map(|e| e.data["session_id"].as_str().unwrap())
        .collect();
    revoked.sort();
    let mut expected = vec![
        app.get_session_id(&json!({"access_token": onboarding})),
        app.get_session_id(&phone),
        app.get_session_id(&laptop),
    ];
    expected.sort();
    assert_eq!(revoked, expected);
    for event in &trail {
        let text = event.data.to_string();
        assert!(!text.contains(&token) && !text.contains(NEW), "{text}");
    }

    // The token worked once.
    confirm(&app, &token, "yet another passphrase")
        .await
        .assert_problem(400, "/problems/invalid-reset-token");
    assert_eq!(login(&app, NEW).await.status, 200);
}

async fn a_refused_new_password_leaves_the_token_usable(backend: Backend) {
    let app = spawn(backend).await;
    let session = app.onboarded_customer(ADA, OLD).await;
    let token = requested_token(&app, ADA, 1).await;

    let reply = confirm(&app, &token, "short").await;
    reply.assert_problem(422, "/problems/validation");
    assert!(!reply.violation_codes().is_empty(), "{:?}", reply.body);
    let violations = reply.body["violations"].as_array().unwrap();
    assert!(
        violations.iter().all(|v| v["field"] == "new_password"),
        "{violations:?}"
    );
    // Nothing changed: the old password and the session still work.
    assert_eq!(login(&app, OLD).await.status, 200);
    assert_eq!(app.get("/v1/users/me", Some(&session)).await.status, 200);
    assert!(mail(&app, ADA, "password_was_reset").await.is_empty());

    let reply = confirm(&app, &token, NEW).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    assert_eq!(login(&app, NEW).await.status, 200);
}

async fn unknown_and_expired_tokens_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let session = app.onboarded_customer(ADA, OLD).await;
    confirm(&app, "made-up-token", NEW)
        .await
        .assert_problem(400, "/problems/invalid-reset-token");
    confirm(&app, "", NEW)
        .await
        .assert_problem(400, "/problems/invalid-reset-token");

    let token = requested_token(&app, ADA, 1).await;
    sqlx::query("UPDATE password_reset_tokens SET expires_at = $1")
        .bind(0_i64)
        .execute(&app.db)
        .await
        .unwrap();
    confirm(&app, &token, NEW)
        .await
        .assert_problem(400, "/problems/invalid-reset-token");

    assert_eq!(login(&app, OLD).await.status, 200);
    assert_eq!(app.get("/v1/users/me", Some(&session)).await.status, 200);
    let user_id = app.user_id(ADA).await;
    assert_eq!(app.audit_count(&user_id, "auth.password_reset").await, 0);
}

async fn a_newer_token_makes_the_older_one_unusable(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer(ADA, OLD).await;
    let older = requested_token(&app, ADA, 1).await;
    let newer = requested_token(&app, ADA, 2).await;
    assert_ne!(older, newer);

    let reply = confirm(&app, &newer, NEW).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    confirm(&app, &older, "yet another passphrase")
        .await
        .assert_problem(400, "/problems/invalid-reset-token");
    assert_eq!(login(&app, NEW).await.status, 200);
}

async fn a_reset_lifts_a_login_lockout(backend: Backend) {
    let mut options = Spawn::new(backend);
    options.limits.failures_before_delay = 100;
    options.limits.failures_before_lockout = 2;
    let app = spawn_with(options).await;
    app.onboarded_customer(ADA, OLD).await;
    for _ in 0..2 {
        login(&app, "not the password")
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    login(&app, OLD)
        .await
        .assert_problem(429, "/problems/login-locked");

    let token = requested_token(&app, ADA, 1).await;
    let reply = confirm(&app, &token, NEW).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let reply = login(&app, NEW).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}
