//! `confirm-email`, as a new customer sees it: the code from the verification email opens the
//! account once, within 30 minutes and 5 wrong guesses, and the answer never reveals whether an
//! address banks here.
//!
//! These load the compiled `onboarding.wasm` (build it first with scripts/build-components.sh).

mod common;

use std::time::Duration;

use common::{TODAY_AT_NOON, register_valid_applicant};
use serde_json::json;
use usvc_testkit::{Confirmation, Notice, OnboardingKit, UserStatus};

const EMAIL: &str = "ada.lovelace@example.com";

/// A code that differs from `code` (codes are issued by the host; their shape is its business).
fn wrong_code(code: &str) -> String {
    let mut wrong: Vec<char> = code.chars().collect();
    wrong[0] = if wrong[0] == '1' { '2' } else { '1' };
    wrong.into_iter().collect()
}

#[tokio::test]
async fn the_emailed_code_confirms_the_address_and_activates_the_account() {
    let kit = OnboardingKit::new().await;
    let (id, code) = register_valid_applicant(&kit).await;

    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::Confirmed
    );

    let users = kit.users().await;
    assert_eq!(users[0].id, id);
    assert_matches!(users[0].status, UserStatus::Active);
}

#[tokio::test]
async fn confirmation_publishes_user_email_verified_without_personal_data() {
    let kit = OnboardingKit::new().await;
    let (id, code) = register_valid_applicant(&kit).await;
    kit.advance(Duration::from_secs(60));

    kit.confirm_email(EMAIL, &code).await;

    let events = kit.events().await;
    assert_eq!(events.len(), 2);
    let event = &events[1];
    assert_eq!(event.event_type, "user.email_verified");
    assert_eq!(event.subject, id);
    assert_eq!(
        event.data,
        json!({ "user_id": id, "verified_at": TODAY_AT_NOON + 60 })
    );
}

#[tokio::test]
async fn confirmation_sends_a_welcome() {
    let kit = OnboardingKit::new().await;
    let (id, code) = register_valid_applicant(&kit).await;

    kit.confirm_email(EMAIL, &code).await;

    let notices = kit.notices();
    assert_eq!(notices.len(), 2);
    assert_matches!(notices[1].notice, Notice::Welcome);
    assert_eq!(notices[1].user_id, id);
}

#[tokio::test]
async fn the_address_is_normalised_before_it_is_looked_up() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    assert_matches!(
        kit.confirm_email("  Ada.Lovelace@EXAMPLE.com ", &code)
            .await,
        Confirmation::Confirmed
    );
}

#[tokio::test]
async fn a_wrong_code_is_invalid_and_leaves_the_account_pending() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;

    assert_matches!(
        kit.confirm_email(EMAIL, &wrong_code(&code)).await,
        Confirmation::InvalidCode
    );

    assert_matches!(kit.users().await[0].status, UserStatus::PendingVerification);
    assert_eq!(kit.events().await.len(), 1, "no user.email_verified");
    assert_eq!(kit.notices().len(), 1, "no welcome");
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_as_a_wrong_code() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    assert_matches!(
        kit.confirm_email("charles.babbage@example.com", &code)
            .await,
        Confirmation::InvalidCode
    );
    assert_matches!(
        kit.confirm_email("not an address", &code).await,
        Confirmation::InvalidCode
    );
}

#[tokio::test]
async fn a_code_is_still_good_after_29_minutes() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    kit.advance(Duration::from_secs(29 * 60));
    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::Confirmed
    );
}

#[tokio::test]
async fn a_code_expires_after_30_minutes() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    kit.advance(Duration::from_secs(31 * 60));

    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::ExpiredCode
    );
    assert_matches!(kit.users().await[0].status, UserStatus::PendingVerification);
}

#[tokio::test]
async fn four_wrong_guesses_still_leave_the_right_code_usable() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    for _ in 0..4 {
        kit.confirm_email(EMAIL, &wrong_code(&code)).await;
    }
    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::Confirmed
    );
}

#[tokio::test]
async fn five_wrong_guesses_kill_the_code() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;
    for _ in 0..5 {
        kit.confirm_email(EMAIL, &wrong_code(&code)).await;
    }

    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::TooManyAttempts
    );
    assert_matches!(kit.users().await[0].status, UserStatus::PendingVerification);
}

#[tokio::test]
async fn a_code_confirms_only_once() {
    let kit = OnboardingKit::new().await;
    let (_, code) = register_valid_applicant(&kit).await;

    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::Confirmed
    );
    assert_matches!(
        kit.confirm_email(EMAIL, &code).await,
        Confirmation::InvalidCode
    );

    assert_eq!(kit.events().await.len(), 2, "one user.email_verified only");
    assert_eq!(kit.notices().len(), 2, "one welcome only");
}
