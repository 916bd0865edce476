//! Second factors over HTTP: TOTP enrolment with real codes (computed from the secret as an
//! authenticator app does), the two-step login, recovery codes, step-up before sensitive
//! actions, and a policy replaced in the components directory taking effect without a restart.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use usvc_tests::{Backend, Reply, Spawn, TestApp, backends, spawn, spawn_with, totp_code};

const PASSWORD: &str = "a long passphrase";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.request_json(method, path, Some(token), body).await
}

/// Enrols an authenticator for the customer behind `access`; returns (secret, recovery codes).
/// The current step's code is spent by the confirmation.
async fn enrol(app: &TestApp, access: &str) -> (String, Vec<String>) {
    let started = call(app, Method::POST, "/v1/mfa/totp", access, None).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let factor = started.body["factor_id"].as_str().unwrap().to_owned();
    let confirm = format!("/v1/mfa/totp/{factor}/confirm");
    let done = call(
        app,
        Method::POST,
        &confirm,
        access,
        Some(json!({ "code": totp_code(&secret, 0) })),
    )
    .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let codes = done.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

async fn login(app: &TestApp, email: &str, device_token: Option<&str>) -> Reply {
    app.post(
        "/v1/auth/login",
        json!({ "email": email, "password": PASSWORD, "device_token": device_token }),
    )
    .await
}

async fn verify(app: &TestApp, challenge: &str, method: &str, code: &str) -> Reply {
    app.post(
        "/v1/auth/mfa/verify",
        json!({ "challenge_token": challenge, "method": method, "code": code }),
    )
    .await
}

fn amr(access: &str) -> Value {
    usvc_tests::claims_of(access)["amr"].clone()
}

async fn enrolment_then_two_step_login(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer("totp@example.com", PASSWORD).await;

    let started = call(&app, Method::POST, "/v1/mfa/totp", &access, None).await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let factor = started.body["factor_id"].as_str().unwrap().to_owned();
    let uri = started.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/usvc:totp%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=usvc"));
    assert!(started.body["qr_svg"].as_str().unwrap().contains("<svg"));

    // A wrong first code: refused with its rule, nothing active.
    let confirm = format!("/v1/mfa/totp/{factor}/confirm");
    let wrong = call(
        &app,
        Method::POST,
        &confirm,
        &access,
        Some(json!({ "code": "000000" })),
    )
    .await;
    if totp_code(&secret, 0) != "000000" {
        wrong.assert_problem(422, "/problems/validation");
        assert_eq!(wrong.violation_codes(), ["mfa.invalid_code"]);
    }
    let listed = call(&app, Method::GET, "/v1/mfa/factors", &access, None).await;
    assert_eq!(listed.body["factors"][0]["active"], false);
    assert_eq!(
        login(&app, "totp@example.com", None)
            .await
            .body
            .get("mfa_required"),
        None
    );

    let done = call(
        &app,
        Method::POST,
        &confirm,
        &access,
        Some(json!({ "code": totp_code(&secret, 0) })),
    )
    .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["recovery_codes"].as_array().unwrap().len(), 10);
    let listed = call(&app, Method::GET, "/v1/mfa/factors", &access, None).await;
    assert_eq!(listed.body["factors"][0]["active"], true);
    assert_eq!(listed.body["recovery_codes_left"], 10);
    // The secret is never shown again, nor stored in the clear.
    assert!(!listed.body.to_string().contains(&secret));
    let mut conn = app.db.acquire().await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT secret FROM mfa_factors")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(!stored.contains(&secret));

    // The password alone now gives a challenge, not tokens.
    let first = login(&app, "totp@example.com", None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["mfa_required"], true);
    assert_eq!(first.body["methods"], json!(["totp", "recovery_code"]));
    assert!(first.body.get("access_token").is_none());
    let challenge = first.body["challenge_token"].as_str().unwrap().to_owned();

    let wrong = verify(
        &app,
        &challenge,
        "totp",
        &format!(
            "{:06}",
            (totp_code(&secret, 1).parse::<u32>().unwrap() + 1) % 1_000_000
        ),
    )
    .await;
    wrong.assert_problem(400, "/problems/mfa-code-rejected");
    // The confirmation spent this step's code: a replay is refused too.
    let replay = verify(&app, &challenge, "totp", &totp_code(&secret, 0)).await;
    replay.assert_problem(400, "/problems/mfa-code-rejected");
    // The next step's code (a phone clock slightly ahead) completes the login.
    let tokens = verify(&app, &challenge, "totp", &totp_code(&secret, 1)).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let access2 = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(amr(access2), json!(["pwd", "mfa", "otp"]));
    assert_eq!(app.get("/v1/users/me", Some(access2)).await.status, 200);
    // A challenge opens one session only.
    verify(&app, &challenge, "totp", &totp_code(&secret, 1))
        .await
        .assert_problem(401, "/problems/unauthorized");

    let user = app.user_id("totp@example.com").await;
    let trail: Vec<String> = app
        .audit(&user)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    for expected in [
        "mfa.enrolment_started",
        "mfa.factor_enrolled",
        "auth.second_factor_required",
        "mfa.challenge_failed",
        "mfa.challenge_passed",
    ] {
        assert!(
            trail.iter().any(|t| t == expected),
            "{expected} in {trail:?}"
        );
    }
    // No event carries the secret or a code.
    for event in app.events().await {
        assert!(!event.data.to_string().contains(&secret));
    }
}

