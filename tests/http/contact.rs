//! Personal data at rest and contact changes over HTTP: the date of birth, address and national
//! id number never lie in the clear in the database (and rows an earlier version wrote in the
//! clear are sealed at start-up); a new phone number or email address takes effect only with the
//! code sent to it, with expiry, an attempt limit and resend throttling; an email or phone
//! change needs a fresh second factor once the customer has one; the old address is told; an
//! address another customer has is never revealed.

use std::{sync::Arc, time::Duration};

use reqwest::Method;
use serde_json::{Value, json};
use usvc::clock::FixedClock;
use usvc_tests::{Backend, Reply, Spawn, TestApp, backends, spawn, spawn_with, totp_code};

backends!(
    personal_data_is_sealed_at_rest,
    clear_personal_data_of_an_earlier_version_is_sealed_at_start_up,
    a_national_id_is_checked_and_shown_to_its_owner,
    a_new_phone_number_counts_once_its_code_comes_back,
    wrong_codes_end_a_phone_change,
    a_new_code_waits_a_minute,
    a_phone_code_expires,
    an_email_change_needs_a_fresh_second_factor_and_tells_the_old_address,
    an_address_another_customer_has_is_never_revealed,
    contact_changes_need_a_token_and_stay_with_their_customer,
);

const PASSWORD: &str = "difference engine 1822";
const ADA: &str = "ada.contact@example.com";
const BOB: &str = "bob.contact@example.com";
const PROFILE: &str = "/v1/users/me/profile";
const NEW_PHONE: &str = "+447700900999";
/// `NEW_PHONE` as it appears in a query string.
const NEW_PHONE_QUERY: &str = "%2B447700900999";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.request_json(method, path, Some(token), body).await
}

async fn patch_profile(app: &TestApp, token: &str, if_match: &str, body: Value) -> Reply {
    let request = app
        .http
        .patch(app.url(PROFILE))
        .bearer_auth(token)
        .header("if-match", if_match)
        .json(&body);
    Reply::read(request.send().await.expect("request")).await
}

