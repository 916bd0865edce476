//! Identity verification over HTTP: a fresh customer's tier 0 and what they must give, the whole
//! sandbox path (ask, the sandbox's answer recorded as a KYC result, the policy deciding again,
//! `user.verification_changed`, the notice, the history), rejections and manual review driven by
//! sandbox document numbers, asking again, and authorization.

use reqwest::Method;
use serde_json::{Value, json};
use usvc::config::KindLimits;
use usvc::runtime::ComponentKind;
use usvc_tests::{
    Backend, Spawn, TestApp, backends, signing_key_pem, spawn, spawn_with,
    verification::VERIFICATION,
};

backends!(
    a_fresh_customer_is_tier_0_and_told_what_is_required,
    the_sandbox_approves_and_the_tier_rises_with_events_notice_and_history,
    a_document_number_ending_0001_is_rejected,
    a_document_number_ending_0002_goes_to_manual_review,
    asking_again_starts_no_second_check_and_changes_nothing,
    verification_needs_a_token,
    one_customers_verification_never_shows_in_anothers,
    changing_the_verified_identity_drops_the_tier_until_a_new_check_passes,
    an_identity_change_the_policy_cannot_decide_again_leaves_nothing_granted,
);

const PASSWORD: &str = "difference engine 1822";

async fn request(app: &TestApp, access: &str) -> Value {
    let reply = app
        .request_json(Method::POST, VERIFICATION, Some(access), None)
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            v.get("code")
                .unwrap_or(v)
                .as_str()
                .expect("a code")
                .to_owned()
        })
        .collect()
}

async fn events_of(app: &TestApp, event_type: &str) -> Vec<usvc::store::outbox::Event> {
    app.events()
        .await
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

async fn a_fresh_customer_is_tier_0_and_told_what_is_required(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer("fresh@example.com", PASSWORD).await;
    let view = app.verification(&access).await;
    assert_eq!(view["tier"], 0);
    assert_eq!(view["status"], "unverified");
    assert_eq!(
        codes(&view["requirements"]),
        [
            "profile.nationality",
            "profile.address",
            "document.identity",
            "kyc.check",
            "document.proof_of_address",
            "document.selfie",
        ]
    );
    assert_eq!(codes(&view["reasons"]), ["profile.incomplete"]);
    assert_eq!(
        view["limits"],
        json!({"currency": "GBP", "daily_transfer_limit": 0, "balance_cap": 0})
    );
    assert_eq!(view["manual_review"], false);
    // A look stores nothing.
    assert_eq!(view["decided_at"], Value::Null);
    assert_eq!(view["history"], json!([]));

    // Asking with nothing to check stores the decision, but tier and status did not change.
    let asked = request(&app, &access).await;
    assert_eq!(asked["tier"], 0);
    assert_eq!(asked["status"], "unverified");
    assert!(asked["decided_at"].is_string());
    assert_eq!(asked["history"].as_array().unwrap().len(), 1);
    assert!(
        events_of(&app, "user.verification_changed")
            .await
            .is_empty()
    );
}

async fn the_sandbox_approves_and_the_tier_rises_with_events_notice_and_history(backend: Backend) {
    let app = spawn(backend).await;
    let email = "ada@example.com";
    let (access, user) = app.verifiable_customer(email, PASSWORD).await;
    app.confirmed_document(&user, "passport", "123456789").await;

    let asked = request(&app, &access).await;
    assert!(
        asked["status"] == "pending" || asked["status"] == "verified",
        "{asked}"
    );
    let view = app.wait_for_verification(&access, "verified").await;
    assert_eq!(view["tier"], 2);
    assert_eq!(codes(&view["reasons"]), ["kyc.approved", "tier.2.granted"]);
    assert_eq!(
        codes(&view["requirements"]),
        ["document.proof_of_address", "document.selfie"]
    );
    assert_eq!(view["limits"]["daily_transfer_limit"], 500_000);
    let history = view["history"].as_array().unwrap();
    let statuses: Vec<(&Value, &Value)> =
        history.iter().map(|d| (&d["tier"], &d["status"])).collect();
    assert_eq!(
        statuses,
        [
            (&json!(2), &json!("verified")),
            (&json!(1), &json!("pending"))
        ],
        "newest first"
    );
    assert_eq!(
        codes(&history[1]["reasons"]),
        ["tier.1.granted", "kyc.submitted"]
    );

    // The sandbox's answer went the way the KYC service's would: a recorded result.
    let results = events_of(&app, "user.kyc_result_recorded").await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].data["outcome"], "approved");
    let changes = events_of(&app, "user.verification_changed").await;
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0].data,
        json!({
            "user_id": user,
            "from_tier": 0,
            "to_tier": 1,
            "from_status": "unverified",
            "to_status": "pending",
            "reasons": ["tier.1.granted", "kyc.submitted"],
        })
    );
    assert_eq!(changes[1].data["to_tier"], 2);
    assert_eq!(changes[1].data["to_status"], "verified");
    for change in &changes {
        assert_eq!(change.subject, user);
        let text = change.data.to_string();
        assert!(!text.contains("123456789") && !text.contains("Ada") && !text.contains(email));
    }
    assert_eq!(app.audit_count(&user, "user.verification_changed").await, 2);
    let notices = app
        .mailbox(email)
        .await
        .into_iter()
        .filter(|m| m["notice"] == "verification_changed")
        .count();
    assert_eq!(notices, 2, "told at each change");

    // Proof of address and a selfie: asking again reaches tier 3 without another check.
    app.confirmed_document(&user, "proof_of_address", "").await;
    app.confirmed_document(&user, "selfie", "").await;
    let asked = request(&app, &access).await;
    assert_eq!(asked["tier"], 3);
    assert_eq!(asked["status"], "verified");
    assert_eq!(asked["requirements"], json!([]));
    assert_eq!(asked["limits"]["balance_cap"], 25_000_000);
    assert_eq!(asked["history"].as_array().unwrap().len(), 3);
    assert_eq!(events_of(&app, "user.kyc_result_recorded").await.len(), 1);
    assert_eq!(events_of(&app, "user.verification_changed").await.len(), 3);
}