async fn recovery_codes_log_in_once_each(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer("rec@example.com", PASSWORD).await;
    let (_, codes) = enrol(&app, &access).await;
    let challenge = login(&app, "rec@example.com", None).await.body["challenge_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = verify(&app, &challenge, "recovery_code", &codes[0]).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    assert_eq!(
        amr(tokens.body["access_token"].as_str().unwrap()),
        json!(["pwd", "mfa", "kba"])
    );

    let challenge = login(&app, "rec@example.com", None).await.body["challenge_token"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(&app, &challenge, "recovery_code", &codes[0])
        .await
        .assert_problem(400, "/problems/mfa-code-rejected");
    // A method the challenge does not offer, and a malformed body.
    let bad = verify(&app, &challenge, "sms", "123456").await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    // Five wrong codes kill the challenge: even a good code no longer works on it.
    for _ in 0..4 {
        verify(&app, &challenge, "recovery_code", "AAAAA-AAAAA")
            .await
            .assert_problem(400, "/problems/mfa-code-rejected");
    }
    verify(&app, &challenge, "recovery_code", &codes[1])
        .await
        .assert_problem(401, "/problems/unauthorized");
    let listed = call(&app, Method::GET, "/v1/mfa/factors", &access, None).await;
    assert_eq!(listed.body["recovery_codes_left"], 9);
}

async fn sensitive_actions_need_a_fresh_second_factor(backend: Backend) {
    let app = spawn(backend).await;
    // This session logged in with the password only, before the factor existed.
    let access = app.onboarded_customer("step@example.com", PASSWORD).await;
    let (secret, codes) = enrol(&app, &access).await;
    let change =
        json!({ "current_password": PASSWORD, "new_password": "an even longer passphrase" });

    let refused = call(
        &app,
        Method::POST,
        "/v1/users/me/password",
        &access,
        Some(change.clone()),
    )
    .await;
    refused.assert_problem(403, "/problems/step-up-required");
    let refused = call(&app, Method::POST, "/v1/mfa/recovery-codes", &access, None).await;
    refused.assert_problem(403, "/problems/step-up-required");

    let wrong = call(
        &app,
        Method::POST,
        "/v1/auth/mfa/step-up",
        &access,
        Some(json!({ "method": "recovery_code", "code": "ZZZZZ-ZZZZZ" })),
    )
    .await;
    wrong.assert_problem(400, "/problems/mfa-code-rejected");
    let stepped = call(
        &app,
        Method::POST,
        "/v1/auth/mfa/step-up",
        &access,
        Some(json!({ "method": "totp", "code": totp_code(&secret, 1) })),
    )
    .await;
    assert_eq!(stepped.status, 204, "{:?}", stepped.body);

    // Fresh now: new recovery codes replace the old ones, the password changes.
    let renewed = call(&app, Method::POST, "/v1/mfa/recovery-codes", &access, None).await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    assert_eq!(renewed.body["recovery_codes"].as_array().unwrap().len(), 10);
    let changed = call(
        &app,
        Method::POST,
        "/v1/users/me/password",
        &access,
        Some(change),
    )
    .await;
    assert_eq!(changed.status, 204, "{:?}", changed.body);

    // The old set is dead.
    let challenge = app
        .post(
            "/v1/auth/login",
            json!({ "email": "step@example.com", "password": "an even longer passphrase" }),
        )
        .await
        .body["challenge_token"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(&app, &challenge, "recovery_code", &codes[2])
        .await
        .assert_problem(400, "/problems/mfa-code-rejected");

    // Removing the factor (fresh session): logins are password-only again.
    let factor = call(&app, Method::GET, "/v1/mfa/factors", &access, None)
        .await
        .body["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = call(
        &app,
        Method::DELETE,
        &format!("/v1/mfa/factors/{factor}"),
        &access,
        None,
    )
    .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    let plain = app
        .post(
            "/v1/auth/login",
            json!({ "email": "step@example.com", "password": "an even longer passphrase" }),
        )
        .await;
    assert!(plain.body["access_token"].is_string(), "{:?}", plain.body);
}

async fn another_customers_factor_is_not_found(backend: Backend) {
    let app = spawn(backend).await;
    let mine = app.onboarded_customer("mine@example.com", PASSWORD).await;
    let theirs = app.onboarded_customer("theirs@example.com", PASSWORD).await;
    let started = call(&app, Method::POST, "/v1/mfa/totp", &theirs, None).await;
    let factor = started.body["factor_id"].as_str().unwrap();
    let secret = started.body["secret"].as_str().unwrap();
    let confirm = format!("/v1/mfa/totp/{factor}/confirm");
    let refused = call(
        &app,
        Method::POST,
        &confirm,
        &mine,
        Some(json!({ "code": totp_code(secret, 0) })),
    )
    .await;
    refused.assert_problem(422, "/problems/validation");
    assert_eq!(refused.violation_codes(), ["mfa.unknown_factor"]);
    let removed = call(
        &app,
        Method::DELETE,
        &format!("/v1/mfa/factors/{factor}"),
        &mine,
        None,
    )
    .await;
    removed.assert_problem(404, "/problems/not-found");
    for (method, path) in [
        (Method::GET, "/v1/mfa/factors"),
        (Method::POST, "/v1/mfa/totp"),
        (Method::POST, "/v1/mfa/recovery-codes"),
        (Method::POST, "/v1/auth/mfa/step-up"),
    ] {
        let reply = app.request_json(method, path, None, None).await;
        reply.assert_problem(401, "/problems/unauthorized");
    }
}

async fn staff_must_enrol_a_second_factor_to_log_in(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer("staff@example.com", PASSWORD).await;
    let user = app.user_id("staff@example.com").await;
    let mut conn = app.db.acquire().await.unwrap();
    usvc::store::users::grant_role(&mut conn, &user, "support", now())
        .await
        .unwrap();
    drop(conn);
    let refused = login(&app, "staff@example.com", None).await;
    refused.assert_problem(403, "/problems/second-factor-enrolment-required");
    assert!(
        app.audit(&user)
            .await
            .iter()
            .any(|e| e.event_type == "auth.login_failed"
                && e.data["reason"] == "second_factor_not_enrolled")
    );
    // The session from before the role still works, and can enrol one.
    let (secret, _) = enrol(&app, &access).await;
    let challenged = login(&app, "staff@example.com", None).await;
    let challenge = challenged.body["challenge_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = verify(&app, &challenge, "totp", &totp_code(&secret, 1)).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
}

/// The security team replaces the policy with "never ask on a known device": the next login
/// from a known device is not challenged, with no restart.
async fn a_replaced_policy_applies_to_the_next_login(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("usvc-mfa-swap-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let built = usvc_tests::components_dir();
    for name in ["onboarding.wasm", "mfa.wasm"] {
        std::fs::copy(built.join(name), dir.join(name)).unwrap();
    }
    let app = spawn_with(Spawn {
        components_dir: dir.clone(),
        ..Spawn::new(backend)
    })
    .await;
    let first = app.onboarded_customer("swap@example.com", PASSWORD).await;
    let (secret, _) = enrol(&app, &first).await;
    // One login through the challenge gives this device its token.
    let challenged = login(&app, "swap@example.com", None).await;
    let challenge = challenged.body["challenge_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = verify(&app, &challenge, "totp", &totp_code(&secret, 1)).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let device = tokens.body["device_token"].as_str().unwrap().to_owned();
    // The default policy asks again, even on that known device.
    let again = login(&app, "swap@example.com", Some(&device)).await;
    assert_eq!(again.body["mfa_required"], true, "{:?}", again.body);
    let before = app.get("/readyz", None).await.body;

    // Swap the file atomically, as a deployment tool would.
    let staged = dir.join("mfa.wasm.new");
    std::fs::copy(built.join("mfa-known-devices.wasm"), &staged).unwrap();
    std::fs::rename(&staged, dir.join("mfa.wasm")).unwrap();
    let mut swapped = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if app.get("/readyz", None).await.body != before {
            swapped = true;
            break;
        }
    }
    assert!(swapped, "the new component became active");

    // The same process, the next login: the known device passes on the password...
    let relaxed = login(&app, "swap@example.com", Some(&device)).await;
    assert_eq!(relaxed.status, 200, "{:?}", relaxed.body);
    let access = relaxed.body["access_token"]
        .as_str()
        .expect("tokens, no challenge");
    assert_eq!(amr(access), json!(["pwd"]));
    // ...and a new device is still challenged.
    let unknown = login(&app, "swap@example.com", None).await;
    assert_eq!(unknown.body["mfa_required"], true, "{:?}", unknown.body);
    std::fs::remove_dir_all(&dir).ok();
}

/// The latest second-factor code sent to `to`, from the development mailbox, with the channel.
async fn sent_code(app: &TestApp, to: &str) -> (String, String) {
    let message = app
        .mailbox(to)
        .await
        .into_iter()
        .rev()
        .find(|m| m["notice"] == "second_factor_code")
        .unwrap_or_else(|| panic!("no code was sent to {to}"));
    (
        message["code"].as_str().unwrap().to_owned(),
        message["channel"].as_str().unwrap().to_owned(),
    )
}

async fn email_codes_enrol_log_in_and_step_up(backend: Backend) {
    // Codes may be resent after two seconds here, so the journey need not wait 30 (and two
    // requests within a second are always within the interval, whole seconds being compared).
    let app = spawn_with(Spawn {
        component_settings: vec![("mfa", "resend-interval-secs", "2")],
        ..Spawn::new(backend)
    })
    .await;
    let email = "email-otp@example.com";
    let access = app.onboarded_customer(email, PASSWORD).await;

    let bad = call(
        &app,
        Method::POST,
        "/v1/mfa/otp",
        &access,
        Some(json!({ "channel": "pigeon" })),
    )
    .await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);

    let started = call(
        &app,
        Method::POST,
        "/v1/mfa/otp",
        &access,
        Some(json!({ "channel": "email" })),
    )
    .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let factor = started.body["factor_id"].as_str().unwrap().to_owned();
    let (code, channel) = sent_code(&app, email).await;
    assert_eq!(channel, "email");
    let confirm = format!("/v1/mfa/otp/{factor}/confirm");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let rejected = call(
        &app,
        Method::POST,
        &confirm,
        &access,
        Some(json!({ "code": wrong })),
    )
    .await;
    assert_eq!(rejected.status, 422, "{:?}", rejected.body);
    let done = call(
        &app,
        Method::POST,
        &confirm,
        &access,
        Some(json!({ "code": code })),
    )
    .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["recovery_codes"].as_array().unwrap().len(), 10);

    // Login: the password step offers the email code; the client asks for one to be sent.
    let first = login(&app, email, None).await;
    assert_eq!(first.body["mfa_required"], true, "{:?}", first.body);
    assert_eq!(
        first.body["methods"],
        json!(["email_code", "recovery_code"])
    );
    let challenge = first.body["challenge_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let send = |method: &'static str| {
        let challenge = challenge.clone();
        let app = &app;
        async move {
            app.post(
                "/v1/auth/mfa/send",
                json!({ "challenge_token": challenge, "method": method }),
            )
            .await
        }
    };
    send("totp")
        .await
        .assert_problem(400, "/problems/mfa-method-not-allowed");
    assert_eq!(send("email_code").await.status, 202);
    let throttled = send("email_code").await;
    throttled.assert_problem(429, "/problems/too-many-requests");
    assert!(throttled.retry_after.is_some_and(|secs| secs >= 1));
    let (code, _) = sent_code(&app, email).await;
    let tokens = verify(&app, &challenge, "email_code", &code).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let session = tokens.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(amr(&session), json!(["pwd", "mfa", "otp"]));

    // Step-up on the first session (password only): ask for a code, then give it.
    let refused = call(&app, Method::POST, "/v1/mfa/recovery-codes", &access, None).await;
    refused.assert_problem(403, "/problems/step-up-required");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let sent = call(
        &app,
        Method::POST,
        "/v1/mfa/codes",
        &access,
        Some(json!({ "method": "email_code" })),
    )
    .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let (code, _) = sent_code(&app, email).await;
    let stepped = call(
        &app,
        Method::POST,
        "/v1/auth/mfa/step-up",
        &access,
        Some(json!({ "method": "email_code", "code": code })),
    )
    .await;
    assert_eq!(stepped.status, 204, "{:?}", stepped.body);
    let renewed = call(&app, Method::POST, "/v1/mfa/recovery-codes", &access, None).await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);

    // Without an SMS factor, nothing is sent by SMS.
    let none = call(
        &app,
        Method::POST,
        "/v1/mfa/codes",
        &access,
        Some(json!({ "method": "sms_code" })),
    )
    .await;
    none.assert_problem(400, "/problems/mfa-method-unavailable");
    let anonymous = app
        .request_json(
            Method::POST,
            "/v1/mfa/codes",
            None,
            Some(json!({ "method": "email_code" })),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

/// Under the relaxed policy a known device passes on the password, until wrong passwords raise
/// the login's risk score to the policy's threshold.
async fn wrong_passwords_raise_the_risk_of_the_next_login(backend: Backend) {
    let app = spawn_with(Spawn {
        component_settings: vec![("mfa", "ask-on-known-device", "false")],
        limits: usvc::config::Limits {
            failures_before_delay: 100,
            ..usvc::config::Limits::default()
        },
        ..Spawn::new(backend)
    })
    .await;
    let email = "risk@example.com";
    let access = app.onboarded_customer(email, PASSWORD).await;
    let (secret, _) = enrol(&app, &access).await;
    let challenge = login(&app, email, None).await.body["challenge_token"]
        .as_str()
        .expect("a new device is challenged")
        .to_owned();
    let tokens = verify(&app, &challenge, "totp", &totp_code(&secret, 1)).await;
    let device = tokens.body["device_token"].as_str().unwrap().to_owned();
    let known = login(&app, email, Some(&device)).await;
    assert!(known.body["access_token"].is_string(), "{:?}", known.body);

    let wrong = json!({ "email": email, "password": "not the passphrase", "device_token": device });
    for _ in 0..3 {
        assert_eq!(app.post("/v1/auth/login", wrong.clone()).await.status, 401);
    }
    // Three wrong passwords (risk 60) stay under the threshold of 70...
    let still = login(&app, email, Some(&device)).await;
    assert!(still.body["access_token"].is_string(), "{:?}", still.body);
    // ...and a good login clears them: four more reach 80.
    for _ in 0..4 {
        assert_eq!(app.post("/v1/auth/login", wrong.clone()).await.status, 401);
    }
    let risky = login(&app, email, Some(&device)).await;
    assert_eq!(risky.body["mfa_required"], true, "{:?}", risky.body);
}

backends!(
    wrong_passwords_raise_the_risk_of_the_next_login,
    email_codes_enrol_log_in_and_step_up,
    enrolment_then_two_step_login,
    recovery_codes_log_in_once_each,
    sensitive_actions_need_a_fresh_second_factor,
    another_customers_factor_is_not_found,
    staff_must_enrol_a_second_factor_to_log_in,
    a_replaced_policy_applies_to_the_next_login,
    one_code_sent_twice_at_once_opens_one_door,
);

/// Sends `attempts` copies of one request at once; their statuses.
async fn at_once(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
    attempts: usize,
) -> Vec<u16> {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..attempts {
        let mut request = app.http.post(app.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        requests.spawn(async move { request.send().await.expect("request").status().as_u16() });
    }
    requests.join_all().await
}

async fn one_code_sent_twice_at_once_opens_one_door(backend: Backend) {
    let app = spawn(backend).await;
    let email = "racer@example.com";
    let access = app.onboarded_customer(email, PASSWORD).await;
    let (secret, _) = enrol(&app, &access).await;

    // One login challenge and one TOTP code, sent four times at once (fewer than the wrong
    // codes a challenge survives): one session.
    let challenge = login(&app, email, None).await.body["challenge_token"]
        .as_str()
        .expect("a challenge")
        .to_owned();
    let body =
        json!({ "challenge_token": challenge, "method": "totp", "code": totp_code(&secret, 1) });
    let statuses = at_once(&app, "/v1/auth/mfa/verify", None, body, 4).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one session from one code: {statuses:?}"
    );

    // One TOTP code for a step-up, eight times at once: one step-up.
    // (Another customer: the login's losers count as wrong codes against the first.)
    let other = app.onboarded_customer("second@example.com", PASSWORD).await;
    let (secret, _) = enrol(&app, &other).await;
    let body = json!({ "method": "totp", "code": totp_code(&secret, 1) });
    let statuses = at_once(&app, "/v1/auth/mfa/step-up", Some(&other), body, 8).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "one step-up from one code: {statuses:?}"
    );
}
