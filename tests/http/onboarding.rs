//! Register, verify the email, log in, read `me`: the customer's first journey.

use serde_json::json;
use usvc_tests::{Backend, application, backends, spawn};

backends!(
    a_customer_registers_verifies_logs_in_and_reads_their_profile,
    registering_an_existing_email_looks_the_same_and_tells_the_owner,
    every_broken_rule_is_reported_at_once,
    an_unverified_customer_cannot_log_in,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    a_wrong_or_unknown_verification_code_is_refused_alike,
    a_used_code_cannot_be_reused,
    registering_again_while_pending_sends_a_fresh_code,
    a_code_killed_by_wrong_guesses_answers_like_a_wrong_code,
    registration_publishes_events_without_personal_data,
    failed_logins_of_a_customer_are_published_with_their_reason,
);

async fn a_customer_registers_verifies_logs_in_and_reads_their_profile(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            application("  Ada@Example.COM ", "a long enough secret"),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "verification_pending");

    let code = app.verification_code("ada@example.com").await;
    assert_eq!(code.len(), 6);
    let reply = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "ada@example.com", "code": code}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "verified");

    let reply = app
        .post(
            "/v1/auth/login",
            json!({"email": "ADA@example.com", "password": "a long enough secret"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert!(reply.body["expires_in"].as_u64().unwrap() > 0);
    assert!(reply.body["refresh_token"].as_str().unwrap().len() >= 43);
    let token = reply.body["access_token"].as_str().unwrap();

    let me = app.get("/v1/users/me", Some(token)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["email"], "ada@example.com");
    assert_eq!(me.body["legal_name"], "Ada Lovelace");
    assert_eq!(me.body["status"], "active");
    assert_eq!(me.body["country_of_residence"], "GB");
    assert_eq!(me.body["phone"], "+447700900123");
    assert!(me.body.get("password_hash").is_none());
}

async fn registering_an_existing_email_looks_the_same_and_tells_the_owner(backend: Backend) {
    let app = spawn(backend).await;
    let first = app
        .post(
            "/v1/auth/register",
            application("grace@example.com", "first secret phrase"),
        )
        .await;
    let code = app.verification_code("grace@example.com").await;
    let body = json!({"email": "grace@example.com", "code": code});
    assert_eq!(app.post("/v1/auth/verify-email", body).await.status, 200);
    let second = app
        .post(
            "/v1/auth/register",
            application("grace@example.com", "other secret phrase"),
        )
        .await;
    assert_eq!((first.status, &first.body), (second.status, &second.body));
    assert_eq!(app.users().await.len(), 1);

    let mail = app.mailbox("grace@example.com").await;
    let notices: Vec<_> = mail.iter().map(|m| m["notice"].as_str().unwrap()).collect();
    assert_eq!(
        notices,
        ["email_verification", "welcome", "registration_attempted"]
    );
    let registered = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.registered")
        .count();
    assert_eq!(registered, 1);
    // The first password still opens the account; the second applicant's does not.
    let login = |password: &str| json!({"email": "grace@example.com", "password": password});
    assert_eq!(
        app.post("/v1/auth/login", login("first secret phrase"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/v1/auth/login", login("other secret phrase"))
            .await
            .status,
        401
    );
}

async fn every_broken_rule_is_reported_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            json!({
                "email": "not-an-email",
                "password": "short",
                "legal_name": "  ",
                "date_of_birth": "2020-01-01",
                "country_of_residence": "XX",
                "phone": "0044 12",
            }),
        )
        .await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(
        reply.violation_codes(),
        [
            "country_of_residence.not_supported",
            "date_of_birth.underage",
            "email.invalid",
            "legal_name.missing",
            "password.too_short",
            "phone.invalid",
        ]
    );
    for violation in reply.body["violations"].as_array().unwrap() {
        assert!(violation["field"].is_string() && violation["message"].is_string());
    }
    assert!(app.users().await.is_empty());
    assert!(app.events().await.is_empty());
}

async fn an_unverified_customer_cannot_log_in(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("alan@example.com", "turing machine 1936"),
    )
    .await;
    let reply = app
        .post(
            "/v1/auth/login",
            json!({"email": "alan@example.com", "password": "turing machine 1936"}),
        )
        .await;
    reply.assert_problem(403, "/problems/email-not-verified");
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer("emmy@example.com", "noether theorem 1918")
        .await;
    let wrong = app
        .post(
            "/v1/auth/login",
            json!({"email": "emmy@example.com", "password": "wrong password!"}),
        )
        .await;
    let unknown = app
        .post(
            "/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    wrong.assert_problem(401, "/problems/unauthorized");
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
}

async fn a_wrong_or_unknown_verification_code_is_refused_alike(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("kurt@example.com", "incompleteness 1931"),
    )
    .await;
    let code = app.verification_code("kurt@example.com").await;
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let wrong = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "kurt@example.com", "code": wrong_code}),
        )
        .await;
    let unknown = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "ghost@example.com", "code": code}),
        )
        .await;
    wrong.assert_problem(400, "/problems/invalid-code");
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
}