async fn a_document_number_ending_0001_is_rejected(backend: Backend) {
    let app = spawn(backend).await;
    let (access, user) = app
        .verifiable_customer("rejected@example.com", PASSWORD)
        .await;
    app.confirmed_document(&user, "passport", "55550001").await;
    request(&app, &access).await;
    let view = app.wait_for_verification(&access, "rejected").await;
    assert_eq!(view["tier"], 0);
    assert_eq!(codes(&view["reasons"]), ["kyc.rejected"]);
    assert!(
        view["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("document.rejected")
    );
    assert_eq!(codes(&view["requirements"]), ["document.identity"]);
    assert_eq!(view["limits"]["daily_transfer_limit"], 0);
    let last = events_of(&app, "user.verification_changed").await;
    assert_eq!(last.last().unwrap().data["to_status"], "rejected");
    assert_eq!(
        last.last().unwrap().data["reasons"],
        json!(["kyc.rejected"])
    );

    // Asking again does not start another check by itself.
    let again = request(&app, &access).await;
    assert_eq!(again["status"], "rejected");
    assert_eq!(events_of(&app, "user.kyc_result_recorded").await.len(), 1);

    // A new passport, confirmed after the rejection, reopens the case and is checked on its own.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.confirmed_document(&user, "passport", "123456789").await;
    assert_eq!(
        app.verification(&access).await["status"],
        "rejected",
        "until asked"
    );
    request(&app, &access).await;
    let view = app.wait_for_verification(&access, "verified").await;
    assert_eq!(view["tier"], 2);
    assert_eq!(events_of(&app, "user.kyc_result_recorded").await.len(), 2);
}

async fn a_document_number_ending_0002_goes_to_manual_review(backend: Backend) {
    let app = spawn(backend).await;
    let (access, user) = app
        .verifiable_customer("review@example.com", PASSWORD)
        .await;
    app.confirmed_document(&user, "id_card", "X77770002").await;
    request(&app, &access).await;
    let view = app.wait_for_verification(&access, "manual_review").await;
    assert_eq!(view["tier"], 1);
    assert_eq!(view["manual_review"], true);
    assert_eq!(
        codes(&view["reasons"]),
        ["tier.1.granted", "kyc.manual_review"]
    );
    let last = events_of(&app, "user.verification_changed").await;
    assert_eq!(last.last().unwrap().data["to_status"], "manual_review");
}

async fn asking_again_starts_no_second_check_and_changes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let (access, user) = app.verifiable_customer("twice@example.com", PASSWORD).await;
    app.confirmed_document(&user, "passport", "246813579").await;
    // Two requests at once: one check.
    let (first, second) = tokio::join!(request(&app, &access), request(&app, &access));
    assert!(first["tier"] == 1 || first["tier"] == 2, "{first}");
    assert!(second["tier"] == 1 || second["tier"] == 2, "{second}");
    let verified = app.wait_for_verification(&access, "verified").await;
    let decisions = verified["history"].as_array().unwrap().len();
    let again = request(&app, &access).await;
    assert_eq!(again["status"], "verified");
    assert_eq!(
        again["history"].as_array().unwrap().len(),
        decisions,
        "nothing changed, nothing stored"
    );
    let results = events_of(&app, "user.kyc_result_recorded").await;
    assert_eq!(results.len(), 1, "one check: {results:?}");
}

