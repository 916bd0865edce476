//! One home for each rule: a phone number, a country code and an email address get the same
//! answer and the same code at registration, at a profile or contact change and over gRPC,
//! because all of them parse through `usvc-types`; and what a change may carry is decided by the
//! onboarding component, by the rules registration keeps (no disposable address, an adult's
//! date of birth).

use reqwest::Method;
use serde_json::{Value, json};
use usvc_tests::{Backend, TestApp, application, backends, spawn};

backends!(
    a_phone_number_is_read_alike_at_registration_and_at_a_change,
    a_country_code_is_read_alike_at_registration_and_at_a_change,
    a_change_keeps_the_rules_of_registration,
);

const PASSWORD: &str = "difference engine 1822";

async fn register(app: &TestApp, email: &str, changes: Value) -> usvc_tests::Reply {
    let mut body = application(email, PASSWORD);
    for (field, value) in changes.as_object().expect("an object") {
        body[field] = value.clone();
    }
    app.post("/v1/auth/register", body).await
}

async fn a_phone_number_is_read_alike_at_registration_and_at_a_change(backend: Backend) {
    let app = spawn(backend).await;

    // Spaces people type are dropped at registration as they are at a change (the onboarding
    // component refused them before).
    let reply = register(
        &app,
        "spaced@example.com",
        json!({"phone": "+44 7700 900123"}),
    )
    .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let user = app
        .users()
        .await
        .into_iter()
        .find(|u| u.email == "spaced@example.com")
        .expect("registered");
    assert_eq!(user.phone.as_deref(), Some("+447700900123"));

    // Too short for a subscriber number: refused at registration (it was accepted) and at a
    // change, with one code.
    let reply = register(&app, "short@example.com", json!({"phone": "+12"})).await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(reply.violation_codes(), ["phone.invalid"]);

    let token = app
        .onboarded_customer("changer@example.com", PASSWORD)
        .await;
    for number in ["+12", "+123456"] {
        let reply = app
            .request_json(
                Method::PUT,
                "/v1/users/me/phone",
                Some(&token),
                Some(json!({ "phone": number })),
            )
            .await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), ["phone.invalid"], "{number}");
    }
}

async fn a_country_code_is_read_alike_at_registration_and_at_a_change(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer("ada@example.com", PASSWORD).await;

    let request = app
        .http
        .patch(app.url("/v1/users/me/profile"))
        .bearer_auth(&token)
        .header("if-match", profile_etag(&app, &token).await)
        .json(&json!({"nationality": " gb"}));
    let reply = usvc_tests::Reply::read(request.send().await.expect("request")).await;
    // Trimmed and upper-cased, as registration treats a country of residence (the host
    // refused lower case before).
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["nationality"], "GB");

    let reply = register(
        &app,
        "bob@example.com",
        json!({"country_of_residence": " gb"}),
    )
    .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn profile_etag(app: &TestApp, token: &str) -> String {
    let response = app
        .http
        .get(app.url("/v1/users/me/profile"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    response
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

async fn a_change_keeps_the_rules_of_registration(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer("ada@example.com", PASSWORD).await;

    // A throwaway address cannot open an account, nor become the address of one (the host's
    // own check let it through before).
    let reply = register(&app, "bob@mailinator.com", json!({})).await;
    assert_eq!(reply.violation_codes(), ["email.disposable"]);
    let reply = app
        .request_json(
            Method::PUT,
            "/v1/users/me/email",
            Some(&token),
            Some(json!({"email": "ada@mailinator.com"})),
        )
        .await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(reply.violation_codes(), ["email.disposable"]);

    // A corrected date of birth must still be an adult's (it was not checked before).
    let request = app
        .http
        .patch(app.url("/v1/users/me/profile"))
        .bearer_auth(&token)
        .header("if-match", profile_etag(&app, &token).await)
        .json(&json!({"date_of_birth": "2015-01-01"}));
    let reply = usvc_tests::Reply::read(request.send().await.expect("request")).await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(reply.violation_codes(), ["date_of_birth.underage"]);
    let profile = app.get("/v1/users/me/profile", Some(&token)).await;
    assert_eq!(profile.body["date_of_birth"], "1990-12-10");
}