async fn a_used_code_cannot_be_reused(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("john@example.com", "von neumann 1945!"),
    )
    .await;
    let code = app.verification_code("john@example.com").await;
    let body = json!({"email": "john@example.com", "code": code});
    assert_eq!(
        app.post("/v1/auth/verify-email", body.clone()).await.status,
        200
    );
    app.post("/v1/auth/verify-email", body)
        .await
        .assert_problem(400, "/problems/invalid-code");
}

async fn registration_publishes_events_without_personal_data(backend: Backend) {
    let app = spawn(backend).await;
    let mut bus = app.app_events.subscribe();
    app.onboarded_customer("claude@example.com", "information theory 48")
        .await;
    let user = &app.users().await[0];
    let events = app.events().await;
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "user.registered",
            "user.email_verified",
            "auth.login_succeeded",
            "auth.new_device"
        ]
    );
    for event in &events {
        assert_eq!(event.subject, user.id);
        let text = event.data.to_string();
        for pii in [
            "claude@example.com",
            "Ada Lovelace",
            "1990-12-10",
            "+447700900123",
        ] {
            assert!(
                !text.contains(pii),
                "{} leaks {pii}: {text}",
                event.event_type
            );
        }
    }
    // The outbox relay delivers both to in-process subscribers.
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), bus.recv()).await;
    assert_eq!(
        first.expect("delivered in time").unwrap().event_type,
        "user.registered"
    );
}

async fn registering_again_while_pending_sends_a_fresh_code(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("rosalind@example.com", "photo fifty one!"),
    )
    .await;
    let again = app
        .post(
            "/v1/auth/register",
            application("rosalind@example.com", "photo fifty one!"),
        )
        .await;
    assert_eq!(again.status, 202);
    let mail = app.mailbox("rosalind@example.com").await;
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m["notice"] == "email_verification"));
    let code = app.verification_code("rosalind@example.com").await;
    let body = json!({"email": "rosalind@example.com", "code": code});
    assert_eq!(app.post("/v1/auth/verify-email", body).await.status, 200);
}

async fn a_code_killed_by_wrong_guesses_answers_like_a_wrong_code(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("barbara@example.com", "liskov substitution"),
    )
    .await;
    let code = app.verification_code("barbara@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut answers = Vec::new();
    for _ in 0..5 {
        let reply = app
            .post(
                "/v1/auth/verify-email",
                json!({"email": "barbara@example.com", "code": wrong}),
            )
            .await;
        answers.push((reply.status, reply.body));
    }
    let right = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "barbara@example.com", "code": code}),
        )
        .await;
    right.assert_problem(400, "/problems/invalid-code");
    let stranger = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "nobody@example.com", "code": wrong}),
        )
        .await;
    assert!(
        answers
            .iter()
            .all(|a| a == &(stranger.status, stranger.body.clone()))
    );
    assert_eq!(
        (right.status, &right.body),
        (stranger.status, &stranger.body)
    );
    assert_eq!(
        app.users().await[0].status,
        usvc::store::users::UserStatus::PendingVerification
    );
}

async fn failed_logins_of_a_customer_are_published_with_their_reason(backend: Backend) {
    let app = spawn(backend).await;
    app.post(
        "/v1/auth/register",
        application("edsger@example.com", "go to considered harmful"),
    )
    .await;
    let attempt = |password: &str| json!({"email": "edsger@example.com", "password": password});
    app.post("/v1/auth/login", attempt("go to considered harmful"))
        .await;
    app.wrong_password("edsger@example.com", "a wrong password!")
        .await;
    app.post(
        "/v1/auth/login",
        json!({"email": "nobody@example.com", "password": "whatever it is"}),
    )
    .await;
    let failures: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.login_failed")
        .map(|e| e.data["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failures, ["email_not_verified", "wrong_password"]);
    for event in app.events().await {
        assert!(
            !event.data.to_string().contains("wrong password"),
            "a tried password leaked"
        );
    }
}