async fn verification_needs_a_token(backend: Backend) {
    let app = spawn(backend).await;
    for method in [Method::GET, Method::POST] {
        app.request_json(method.clone(), VERIFICATION, None, None)
            .await
            .assert_problem(401, "/problems/unauthorized");
        app.request_json(method, VERIFICATION, Some("not.a.token"), None)
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
}

async fn one_customers_verification_never_shows_in_anothers(backend: Backend) {
    let app = spawn(backend).await;
    let (ada, ada_id) = app.verifiable_customer("ada@example.com", PASSWORD).await;
    app.confirmed_document(&ada_id, "passport", "123456789")
        .await;
    request(&app, &ada).await;
    app.wait_for_verification(&ada, "verified").await;

    let bob = app.onboarded_customer("bob@example.com", PASSWORD).await;
    let view = app.verification(&bob).await;
    assert_eq!(view["tier"], 0);
    assert_eq!(view["history"], json!([]));
    let asked = request(&app, &bob).await;
    assert_eq!(asked["tier"], 0);
    assert_eq!(asked["history"].as_array().unwrap().len(), 1);
}

async fn patch_profile(
    app: &TestApp,
    access: &str,
    version: &str,
    body: Value,
) -> usvc_tests::Reply {
    let request = app
        .http
        .patch(app.url("/v1/users/me/profile"))
        .bearer_auth(access)
        .header("if-match", version)
        .json(&body);
    usvc_tests::Reply::read(request.send().await.expect("request")).await
}

/// Someone holding the session renames the customer (profile version 1).
async fn rename(app: &TestApp, access: &str) -> usvc_tests::Reply {
    let body = json!({"legal_name": "Mallory Impostor"});
    patch_profile(app, access, "\"1\"", body).await
}

/// The tiers of the last `user.verification_changed` event: (from, to).
async fn last_tier_change(app: &TestApp) -> (Option<i64>, Option<i64>) {
    let changes = events_of(app, "user.verification_changed").await;
    let last = &changes.last().expect("an event").data;
    (last["from_tier"].as_i64(), last["to_tier"].as_i64())
}

async fn changing_the_verified_identity_drops_the_tier_until_a_new_check_passes(backend: Backend) {
    let app = spawn(backend).await;
    let (access, user) = app
        .verifiable_customer("renamed@example.com", PASSWORD)
        .await;
    app.confirmed_document(&user, "passport", "123456789").await;
    request(&app, &access).await;
    assert_eq!(
        app.wait_for_verification(&access, "verified").await["tier"],
        2
    );

    // Someone holding the session renames the verified customer.
    let renamed = rename(&app, &access).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let view = app.verification(&access).await;
    assert_eq!(view["tier"], 1, "{view}");
    assert!(
        codes(&view["reasons"]).contains(&"kyc.identity_changed".to_owned()),
        "{view}"
    );
    assert!(
        codes(&view["requirements"]).contains(&"kyc.check".to_owned()),
        "{view}"
    );
    assert_eq!(last_tier_change(&app).await, (Some(2), Some(1)));
    assert!(app.audit_count(&user, "user.verification_changed").await >= 3);

    // A new check of the identity as it is now restores the tier.
    request(&app, &access).await;
    assert_eq!(
        app.wait_for_verification(&access, "verified").await["tier"],
        2
    );
}

/// The verification policy cannot decide again after a rename (here: on a host whose policy
/// calls all fail, the memory it allows them too small to start). The tier granted to the old identity must not survive that: the
/// customer is held at tier 0 until a decision succeeds.
async fn an_identity_change_the_policy_cannot_decide_again_leaves_nothing_granted(
    backend: Backend,
) {
    let app = spawn_with(Spawn {
        signing_key_pem: Some(signing_key_pem(7)),
        ..Spawn::new(backend)
    })
    .await;
    let broken = spawn_with(Spawn {
        signing_key_pem: Some(signing_key_pem(7)),
        database_url: Some(app.database_url.clone()),
        kind_limits: vec![(
            ComponentKind::Verification,
            KindLimits {
                memory_bytes: Some(4096),
                ..KindLimits::default()
            },
        )],
        ..Spawn::new(backend)
    })
    .await;
    let (access, _) = app.verifiable_customer("held@example.com", PASSWORD).await;
    let user = app.user_id("held@example.com").await;
    app.confirmed_document(&user, "passport", "123456789").await;
    request(&app, &access).await;
    assert_eq!(
        app.wait_for_verification(&access, "verified").await["tier"],
        2
    );

    let renamed = rename(&broken, &access).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let view = app.verification(&access).await;
    assert_eq!(view["tier"], 0, "{view}");
    assert_eq!(view["status"], "pending", "{view}");
    assert!(
        codes(&view["reasons"]).contains(&"kyc.undecided".to_owned()),
        "{view}"
    );
    assert_eq!(last_tier_change(&app).await, (Some(2), Some(0)));

    // Once the policy decides again, it decides for the identity as it is now.
    let decided = request(&app, &access).await;
    assert_eq!(decided["tier"], 1, "{decided}");
}
