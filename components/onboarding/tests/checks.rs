//! The checks that read and write nothing. `check-password`: a new password for an existing
//! customer (change or reset) meets the same policy as at registration. The `changes`
//! interface: a profile change, a new address or number keeps registration's rules.

use usvc_testkit::{OnboardingKit, PostalAddress, ProposedChange};

fn codes(violations: Vec<usvc_testkit::Violation>) -> Vec<String> {
    violations.into_iter().map(|v| v.code).collect()
}

#[tokio::test]
async fn a_strong_password_is_acceptable() {
    let kit = OnboardingKit::new().await;
    assert!(
        kit.check_password("ada@example.com", "a much better passphrase")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_registration_rules_apply() {
    let kit = OnboardingKit::new().await;
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
    let kit = OnboardingKit::new().await;
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
    let kit = OnboardingKit::new().await;
    kit.check_password("ada@example.com", "a much better passphrase")
        .await;
    kit.check_password("ada@example.com", "short").await;
    assert!(kit.users().await.is_empty());
    assert!(kit.events().await.is_empty());
    assert!(kit.notices().is_empty());
}

fn change() -> ProposedChange {
    ProposedChange {
        legal_name: None,
        date_of_birth: None,
        nationality: None,
        address: None,
        national_id: None,
    }
}

#[tokio::test]
async fn a_profile_change_comes_back_normalised() {
    let kit = OnboardingKit::new().await;
    let checked = kit
        .check_profile_change(
            "user-1",
            ProposedChange {
                legal_name: Some("  Ada King ".to_owned()),
                date_of_birth: Some(" 1990-12-10".to_owned()),
                nationality: Some("gb".to_owned()),
                address: Some(PostalAddress {
                    line1: " 12 St James's Square ".to_owned(),
                    line2: Some(" ".to_owned()),
                    city: "London".to_owned(),
                    postal_code: "SW1Y 4JH".to_owned(),
                    region: None,
                    country: " gb".to_owned(),
                }),
                national_id: Some(" ab-123456 ".to_owned()),
            },
        )
        .await
        .unwrap();
    assert_eq!(checked.legal_name.as_deref(), Some("Ada King"));
    assert_eq!(checked.date_of_birth.as_deref(), Some("1990-12-10"));
    assert_eq!(checked.nationality.as_deref(), Some("GB"));
    let address = checked.address.unwrap();
    assert_eq!(
        (address.line1.as_str(), address.line2),
        ("12 St James's Square", None)
    );
    assert_eq!(address.country, "GB");
    assert_eq!(checked.national_id.as_deref(), Some("AB-123456"));
    assert!(kit.users().await.is_empty(), "a check writes nothing");
}

#[tokio::test]
async fn a_profile_change_keeps_the_registration_rules() {
    let kit = OnboardingKit::new().await;
    // The test kit's clock says 2026-06-15.
    let refused = kit
        .check_profile_change(
            "user-1",
            ProposedChange {
                legal_name: Some(" ".to_owned()),
                date_of_birth: Some("2010-01-01".to_owned()),
                nationality: Some("GBR".to_owned()),
                ..change()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        codes(refused),
        [
            "legal_name.missing",
            "date_of_birth.underage",
            "nationality.invalid"
        ]
    );
}

#[tokio::test]
async fn a_new_address_or_number_keeps_the_registration_rules() {
    let kit = OnboardingKit::new().await;
    assert_eq!(
        kit.check_email("user-1", " Ada@Example.COM ").await,
        Ok("ada@example.com".to_owned())
    );
    assert_eq!(
        codes(
            kit.check_email("user-1", "ada@mailinator.com")
                .await
                .unwrap_err()
        ),
        ["email.disposable"]
    );
    assert_eq!(
        codes(
            kit.check_email("user-1", "ada@localhost")
                .await
                .unwrap_err()
        ),
        ["email.invalid"]
    );
    assert_eq!(
        kit.check_phone("user-1", "+44 7700 900123").await,
        Ok("+447700900123".to_owned())
    );
    assert_eq!(
        codes(kit.check_phone("user-1", "+12").await.unwrap_err()),
        ["phone.invalid"]
    );
}
