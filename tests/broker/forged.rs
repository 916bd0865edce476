//! KYC results that anyone able to publish on the exchange could send are refused: unsigned or
//! wrongly signed results, results naming a check this service never submitted for that
//! customer (or one already settled), and results dated in the future or before their check.
//! Each goes to the dead-letter queue with an audit row, and changes nothing.

use std::time::Duration;

use time::OffsetDateTime;
use usvc_tests::{Backend, TestApp, backends};

use crate::{
    BROKER,
    fixture::{
        KycService, PROVIDER, PROVIDER_KEY, check_completed, check_completed_at, customer, new_id,
        results, submitted_check, wait_for_result,
    },
};

backends!(
    a_result_counts_only_for_an_open_check_submitted_for_its_customer,
    a_result_dated_in_the_future_or_before_its_check_is_refused,
    only_a_result_signed_with_its_providers_key_counts,
);

/// The reasons of the `kyc.result_refused` rows about `user_id`, waiting for `n` of them.
async fn refusals(app: &TestApp, user_id: &str, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let reasons: Vec<String> = app
            .audit(user_id)
            .await
            .into_iter()
            .filter(|e| e.event_type == "kyc.result_refused")
            .map(|e| e.data["reason"].as_str().unwrap_or_default().to_owned())
            .collect();
        if reasons.len() >= n {
            return reasons;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} refused results were audited for {user_id}");
}

async fn a_result_counts_only_for_an_open_check_submitted_for_its_customer(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let victim = customer(&app, "victim@example.com").await;
    let attacker = customer(&app, "attacker@example.com").await;
    let victims_check = submitted_check(&app, &victim).await;
    kyc.wait_for_consumer().await;

    // A check id nobody submitted, and another customer's check.
    let invented = check_completed(&new_id(), &attacker, &new_id(), "approved");
    kyc.publish_json(&invented).await;
    let borrowed = check_completed(&new_id(), &attacker, &victims_check, "approved");
    kyc.publish_json(&borrowed).await;
    // The victim's own check, settled by a rejection; an approval after it changes nothing.
    let rejection = new_id();
    kyc.publish_json(&check_completed(
        &rejection,
        &victim,
        &victims_check,
        "rejected",
    ))
    .await;
    let late_approval = check_completed(&new_id(), &victim, &victims_check, "approved");
    kyc.publish_json(&late_approval).await;

    let dead = kyc.dead_letters(3, Duration::from_secs(15)).await;
    assert_eq!(dead.len(), 3, "every forged result was dead-lettered");
    assert!(results(&app, &attacker).await.is_empty());
    let recorded = wait_for_result(&app, &victim, &rejection).await;
    let outcomes: Vec<&str> = recorded.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["rejected"],
        "the settled check took no later outcome"
    );
    assert_eq!(
        refusals(&app, &attacker, 2).await,
        ["unknown_check", "unknown_check"]
    );
    assert_eq!(refusals(&app, &victim, 1).await, ["settled_check"]);
    app.shut_down().await;
}

async fn a_result_dated_in_the_future_or_before_its_check_is_refused(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "timely@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    // A year ahead would outrank every honest result for a year.
    let future = check_completed_at(
        &new_id(),
        &user,
        &check,
        "approved",
        now + time::Duration::days(365),
    );
    kyc.publish_json(&future).await;
    let before = check_completed_at(
        &new_id(),
        &user,
        &check,
        "approved",
        now - time::Duration::days(1),
    );
    kyc.publish_json(&before).await;

    let dead = kyc.dead_letters(2, Duration::from_secs(15)).await;
    assert_eq!(dead.len(), 2, "both were dead-lettered");
    assert_eq!(
        refusals(&app, &user, 2).await,
        ["invalid:occurred_at", "invalid:occurred_at"]
    );
    assert!(results(&app, &user).await.is_empty());

    // A result dated now still counts.
    let honest = new_id();
    kyc.publish_json(&check_completed(&honest, &user, &check, "approved"))
        .await;
    assert_eq!(wait_for_result(&app, &user, &honest).await.len(), 1);
    app.shut_down().await;
}

async fn only_a_result_signed_with_its_providers_key_counts(backend: Backend) {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let mut app = kyc.app(backend).await;
    let user = customer(&app, "signed@example.com").await;
    let check = submitted_check(&app, &user).await;
    kyc.wait_for_consumer().await;

    let body = |id: &str| {
        check_completed(id, &user, &check, "approved")
            .to_string()
            .into_bytes()
    };
    kyc.publish_signed(&body(&new_id()), None).await;
    kyc.publish_signed(
        &body(&new_id()),
        Some((PROVIDER, b"a key the attacker made up itself")),
    )
    .await;
    kyc.publish_signed(&body(&new_id()), Some(("another-provider", PROVIDER_KEY)))
        .await;

    let dead = kyc.dead_letters(3, Duration::from_secs(15)).await;
    assert_eq!(
        dead.len(),
        3,
        "every unauthenticated result was dead-lettered"
    );
    let mut reasons = refusals(&app, &user, 3).await;
    reasons.sort();
    assert_eq!(reasons, ["bad_signature", "unknown_provider", "unsigned"]);
    assert!(results(&app, &user).await.is_empty());

    let genuine = new_id();
    kyc.publish(&body(&genuine)).await;
    assert_eq!(wait_for_result(&app, &user, &genuine).await.len(), 1);
    app.shut_down().await;
}