/// The latest code of `notice` sent to `to` (a query-string form of the address or number),
/// waiting a little for one sent after the answer.
async fn code_sent(app: &TestApp, to: &str, notice: &str) -> String {
    for _ in 0..100 {
        let code = app
            .mailbox(to)
            .await
            .iter()
            .rev()
            .find(|m| m["notice"] == notice)
            .and_then(|m| m["code"].as_str().map(str::to_owned));
        if let Some(code) = code {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {notice} code was sent to {to}")
}

async fn request_phone(app: &TestApp, token: &str, phone: &str) -> Reply {
    let body = json!({ "phone": phone });
    call(app, Method::PUT, "/v1/users/me/phone", token, Some(body)).await
}

async fn confirm_phone(app: &TestApp, token: &str, code: &str) -> Reply {
    let body = json!({ "code": code });
    call(
        app,
        Method::POST,
        "/v1/users/me/phone/verify",
        token,
        Some(body),
    )
    .await
}

async fn request_email(app: &TestApp, token: &str, email: &str) -> Reply {
    let body = json!({ "email": email });
    call(app, Method::PUT, "/v1/users/me/email", token, Some(body)).await
}

async fn confirm_email(app: &TestApp, token: &str, code: &str) -> Reply {
    let body = json!({ "code": code });
    call(
        app,
        Method::POST,
        "/v1/users/me/email/verify",
        token,
        Some(body),
    )
    .await
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_owned()
}

fn address() -> Value {
    json!({
        "line1": "12 St James's Square",
        "line2": null,
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "region": null,
        "country": "GB",
    })
}

/// The customer's date of birth and profile address and national id columns, as stored.
async fn raw_rows(app: &TestApp, user_id: &str) -> String {
    let (date,): (String,) = sqlx::query_as("SELECT date_of_birth FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    type Columns = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let profile: Vec<Columns> = sqlx::query_as(
        "SELECT address_line1, address_city, address_sealed, national_id_sealed \
         FROM profiles WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    format!("{date} {profile:?}")
}

async fn personal_data_is_sealed_at_rest(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;

    // Registration already sealed the date of birth.
    let stored = raw_rows(&app, &id).await;
    assert!(!stored.contains("1990-12-10"), "{stored}");

    let change = json!({
        "date_of_birth": "1985-03-07",
        "address": address(),
        "national_id": "qq123456c",
    });
    let reply = patch_profile(&app, &token, "\"0\"", change).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["date_of_birth"], "1985-03-07");
    assert_eq!(reply.body["address"], address());
    assert_eq!(reply.body["national_id"], "QQ123456C");

    let stored = raw_rows(&app, &id).await;
    for clear in [
        "1985-03-07",
        "1985",
        "St James",
        "London",
        "SW1Y",
        "QQ123456C",
        "qq123456c",
    ] {
        assert!(!stored.contains(clear), "{clear} in the clear: {stored}");
    }
    let (sealed_address, sealed_id): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT address_sealed, national_id_sealed FROM profiles WHERE user_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(sealed_address.is_some() && sealed_id.is_some());

    // Read back through every front door that shows them.
    let profile = app.get(PROFILE, Some(&token)).await;
    assert_eq!(profile.body["date_of_birth"], "1985-03-07");
    assert_eq!(profile.body["address"], address());
    assert_eq!(profile.body["national_id"], "QQ123456C");
    let me = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(me.body["date_of_birth"], "1985-03-07", "{:?}", me.body);
}

async fn clear_personal_data_of_an_earlier_version_is_sealed_at_start_up(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;
    // What a version before sealing wrote.
    sqlx::query("UPDATE users SET date_of_birth = '1990-12-10' WHERE id = $1")
        .bind(&id)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO profiles (user_id, nationality, address_line1, address_city, \
         address_postal_code, address_country, version, updated_at) \
         VALUES ($1, 'GB', '12 St James''s Square', 'London', 'SW1Y 4JH', 'GB', 1, 0)",
    )
    .bind(&id)
    .execute(&app.db)
    .await
    .unwrap();

    // Until it is sealed, it reads as it is.
    let before = app.get(PROFILE, Some(&token)).await;
    assert_eq!(before.status, 200, "{:?}", before.body);
    assert_eq!(before.body["date_of_birth"], "1990-12-10");
    assert_eq!(before.body["address"], address());

    // A replica of the new version starts on the same database and seals it.
    let _replica = spawn_with(Spawn {
        database_url: Some(app.database_url.clone()),
        ..Spawn::new(backend)
    })
    .await;
    let stored = raw_rows(&app, &id).await;
    for clear in ["1990-12-10", "St James", "London", "SW1Y"] {
        assert!(!stored.contains(clear), "{clear} in the clear: {stored}");
    }
    let after = app.get(PROFILE, Some(&token)).await;
    assert_eq!(after.body, before.body, "same content, same version");
}

async fn a_national_id_is_checked_and_shown_to_its_owner(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;

    for (bad, code) in [
        ("AB1", "national_id.length"),
        (&*"9".repeat(33), "national_id.length"),
        ("AB 12345", "national_id.invalid"),
        ("AB_12345", "national_id.invalid"),
    ] {
        let reply = patch_profile(&app, &token, "\"0\"", json!({ "national_id": bad })).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), [code], "{bad}");
    }
    let reply = patch_profile(
        &app,
        &token,
        "\"0\"",
        json!({ "national_id": "  ab-123456 " }),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["national_id"], "AB-123456");

    let event = app
        .events()
        .await
        .into_iter()
        .find(|e| e.event_type == "user.profile_updated" && e.subject == id)
        .expect("a profile event");
    assert_eq!(event.data["fields"], json!(["national_id"]));
    assert!(!event.data.to_string().contains("123456"));
}

