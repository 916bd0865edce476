//! Sandbox bounds: what a component call may leave outside its unit of work. A call's log lines
//! beyond its bound are dropped and counted; `kv` writes beyond a customer's budget stop the call,
//! rolled back, and are counted, while other customers go on.

use reqwest::Method;
use serde_json::json;
use usvc::config::SandboxBounds;
use usvc_tests::{Backend, Spawn, TestApp, application, backends, built, spawn_with, totp_code};

backends!(
    a_call_writing_more_log_lines_than_its_bound_keeps_only_the_bound,
    a_customer_past_their_kv_budget_is_refused_and_others_are_not,
);

const PASSWORD: &str = "ada byron king 1815";

async fn a_call_writing_more_log_lines_than_its_bound_keeps_only_the_bound(backend: Backend) {
    let app = spawn_with(Spawn {
        sandbox: SandboxBounds {
            log_lines_per_call: 20,
            ..SandboxBounds::default()
        },
        ..Spawn::new(backend)
    })
    .await;
    let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
    let admin = app.make_admin("boss@example.com", PASSWORD, &access).await;
    let deployed = app
        .upload_component(
            Method::POST,
            "/v1/admin/components?kind=onboarding",
            &admin,
            built("chaos-onboarding.wasm"),
        )
        .await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);

    let dropped = || {
        app.metric(
            "usvc_component_log_lines_dropped_total",
            &["kind=\"onboarding\""],
        )
    };
    let exceeded = || {
        app.metric(
            "usvc_component_limit_exceeded_total",
            &["kind=\"onboarding\"", "limit=\"log-lines\""],
        )
    };
    let (dropped_before, exceeded_before) = (dropped().await, exceeded().await);
    let mut flood = application("flood@example.com", PASSWORD);
    flood["legal_name"] = json!("log-flood");
    let registered = app.post("/v1/auth/register", flood).await;
    // The flood is contained: the registration itself goes through.
    assert_eq!(registered.status, 202, "{:?}", registered.body);
    assert!(
        app.users()
            .await
            .iter()
            .any(|u| u.email == "flood@example.com")
    );
    // 500 lines written, 20 kept (another backend's run may add its own drops meanwhile).
    assert!(dropped().await - dropped_before >= 480.0);
    assert!(exceeded().await - exceeded_before >= 1.0);
}

/// A customer who makes the mfa policy write to `kv` without end (wrong codes, one after
/// another) runs out of their budget: the call stops, is rolled back and counted, and the
/// answer is 429. Another customer's second factor works all the same.
async fn a_customer_past_their_kv_budget_is_refused_and_others_are_not(backend: Backend) {
    let app = spawn_with(Spawn {
        sandbox: SandboxBounds {
            kv_keys_per_customer: 16,
            ..SandboxBounds::default()
        },
        // The policy's own limits out of the way, so that only the budget stops the codes.
        component_settings: vec![
            ("mfa", "max-attempts", "1000"),
            ("mfa", "lock-after-failures", "1000"),
        ],
        ..Spawn::new(backend)
    })
    .await;
    customer_with_totp(&app, "hoarder@example.com").await;
    let other = customer_with_totp(&app, "other@example.com").await;
    let exceeded = || {
        app.metric(
            "usvc_component_limit_exceeded_total",
            &["kind=\"mfa\"", "limit=\"kv-keys-per-customer\""],
        )
    };
    let before = exceeded().await;

    let challenge = challenge_for(&app, "hoarder@example.com").await;
    let mut refused = None;
    for attempt in 0..30 {
        let reply = verify(&app, &challenge, "000000").await;
        if reply.status == 429 {
            refused = Some(attempt);
            reply.assert_problem(429, "/problems/too-many-requests");
            break;
        }
        reply.assert_problem(400, "/problems/mfa-code-rejected");
    }
    let refused = refused.expect("the budget stops the wrong codes");
    assert!(refused >= 2, "refused after {refused} wrong codes");
    assert!(exceeded().await - before >= 1.0);
    // Refused, but not recorded as a failed check: the stopped call's writes were rolled back,
    // while every check before it is in the trail.
    let user = app.user_id("hoarder@example.com").await;
    let failures = app
        .audit(&user)
        .await
        .iter()
        .filter(|e| e.event_type == "mfa.challenge_failed")
        .count();
    assert_eq!(failures, refused as usize);

    // Another customer is untouched by the hoarder's budget.
    let challenge = challenge_for(&app, "other@example.com").await;
    // The next step: the code confirming the factor is spent.
    let passed = verify(&app, &challenge, &totp_code(&other, 1)).await;
    assert_eq!(passed.status, 200, "{:?}", passed.body);
}

async fn customer_with_totp(app: &TestApp, email: &str) -> String {
    let access = app.onboarded_customer(email, PASSWORD).await;
    app.enrol_totp(&access).await
}

async fn challenge_for(app: &TestApp, email: &str) -> String {
    let login = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    login.body["challenge_token"]
        .as_str()
        .expect("a second-factor challenge")
        .to_owned()
}

async fn verify(app: &TestApp, challenge: &str, code: &str) -> usvc_tests::Reply {
    app.post(
        "/v1/auth/mfa/verify",
        json!({ "challenge_token": challenge, "method": "totp", "code": code }),
    )
    .await
}
