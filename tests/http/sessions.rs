//! Sessions and tokens: refresh rotation with reuse detection, logout, listing and ending
//! sessions, and the JWKS that lets other services verify access tokens themselves.

use serde_json::{Value, json};
use usvc_tests::{Backend, TestApp, backends, spawn};

backends!(
    a_refresh_token_gives_a_new_pair_and_is_spent,
    reusing_a_spent_refresh_token_ends_the_session,
    logout_ends_the_session,
    a_customer_sees_and_ends_their_sessions,
    another_customers_session_cannot_be_ended,
    access_tokens_verify_with_the_published_jwks,
    every_authentication_event_is_audited_and_published,
    a_request_in_flight_during_a_logout_never_revives_the_session,
);

const PASSWORD: &str = "difference engine 1822";

/// A confirmed customer logged in once; returns the login body.
async fn customer(app: &TestApp, email: &str) -> Value {
    app.onboarded_customer(email, PASSWORD).await;
    login(app, email).await
}

async fn login(app: &TestApp, email: &str) -> Value {
    let reply = app
        .post(
            "/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body:?}"))
}

async fn refresh(app: &TestApp, token: &str) -> usvc_tests::Reply {
    app.post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

async fn a_refresh_token_gives_a_new_pair_and_is_spent(backend: Backend) {
    let app = spawn(backend).await;
    let first = customer(&app, "charles@example.com").await;
    let reply = refresh(&app, field(&first, "refresh_token")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_ne!(
        field(&reply.body, "refresh_token"),
        field(&first, "refresh_token")
    );
    let me = app
        .get("/v1/users/me", Some(field(&reply.body, "access_token")))
        .await;
    assert_eq!(me.status, 200);
    // The new refresh token works once more.
    assert_eq!(
        refresh(&app, field(&reply.body, "refresh_token"))
            .await
            .status,
        200
    );
    refresh(&app, "made-up-token")
        .await
        .assert_problem(401, "/problems/unauthorized");
}

async fn reusing_a_spent_refresh_token_ends_the_session(backend: Backend) {
    let app = spawn(backend).await;
    let first = customer(&app, "ada@example.com").await;
    let rotated = refresh(&app, field(&first, "refresh_token")).await.body;

    // The spent token comes back (a thief, or the customer after a thief): the family dies.
    refresh(&app, field(&first, "refresh_token"))
        .await
        .assert_problem(401, "/problems/unauthorized");
    refresh(&app, field(&rotated, "refresh_token"))
        .await
        .assert_problem(401, "/problems/unauthorized");
    let me = app
        .get("/v1/users/me", Some(field(&rotated, "access_token")))
        .await;
    me.assert_problem(401, "/problems/unauthorized");
    let reused: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.refresh_reused")
        .collect();
    assert_eq!(reused.len(), 1);
    assert_eq!(reused[0].data["session_id"], app.get_session_id(&first));
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn(backend).await;
    let tokens = customer(&app, "grace@example.com").await;
    let access = field(&tokens, "access_token");
    let reply = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 204);
    app.get("/v1/users/me", Some(access))
        .await
        .assert_problem(401, "/problems/unauthorized");
    refresh(&app, field(&tokens, "refresh_token"))
        .await
        .assert_problem(401, "/problems/unauthorized");
    let anonymous = app
        .http
        .post(app.url("/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn a_customer_sees_and_ends_their_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let phone = customer(&app, "alan@example.com").await;
    let laptop = login(&app, "alan@example.com").await;
    let list = app
        .get("/v1/sessions", Some(field(&laptop, "access_token")))
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let sessions = list.body.as_array().unwrap();
    // The registration helper logged in once too: three sessions, one of them this one.
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);

    let phone_session = app.get_session_id(&phone);
    let ended = app
        .http
        .delete(app.url(&format!("/v1/sessions/{phone_session}")))
        .bearer_auth(field(&laptop, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    app.get("/v1/users/me", Some(field(&phone, "access_token")))
        .await
        .assert_problem(401, "/problems/unauthorized");
    assert_eq!(
        app.get("/v1/users/me", Some(field(&laptop, "access_token")))
            .await
            .status,
        200
    );
    let list = app
        .get("/v1/sessions", Some(field(&laptop, "access_token")))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    app.get("/v1/sessions", None)
        .await
        .assert_problem(401, "/problems/unauthorized");
}

async fn another_customers_session_cannot_be_ended(backend: Backend) {
    let app = spawn(backend).await;
    let victim = customer(&app, "victim@example.com").await;
    let attacker = customer(&app, "attacker@example.com").await;
    let victim_session = app.get_session_id(&victim);
    let reply = app
        .http
        .delete(app.url(&format!("/v1/sessions/{victim_session}")))
        .bearer_auth(field(&attacker, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    assert_eq!(
        app.get("/v1/users/me", Some(field(&victim, "access_token")))
            .await
            .status,
        200
    );
}

async fn access_tokens_verify_with_the_published_jwks(backend: Backend) {
    use base64::Engine;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let app = spawn(backend).await;
    let tokens = customer(&app, "whit@example.com").await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, 200);
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );

    let token = field(&tokens, "access_token");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let header: Value =
        serde_json::from_slice(&b64.decode(signed.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], key["kid"]);
    let public: [u8; 32] = b64.decode(field(key, "x")).unwrap().try_into().unwrap();
    let signature = Signature::from_slice(&b64.decode(signature).unwrap()).unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify(signed.as_bytes(), &signature)
        .expect("the JWKS key verifies the token");

    let claims: Value =
        serde_json::from_slice(&b64.decode(signed.split('.').nth(1).unwrap()).unwrap()).unwrap();
    for claim in ["sub", "sid", "iat", "exp", "aud", "iss", "amr", "roles"] {
        assert!(
            claims.get(claim).is_some(),
            "claim {claim} missing: {claims}"
        );
    }
    assert_eq!(claims["amr"], json!(["pwd"]));
}

async fn every_authentication_event_is_audited_and_published(backend: Backend) {
    let app = spawn(backend).await;
    let first = customer(&app, "audit@example.com").await; // logs in twice
    app.wrong_password("audit@example.com", "not the password")
        .await;
    let rotated = refresh(&app, field(&first, "refresh_token")).await.body;
    refresh(&app, field(&first, "refresh_token")).await; // reuse: the session dies
    let other = login(&app, "audit@example.com").await;
    let logout = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(field(&other, "access_token"));
    assert_eq!(logout.send().await.unwrap().status(), 204);
    assert_ne!(field(&rotated, "access_token"), "");

    let user = &app.users().await[0];
    let trail = app.audit(&user.id).await;
    let kinds: Vec<(&str, &str)> = trail
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.data["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            // No login sends a device token, so each is a new device.
            ("auth.login_succeeded", ""),
            ("auth.new_device", ""),
            ("auth.login_succeeded", ""),
            ("auth.new_device", ""),
            ("auth.login_failed", "wrong_password"),
            ("auth.refresh_reused", ""),
            ("auth.session_revoked", "refresh_reused"),
            ("auth.login_succeeded", ""),
            ("auth.new_device", ""),
            ("auth.session_revoked", "logout"),
        ]
    );
    // Each audit row is the same event the outbox published.
    let published: Vec<String> = app.events().await.into_iter().map(|e| e.id).collect();
    assert!(trail.iter().all(|e| published.contains(&e.id)));
    for event in &trail {
        let text = event.data.to_string();
        assert!(
            !text.contains(PASSWORD) && !text.contains("audit@example.com"),
            "{text}"
        );
    }
}

async fn a_request_in_flight_during_a_logout_never_revives_the_session(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer("racing@example.com", PASSWORD).await;
    for round in 0..10 {
        let tokens = login(&app, "racing@example.com").await;
        let access = field(&tokens, "access_token").to_owned();
        // Readers that may have seen the session live in the database before it ended...
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let request = app.http.get(app.url("/v1/users/me")).bearer_auth(&access);
            readers.spawn(async move { request.send().await.map(|r| r.status()) });
        }
        let logout = app
            .http
            .post(app.url("/v1/auth/logout"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 204);
        readers.join_all().await;
        // ...do not make the ended session work again once the logout has answered.
        app.get("/v1/users/me", Some(&access))
            .await
            .assert_problem(401, "/problems/unauthorized");
        let _ = round;
    }
}
