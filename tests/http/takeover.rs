//! Account takeover paths a security review found, each shut: a pending address registered first
//! by someone else, a factor enrolled with a stolen access token, a staff role without a second
//! factor, and the password change as an oracle for the current password.

use std::{sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::json;
use usvc::clock::FixedClock;
use usvc_tests::{Backend, Spawn, application, backends, spawn, spawn_with};

backends!(
    a_pending_address_goes_live_with_its_newest_registrants_password_only,
    a_new_factor_is_announced_on_every_channel,
    a_stolen_access_token_cannot_enrol_a_factor_or_move_the_account,
    an_enrolled_customers_identity_changes_only_with_a_fresh_second_factor,
    a_granted_role_ends_the_sessions_and_never_arrives_by_refresh,
    staff_routes_refuse_a_token_without_a_second_factor,
    staff_cannot_log_in_without_an_mfa_component,
    the_current_password_cannot_be_guessed_through_a_password_change,
    no_cache_keeps_tokens_or_personal_data,
    a_copy_of_the_database_does_not_reveal_codes,
);

async fn register(app: &usvc_tests::TestApp, email: &str, password: &str, name: &str) {
    let mut body = application(email, password);
    body["legal_name"] = json!(name);
    let reply = app.post("/v1/auth/register", body).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn login(app: &usvc_tests::TestApp, email: &str, password: &str) -> usvc_tests::Reply {
    app.post(
        "/v1/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
}

async fn a_pending_address_goes_live_with_its_newest_registrants_password_only(backend: Backend) {
    let app = spawn(backend).await;
    // Someone who does not own the address registers it first and never confirms it.
    register(
        &app,
        "grace@example.com",
        "squatter's own passphrase",
        "Mallory",
    )
    .await;
    let squatters_code = app.verification_code("grace@example.com").await;
    // The address's owner registers it with their own password and confirms with the code
    // that registration sent.
    register(
        &app,
        "grace@example.com",
        "cobol compiler 1959",
        "Grace Hopper",
    )
    .await;
    let owners_code = app.verification_code("grace@example.com").await;
    if squatters_code != owners_code {
        let stale = json!({"email": "grace@example.com", "code": squatters_code});
        app.post("/v1/auth/verify-email", stale)
            .await
            .assert_problem(400, "/problems/invalid-code");
    }
    let confirm = json!({"email": "grace@example.com", "code": owners_code});
    let confirmed = app.post("/v1/auth/verify-email", confirm).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);

    login(&app, "grace@example.com", "squatter's own passphrase")
        .await
        .assert_problem(401, "/problems/unauthorized");
    let owner = login(&app, "grace@example.com", "cobol compiler 1959").await;
    assert_eq!(owner.status, 200, "{:?}", owner.body);
    let access = owner.body["access_token"].as_str().unwrap();
    let me = app.get("/v1/users/me", Some(access)).await;
    assert_eq!(me.body["legal_name"], "Grace Hopper", "{:?}", me.body);
    assert_eq!(app.users().await.len(), 1);
}

async fn a_new_factor_is_announced_on_every_channel(backend: Backend) {
    let app = spawn(backend).await;
    let access = app
        .onboarded_customer("ada@example.com", "analytical engine 1843")
        .await;
    // A verified phone: the customer now has two channels.
    let asked = app
        .request_json(
            Method::PUT,
            "/v1/users/me/phone",
            Some(&access),
            Some(json!({"phone": "+447700900123"})),
        )
        .await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    let sent = app.notice("+447700900123", "phone_verification").await;
    let code = sent["code"].as_str().expect("a code").to_owned();
    let verified = app
        .request_json(
            Method::POST,
            "/v1/users/me/phone/verify",
            Some(&access),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);

    app.enrol_totp(&access).await;
    let by_email = app.notice("ada@example.com", "second_factor_added").await;
    assert_eq!(by_email["channel"], "email", "{by_email:?}");
    let by_sms = app.notice("+447700900123", "second_factor_added").await;
    assert_eq!(by_sms["channel"], "sms", "{by_sms:?}");
}

async fn a_stolen_access_token_cannot_enrol_a_factor_or_move_the_account(backend: Backend) {
    let clock = FixedClock::at(time::OffsetDateTime::now_utc());
    let app = spawn_with(Spawn {
        clock: Some(Arc::new(clock.clone())),
        ..Spawn::new(backend)
    })
    .await;
    let access = app
        .onboarded_customer("margaret@example.com", "apollo guidance computer")
        .await;
    // Six minutes later the token still works, but the password behind it is no longer fresh:
    // whoever holds the token now may not be the customer.
    clock.advance(Duration::from_secs(6 * 60));
    let attempts = [
        (Method::POST, "/v1/mfa/totp", None),
        (
            Method::POST,
            "/v1/mfa/otp",
            Some(json!({"channel": "email"})),
        ),
        (
            Method::PUT,
            "/v1/users/me/email",
            Some(json!({"email": "thief@example.com"})),
        ),
        (
            Method::PUT,
            "/v1/users/me/phone",
            Some(json!({"phone": "+447700900666"})),
        ),
    ];
    for (method, path, body) in &attempts {
        app.request_json(method.clone(), path, Some(&access), body.clone())
            .await
            .assert_problem(403, "/problems/reauthentication-required");
    }
    assert!(
        app.mailbox("thief@example.com").await.is_empty(),
        "nothing was sent to the thief's address"
    );

    // The customer gives the password again: the same session may enrol now.
    let reauthenticated = app
        .request_json(
            Method::POST,
            "/v1/auth/reauthenticate",
            Some(&access),
            Some(json!({"password": "apollo guidance computer"})),
        )
        .await;
    assert_eq!(reauthenticated.status, 204, "{:?}", reauthenticated.body);
    let enrolled = app
        .request_json(Method::POST, "/v1/mfa/totp", Some(&access), None)
        .await;
    assert_eq!(enrolled.status, 201, "{:?}", enrolled.body);
}

async fn an_enrolled_customers_identity_changes_only_with_a_fresh_second_factor(backend: Backend) {
    let clock = FixedClock::at(time::OffsetDateTime::now_utc());
    let app = spawn_with(Spawn {
        clock: Some(Arc::new(clock.clone())),
        ..Spawn::new(backend)
    })
    .await;
    let access = app
        .onboarded_customer("annie@example.com", "fortran on the ibm 704")
        .await;
    app.enrol_totp(&access).await;
    clock.advance(Duration::from_secs(6 * 60));
    for body in [
        json!({"legal_name": "Someone Else"}),
        json!({"date_of_birth": "1970-01-01"}),
        json!({"nationality": "FR"}),
        json!({"national_id": "AB123456C"}),
    ] {
        let request = app
            .http
            .patch(app.url("/v1/users/me/profile"))
            .bearer_auth(&access)
            .header("if-match", "\"0\"")
            .json(&body);
        usvc_tests::Reply::read(request.send().await.unwrap())
            .await
            .assert_problem(403, "/problems/step-up-required");
    }
    let me = app.get("/v1/users/me/profile", Some(&access)).await;
    assert_eq!(me.body["legal_name"], "Ada Lovelace", "{:?}", me.body);
    assert_eq!(me.body["date_of_birth"], "1990-12-10", "{:?}", me.body);
    assert!(me.body["nationality"].is_null() && me.body["national_id"].is_null());
}

async fn a_granted_role_ends_the_sessions_and_never_arrives_by_refresh(backend: Backend) {
    let app = spawn(backend).await;
    let registered = app
        .post(
            "/v1/auth/register",
            application("ken@example.com", "unix time sharing"),
        )
        .await;
    assert_eq!(registered.status, 202);
    let code = app.verification_code("ken@example.com").await;
    app.post(
        "/v1/auth/verify-email",
        json!({"email": "ken@example.com", "code": code}),
    )
    .await;
    let tokens = login_tokens(&app, "ken@example.com", "unix time sharing").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    usvc::admin::grant_role(&app.db, "ken@example.com", "admin", now)
        .await
        .unwrap();

    // The password-only session does not turn into an admin's at its next refresh: it is over.
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status, 401, "{:?}", refreshed.body);
    // The next login needs a second factor the customer does not have.
    let again = login(&app, "ken@example.com", "unix time sharing").await;
    assert_eq!(again.status, 403, "{:?}", again.body);
}

async fn login_tokens(app: &usvc_tests::TestApp, email: &str, password: &str) -> serde_json::Value {
    let reply = login(app, email, password).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

async fn staff_routes_refuse_a_token_without_a_second_factor(backend: Backend) {
    // A token the service itself signed, for a live session of an admin, but whose `amr` says
    // only `pwd`: staff routes need proof of a second factor, not the role alone.
    let app = spawn_with(Spawn {
        signing_key_pem: Some(usvc_tests::signing_key_pem(3)),
        ..Spawn::new(backend)
    })
    .await;
    let access = app
        .onboarded_customer("barbara@example.com", "liskov substitution")
        .await;
    let admin = app
        .make_admin("barbara@example.com", "liskov substitution", &access)
        .await;
    let mut claims = usvc_tests::claims_of(&admin);
    assert!(claims["amr"].as_array().unwrap().contains(&json!("mfa")));
    let ok = app.get("/v1/admin/components", Some(&admin)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);

    claims["amr"] = json!(["pwd"]);
    let forged = usvc_tests::sign_access_token(&claims, 3);
    let refused = app.get("/v1/admin/components", Some(&forged)).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let decisions = app.get("/v1/admin/decisions", Some(&forged)).await;
    assert_eq!(decisions.status, 403, "{:?}", decisions.body);
    let user_id = app.user_id("barbara@example.com").await;
    let lock = app
        .request_json(
            Method::PUT,
            &format!("/v1/admin/users/{user_id}/status"),
            Some(&forged),
            Some(json!({"status": "locked", "reason": "test"})),
        )
        .await;
    assert_eq!(lock.status, 403, "{:?}", lock.body);
}

async fn staff_cannot_log_in_without_an_mfa_component(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("usvc-no-mfa-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["onboarding.wasm", "verification.wasm"] {
        std::fs::write(dir.join(name), usvc_tests::built(name)).unwrap();
    }
    let app = spawn_with(Spawn {
        components_dir: dir.clone(),
        ..Spawn::new(backend)
    })
    .await;
    app.onboarded_customer("linus@example.com", "monolithic kernel")
        .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    usvc::admin::grant_role(&app.db, "linus@example.com", "support", now)
        .await
        .unwrap();
    let refused = login(&app, "linus@example.com", "monolithic kernel").await;
    refused.assert_problem(503, "/problems/component-unavailable");
    assert!(refused.body.get("access_token").is_none());
    let _ = std::fs::remove_dir_all(dir);
}

async fn the_current_password_cannot_be_guessed_through_a_password_change(backend: Backend) {
    let app = spawn(backend).await;
    let access = app
        .onboarded_customer("edsger@example.com", "goto considered harmful")
        .await;
    let mut statuses = Vec::new();
    for attempt in 0..12 {
        let reply = app
            .request_json(
                Method::POST,
                "/v1/users/me/password",
                Some(&access),
                Some(json!({
                    "current_password": format!("guess number {attempt} of many"),
                    "new_password": "a brand new passphrase",
                })),
            )
            .await;
        statuses.push(reply.status);
    }
    assert!(
        statuses.contains(&429),
        "guesses are braked and then locked: {statuses:?}"
    );
    // Locked: the right password is refused too, here and at login, until the lockout ends.
    let right = app
        .request_json(
            Method::POST,
            "/v1/users/me/password",
            Some(&access),
            Some(json!({
                "current_password": "goto considered harmful",
                "new_password": "a brand new passphrase",
            })),
        )
        .await;
    assert_eq!(right.status, 429, "{:?}", right.body);
    assert_eq!(
        login(&app, "edsger@example.com", "goto considered harmful")
            .await
            .status,
        429
    );
    let user_id = app.user_id("edsger@example.com").await;
    assert!(
        app.audit_count(&user_id, "auth.password_change_failed")
            .await
            >= 3
    );
}

async fn no_cache_keeps_tokens_or_personal_data(backend: Backend) {
    let app = spawn(backend).await;
    let access = app
        .onboarded_customer("hedy@example.com", "frequency hopping 1942")
        .await;
    let tokens = login(&app, "hedy@example.com", "frequency hopping 1942").await;
    assert_eq!(tokens.status, 200);
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": tokens.body["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let me = app.get("/v1/users/me", Some(&access)).await;
    let profile = app.get("/v1/users/me/profile", Some(&access)).await;
    let refused = app.get("/v1/users/me", Some("not.a.token")).await;
    for (what, reply) in [
        ("login", &tokens),
        ("refresh", &refreshed),
        ("me", &me),
        ("profile", &profile),
        ("a refusal", &refused),
    ] {
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"), "{what}");
    }
}

fn bare_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

async fn a_copy_of_the_database_does_not_reveal_codes(backend: Backend) {
    let app = spawn(backend).await;
    // A pending registration's emailed code.
    register(
        &app,
        "radia@example.com",
        "spanning tree protocol",
        "Radia Perlman",
    )
    .await;
    let code = app.verification_code("radia@example.com").await;
    let user = app.user_id("radia@example.com").await;
    let stored: String =
        sqlx::query_scalar("SELECT code_hash FROM email_verification_codes WHERE user_id = $1")
            .bind(&user)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_ne!(
        stored,
        bare_sha256(&code),
        "a bare hash is guessed offline in a million tries"
    );

    // Recovery codes.
    let confirmed = app
        .post(
            "/v1/auth/verify-email",
            json!({"email": "radia@example.com", "code": code}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let access = login(&app, "radia@example.com", "spanning tree protocol").await;
    let access = access.body["access_token"].as_str().unwrap().to_owned();
    let started = app
        .request_json(Method::POST, "/v1/mfa/totp", Some(&access), None)
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let secret = started.body["secret"].as_str().unwrap();
    let confirm = format!(
        "/v1/mfa/totp/{}/confirm",
        started.body["factor_id"].as_str().unwrap()
    );
    let done = app
        .request_json(
            Method::POST,
            &confirm,
            Some(&access),
            Some(json!({"code": usvc_tests::totp_code(secret, 0)})),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let codes: Vec<String> = done.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_str()
                .unwrap()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase())
                .collect()
        })
        .collect();
    assert!(!codes.is_empty());
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1")
            .bind(&user)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(hashes.len(), codes.len());
    for code in &codes {
        assert!(
            !hashes.contains(&bare_sha256(code)),
            "recovery codes are keyed"
        );
    }
}
