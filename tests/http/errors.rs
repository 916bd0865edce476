//! Bad input and bad credentials: always a problem document with a 4xx status, never a 500.

use serde_json::json;
use usvc_tests::{Backend, application, backends, spawn};

backends!(
    malformed_json_is_a_bad_request,
    a_missing_field_is_unprocessable,
    a_wrong_type_is_unprocessable,
    an_unknown_field_is_unprocessable,
    a_body_that_is_not_json_is_unsupported,
    an_oversized_body_is_refused,
    me_needs_a_valid_bearer_token,
    an_unknown_route_is_a_problem,
    a_domain_failure_names_its_stable_reason,
);

/// A failure the domain classified carries its reason, the same one gRPC sends in `ErrorInfo`;
/// a problem of HTTP's own (a body that does not parse) has none.
async fn a_domain_failure_names_its_stable_reason(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        (app.get("/v1/users/me", None).await, 401, "TOKEN_MISSING"),
        (
            app.get("/v1/users/me", Some("not-a-jwt")).await,
            401,
            "TOKEN_INVALID",
        ),
        (
            app.post(
                "/v1/auth/register",
                application("not-an-address", "long enough secret"),
            )
            .await,
            422,
            "VALIDATION",
        ),
        (
            app.post(
                "/v1/auth/login",
                json!({"email": "nobody@example.com", "password": "long enough secret"}),
            )
            .await,
            401,
            "INVALID_CREDENTIALS",
        ),
        (app.get("/v1/no-such-route", None).await, 404, "NOT_FOUND"),
    ];
    for (reply, status, reason) in cases {
        assert_eq!(reply.status, status, "{:?}", reply.body);
        assert_eq!(reply.body["reason"], reason, "{:?}", reply.body);
    }
    let malformed = app
        .post_raw("/v1/auth/register", "application/json", "{")
        .await;
    malformed.assert_problem(400, "/problems/malformed-request");
    assert!(
        malformed.body.get("reason").is_none(),
        "{:?}",
        malformed.body
    );
}

async fn malformed_json_is_a_bad_request(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post_raw("/v1/auth/register", "application/json", r#"{"email": "#)
        .await;
    reply.assert_problem(400, "/problems/malformed-request");
}

async fn a_missing_field_is_unprocessable(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            json!({"email": "a@example.com", "password": "x"}),
        )
        .await;
    reply.assert_problem(422, "/problems/invalid-body");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{:?}",
        reply.body
    );
}

async fn a_wrong_type_is_unprocessable(backend: Backend) {
    let app = spawn(backend).await;
    let mut body = application("a@example.com", "long enough secret");
    body["date_of_birth"] = json!(19901210);
    app.post("/v1/auth/register", body)
        .await
        .assert_problem(422, "/problems/invalid-body");
    let reply = app
        .post("/v1/auth/login", json!({"email": ["a"], "password": "x"}))
        .await;
    reply.assert_problem(422, "/problems/invalid-body");
}

async fn an_unknown_field_is_unprocessable(backend: Backend) {
    let app = spawn(backend).await;
    let mut body = application("a@example.com", "long enough secret");
    body["is_admin"] = json!(true);
    app.post("/v1/auth/register", body)
        .await
        .assert_problem(422, "/problems/invalid-body");
}

async fn a_body_that_is_not_json_is_unsupported(backend: Backend) {
    let app = spawn(backend).await;
    let reply = app
        .post_raw("/v1/auth/login", "text/plain", "email=a&password=b")
        .await;
    reply.assert_problem(415, "/problems/unsupported-media-type");
}

async fn an_oversized_body_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let mut body = application("a@example.com", "long enough secret");
    body["legal_name"] = json!("x".repeat(100 * 1024));
    app.post("/v1/auth/register", body)
        .await
        .assert_problem(413, "/problems/payload-too-large");
    assert!(app.users().await.is_empty());
}

async fn me_needs_a_valid_bearer_token(backend: Backend) {
    let app = spawn(backend).await;
    let token = app
        .onboarded_customer("ada@example.com", "analytical engine 1843")
        .await;
    app.get("/v1/users/me", None)
        .await
        .assert_problem(401, "/problems/unauthorized");
    app.get("/v1/users/me", Some("not-a-jwt"))
        .await
        .assert_problem(401, "/problems/unauthorized");

    // The same claims, unsigned (`alg: none`), or with a tampered payload.
    let parts: Vec<&str> = token.split('.').collect();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    app.get("/v1/users/me", Some(&unsigned))
        .await
        .assert_problem(401, "/problems/unauthorized");
    let mut payload = parts[1].to_owned();
    payload.replace_range(10..11, if &payload[10..11] == "A" { "B" } else { "A" });
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    app.get("/v1/users/me", Some(&tampered))
        .await
        .assert_problem(401, "/problems/unauthorized");

    // A token from another instance (another key) is refused.
    let other = spawn(backend).await;
    let foreign = other
        .onboarded_customer("ada@example.com", "analytical engine 1843")
        .await;
    app.get("/v1/users/me", Some(&foreign))
        .await
        .assert_problem(401, "/problems/unauthorized");

    assert_eq!(app.get("/v1/users/me", Some(&token)).await.status, 200);
}

async fn an_unknown_route_is_a_problem(backend: Backend) {
    let app = spawn(backend).await;
    app.get("/v1/nothing-here", None)
        .await
        .assert_problem(404, "/problems/not-found");
    let reply = app.get("/v1/auth/register", None).await;
    reply.assert_problem(405, "/problems/method-not-allowed");
}
