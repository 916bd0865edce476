//! KYC results arriving from the KYC service over RabbitMQ, for the check submitted to it, move a
//! customer's verification: the result is recorded, the verification policy decides again, the
//! tier changes and `user.verification_changed` is published.

use reqwest::Method;
use serde_json::json;
use usvc::{config::KindLimits, runtime::ComponentKind};
use usvc_tests::{
    Backend, Spawn, backends, bank::BankServer, signing_key_pem, spawn_with,
    verification::VERIFICATION,
};

use crate::{
    BROKER,
    fixture::{KycService, PASSWORD, check_completed, new_id, open_check, wait_for_result},
};

backends!(
    a_result_from_the_kyc_service_moves_the_tier,
    a_result_the_policy_cannot_weigh_leaves_nothing_granted,
);

async fn a_result_from_the_kyc_service_moves_the_tier(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    // The bank's KYC service takes the check and answers later, on the bus.
    let bank = BankServer::start().await;
    let mut app = kyc
        .app_with(Spawn {
            kyc_url: Some(bank.url()),
            ..Spawn::new(backend)
        })
        .await;
    let (access, user) = app
        .verifiable_customer("broker-verified@example.com", PASSWORD)
        .await;
    app.confirmed_document(&user, "passport", "123456789").await;
    kyc.wait_for_consumer().await;
    assert_eq!(app.verification(&access).await["tier"], 1);
    let asked = app
        .request_json(Method::POST, VERIFICATION, Some(&access), None)
        .await;
    assert!(asked.status < 300, "{:?}", asked.body);
    let check = open_check(&app, &user).await;

    // A reviewer's outcome first, then the approval.
    let review = new_id();
    kyc.publish_json(&check_completed(&review, &user, &check, "manual_review"))
        .await;
    wait_for_result(&app, &user, &review).await;
    let view = app.wait_for_verification(&access, "manual_review").await;
    assert_eq!(view["tier"], 1);
    assert_eq!(view["manual_review"], true);

    let approval = new_id();
    kyc.publish_json(&check_completed(&approval, &user, &check, "approved"))
        .await;
    wait_for_result(&app, &user, &approval).await;
    let view = app.wait_for_verification(&access, "verified").await;
    assert_eq!(view["tier"], 2);

    let changes: Vec<_> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.verification_changed")
        .map(|e| e.data)
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(
        changes[0]["to_status"], "pending",
        "the check was submitted"
    );
    assert_eq!(changes[1]["to_status"], "manual_review");
    assert_eq!(
        changes[2],
        json!({
            "user_id": user,
            "from_tier": 1,
            "to_tier": 2,
            "from_status": "manual_review",
            "to_status": "verified",
            "reasons": ["kyc.approved", "tier.2.granted"],
        })
    );
    app.shut_down().await;
}

/// A rejection arrives while the verification policy cannot decide (here: on the consuming
/// host, whose policy calls all fail, the memory it allows them too small to start). The tier
/// granted before must not outlive it: the customer is held at tier 0 until the policy decides.
async fn a_result_the_policy_cannot_weigh_leaves_nothing_granted(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let bank = BankServer::start().await;
    // The host customers use submits checks; the consuming host shares its database.
    let app = spawn_with(Spawn {
        kyc_url: Some(bank.url()),
        signing_key_pem: Some(signing_key_pem(7)),
        ..Spawn::new(backend)
    })
    .await;
    let mut consumer = kyc
        .app_with(Spawn {
            database_url: Some(app.database_url.clone()),
            signing_key_pem: Some(signing_key_pem(7)),
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
    let (access, user) = app
        .verifiable_customer("broker-held@example.com", PASSWORD)
        .await;
    app.confirmed_document(&user, "passport", "123456789").await;
    kyc.wait_for_consumer().await;
    let asked = app
        .request_json(Method::POST, VERIFICATION, Some(&access), None)
        .await;
    assert!(asked.status < 300, "{:?}", asked.body);
    assert_eq!(asked.body["tier"], 1, "{:?}", asked.body);
    let check = open_check(&app, &user).await;

    let rejection = new_id();
    kyc.publish_json(&check_completed(&rejection, &user, &check, "rejected"))
        .await;
    wait_for_result(&app, &user, &rejection).await;
    let held = |view: &serde_json::Value| {
        view["tier"] == 0
            && view["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["code"] == "kyc.undecided"))
    };
    let mut view = app.verification(&access).await;
    for _ in 0..100 {
        if held(&view) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        view = app.verification(&access).await;
    }
    assert!(held(&view), "{view}");
    assert_eq!(view["status"], "pending", "{view}");
    consumer.shut_down().await;
}