async fn a_new_phone_number_counts_once_its_code_comes_back(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;
    let profile = app.get(PROFILE, Some(&token)).await;
    assert_eq!(profile.body["phone"], "+447700900123");
    assert_eq!(
        profile.body["phone_verified"], false,
        "a registration phone is unproven"
    );

    for bad in ["07700900999", "+44 7700 9009x9", "+0447700900999", ""] {
        let reply = request_phone(&app, &token, bad).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), ["phone.invalid"], "{bad}");
    }

    let reply = request_phone(&app, &token, "+44 7700 900999").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "code_sent");
    assert!(
        reply.body["code_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let code = code_sent(&app, NEW_PHONE_QUERY, "phone_verification").await;
    assert_eq!(code.len(), 6);
    // Nothing changes before the code comes back, and the code is stored only as a hash.
    let profile = app.get(PROFILE, Some(&token)).await;
    assert_eq!(profile.body["phone"], "+447700900123");
    let (hash,): (String,) =
        sqlx::query_as("SELECT code_hash FROM contact_changes WHERE user_id = $1")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_ne!(hash, code);
    assert_eq!(hash.len(), 64);

    confirm_phone(&app, &token, &other_than(&code))
        .await
        .assert_problem(400, "/problems/invalid-code");
    let done = confirm_phone(&app, &token, &code).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(
        done.body,
        json!({ "phone": NEW_PHONE, "phone_verified": true })
    );
    let profile = app.get(PROFILE, Some(&token)).await;
    assert_eq!(profile.body["phone"], NEW_PHONE);
    assert_eq!(profile.body["phone_verified"], true);

    // Spent: the same code does nothing more.
    confirm_phone(&app, &token, &code)
        .await
        .assert_problem(400, "/problems/invalid-code");
    let events: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.phone_changed")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["user_id"], id.as_str());
    assert!(!events[0].data.to_string().contains("900999"));
    assert_eq!(app.audit_count(&id, "user.phone_changed").await, 1);
}

async fn wrong_codes_end_a_phone_change(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    assert_eq!(request_phone(&app, &token, NEW_PHONE).await.status, 202);
    let code = code_sent(&app, NEW_PHONE_QUERY, "phone_verification").await;
    for _ in 0..5 {
        confirm_phone(&app, &token, &other_than(&code))
            .await
            .assert_problem(400, "/problems/invalid-code");
    }
    // The fifth wrong code ended the change: the right one no longer works.
    confirm_phone(&app, &token, &code)
        .await
        .assert_problem(400, "/problems/invalid-code");
    let profile = app.get(PROFILE, Some(&token)).await;
    assert_eq!(profile.body["phone"], "+447700900123");
    assert!(
        app.events()
            .await
            .iter()
            .all(|e| e.event_type != "user.phone_changed")
    );
}

async fn a_new_code_waits_a_minute(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    assert_eq!(request_phone(&app, &token, NEW_PHONE).await.status, 202);
    let again = request_phone(&app, &token, NEW_PHONE).await;
    again.assert_problem(429, "/problems/too-many-requests");
    let wait = again.retry_after.expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(app.mailbox(NEW_PHONE_QUERY).await.len(), 1);
    // The email channel is throttled on its own.
    let email = request_email(&app, &token, "ada.new@example.com").await;
    assert_eq!(email.status, 202, "{:?}", email.body);
}

async fn a_phone_code_expires(backend: Backend) {
    let clock = FixedClock::at(time::OffsetDateTime::now_utc());
    let app = spawn_with(Spawn {
        clock: Some(Arc::new(clock.clone())),
        ..Spawn::new(backend)
    })
    .await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    assert_eq!(request_phone(&app, &token, NEW_PHONE).await.status, 202);
    let code = code_sent(&app, NEW_PHONE_QUERY, "phone_verification").await;

    clock.advance(Duration::from_secs(10 * 60));
    confirm_phone(&app, &token, &code)
        .await
        .assert_problem(400, "/problems/expired-code");
    // An expired change is over; the resend wait is long past, so a new code can be asked for
    // (once the password is given again: the login's is ten minutes old).
    confirm_phone(&app, &token, &code)
        .await
        .assert_problem(400, "/problems/invalid-code");
    request_phone(&app, &token, NEW_PHONE)
        .await
        .assert_problem(403, "/problems/reauthentication-required");
    let again = json!({ "password": PASSWORD });
    let reauthenticated = call(
        &app,
        Method::POST,
        "/v1/auth/reauthenticate",
        &token,
        Some(again),
    )
    .await;
    assert_eq!(reauthenticated.status, 204, "{:?}", reauthenticated.body);
    assert_eq!(request_phone(&app, &token, NEW_PHONE).await.status, 202);
    let fresh = code_sent(&app, NEW_PHONE_QUERY, "phone_verification").await;
    let done = confirm_phone(&app, &token, &fresh).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
}

/// Enrols an authenticator app with `token`'s session; answers its secret.
async fn enrol_totp(app: &TestApp, token: &str) -> String {
    let started = call(app, Method::POST, "/v1/mfa/totp", token, None).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let confirm = format!(
        "/v1/mfa/totp/{}/confirm",
        started.body["factor_id"].as_str().unwrap()
    );
    let body = json!({ "code": totp_code(&secret, 0) });
    let done = call(app, Method::POST, &confirm, token, Some(body)).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    secret
}

async fn an_email_change_needs_a_fresh_second_factor_and_tells_the_old_address(backend: Backend) {
    let app = spawn(backend).await;
    // This session logged in with the password only, before the factor existed.
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;
    let secret = enrol_totp(&app, &token).await;
    let new = "ada.moved@example.com";

    request_email(&app, &token, new)
        .await
        .assert_problem(403, "/problems/step-up-required");
    request_phone(&app, &token, NEW_PHONE)
        .await
        .assert_problem(403, "/problems/step-up-required");
    assert!(app.mailbox(new).await.is_empty());

    let body = json!({ "method": "totp", "code": totp_code(&secret, 1) });
    let stepped = call(
        &app,
        Method::POST,
        "/v1/auth/mfa/step-up",
        &token,
        Some(body),
    )
    .await;
    assert_eq!(stepped.status, 204, "{:?}", stepped.body);

    let invalid = request_email(&app, &token, "not an address").await;
    invalid.assert_problem(422, "/problems/validation");
    assert_eq!(invalid.violation_codes(), ["email.invalid"]);
    let same = request_email(&app, &token, &ADA.to_uppercase()).await;
    assert_eq!(same.violation_codes(), ["email.unchanged"]);

    let reply = request_email(&app, &token, " Ada.Moved@Example.com ").await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let code = code_sent(&app, new, "email_change_verification").await;
    assert!(
        app.mailbox(ADA)
            .await
            .iter()
            .all(|m| m["notice"] != "email_changed")
    );
    confirm_email(&app, &token, &other_than(&code))
        .await
        .assert_problem(400, "/problems/invalid-code");
    let done = confirm_email(&app, &token, &code).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["email"], new);

    // The old address is told; the account now answers to the new one.
    let told = app.mailbox(ADA).await;
    assert!(
        told.iter().any(|m| m["notice"] == "email_changed"),
        "{told:?}"
    );
    assert!(
        told.iter()
            .all(|m| m["code"].is_null() || m["notice"] == "email_verification")
    );
    let me = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(me.body["email"], new);
    let login = app
        .post(
            "/v1/auth/login",
            json!({ "email": new, "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(login.body["mfa_required"], true, "{:?}", login.body);

    let events: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.email_changed")
        .collect();
    assert_eq!(events.len(), 1);
    let text = events[0].data.to_string();
    assert!(
        !text.contains("ada.moved") && !text.contains("ada.contact"),
        "{text}"
    );
    assert_eq!(app.audit_count(&id, "user.email_changed").await, 1);
}

async fn an_address_another_customer_has_is_never_revealed(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    app.onboarded_customer(BOB, PASSWORD).await;
    let bob_had = app.mailbox(BOB).await.len();

    let free = request_email(&app, &ada, "ada.free@example.com").await;
    let _ = code_sent(&app, "ada.free@example.com", "email_change_verification").await;
    // A minute later (the resend wait), the same customer asks for Bob's address.
    sqlx::query("UPDATE contact_changes SET sent_at = sent_at - 60")
        .execute(&app.db)
        .await
        .unwrap();
    let taken = request_email(&app, &ada, BOB).await;
    assert_eq!(taken.status, free.status);
    assert_eq!(taken.content_type, free.content_type);
    let keys = |r: &Reply| {
        let mut keys: Vec<String> = r.body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&taken), keys(&free));
    assert_eq!(taken.body["status"], free.body["status"]);

    // Bob hears nothing (not even later); no code exists anywhere to complete the change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mailbox(BOB).await.len(), bob_had);
    for guess in ["000000", "123456"] {
        confirm_email(&app, &ada, guess)
            .await
            .assert_problem(400, "/problems/invalid-code");
    }
    let me = app.get("/v1/users/me", Some(&ada)).await;
    assert_eq!(me.body["email"], ADA);
}

async fn contact_changes_need_a_token_and_stay_with_their_customer(backend: Backend) {
    let app = spawn(backend).await;
    for (method, path, body) in [
        (
            Method::PUT,
            "/v1/users/me/phone",
            json!({ "phone": NEW_PHONE }),
        ),
        (
            Method::POST,
            "/v1/users/me/phone/verify",
            json!({ "code": "123456" }),
        ),
        (
            Method::PUT,
            "/v1/users/me/email",
            json!({ "email": "x@example.com" }),
        ),
        (
            Method::POST,
            "/v1/users/me/email/verify",
            json!({ "code": "123456" }),
        ),
    ] {
        app.request_json(method, path, None, Some(body))
            .await
            .assert_problem(401, "/problems/unauthorized");
    }

    // Bob cannot complete Ada's change with her code: changes belong to whoever asked.
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    assert_eq!(request_phone(&app, &ada, NEW_PHONE).await.status, 202);
    let code = code_sent(&app, NEW_PHONE_QUERY, "phone_verification").await;
    confirm_phone(&app, &bob, &code)
        .await
        .assert_problem(400, "/problems/invalid-code");
    let bob_profile = app.get(PROFILE, Some(&bob)).await;
    assert_eq!(bob_profile.body["phone"], "+447700900123");
    assert_eq!(confirm_phone(&app, &ada, &code).await.status, 200);

    // Unknown fields are refused before anything happens.
    let reply = call(
        &app,
        Method::PUT,
        "/v1/users/me/phone",
        &ada,
        Some(json!({ "phone": NEW_PHONE, "verified": true })),
    )
    .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
}
