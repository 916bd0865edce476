//! `check-password`: a new password for an existing customer (change or reset) meets the same
//! policy as at registration, and judging it writes nothing.

use usvc_testkit::TestKit;

fn codes(violations: Vec<usvc_testkit::Violation>) -> Vec<String> {
    violations.into_iter().map(|v| v.code).collect()
}

#[tokio::test]
async fn a_strong_password_is_acceptable() {
    let kit = TestKit::onboarding().await;
    assert!(
        kit.check_password("ada@example.com", "a much better passphrase")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_registration_rules_apply() {
    let kit = TestKit::onboarding().await;
    let email = "ada.lovelace@example.com";
    assert_eq!(
        codes(kit.check_password(email, "short").await),
        ["password.too_short"]
    );
    assert_eq!(
        codes(kit.check_password(email, &"x".repeat(129)).await),
        ["password.too_long"]
    );
    assert_eq!(
        codes(kit.check_password(email, "Password1234").await),
        ["password.common"]
    );
    assert_eq!(
        codes(kit.check_password(email, "my ADA.LOVELACE secret").await),
        ["password.contains_email"]
    );
}

#[tokio::test]
async fn every_violation_names_the_password_field() {
    let kit = TestKit::onboarding().await;
    let violations = kit.check_password("ada@example.com", "short").await;
    assert!(!violations.is_empty());
    assert!(
        violations
            .iter()
            .all(|v| v.field == "password" && !v.message.is_empty())
    );
}

#[tokio::test]
async fn judging_a_password_writes_nothing() {
    let kit = TestKit::onboarding().await;
    kit.check_password("ada@example.com", "a much better passphrase")
        .await;
    kit.check_password("ada@example.com", "short").await;
    assert!(kit.users().await.is_empty());
    assert!(kit.events().await.is_empty());
    assert!(kit.notices().is_empty());
}
