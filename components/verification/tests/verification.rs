//! The verification policy's specification: the compiled `verification.wasm` in the real
//! runtime through the test kit, with the clock fixed at 2026-06-15. Every tier rule and every
//! reason and requirement code has a test here.

use usvc_testkit::{
    CalendarDate as Date, Customer, DocumentFacts, DocumentKind, DocumentStatus, KycOutcome,
    KycResult, PolicyDecision, ProfileFacts, VerificationKit, VerificationStatus,
};

async fn kit() -> VerificationKit {
    VerificationKit::new().await
}

/// A customer whose profile is complete and whose email is confirmed; nothing else.
fn complete() -> Customer {
    Customer {
        user: "019ad1c0-11aa-7b7c-8e0f-5d2c4b3a1f00".to_owned(),
        profile: ProfileFacts {
            has_legal_name: true,
            date_of_birth: Some(Date {
                year: 1990,
                month: 12,
                day: 10,
            }),
            nationality: Some("GB".to_owned()),
            address_country: Some("GB".to_owned()),
            country_of_residence: Some("GB".to_owned()),
            email_verified: true,
        },
        documents: Vec::new(),
        kyc_results: Vec::new(),
        open_check: None,
        requested: false,
    }
}

fn document(kind: DocumentKind, status: DocumentStatus, confirmed_at: i64) -> DocumentFacts {
    DocumentFacts {
        kind,
        status,
        issuing_country: Some("GB".to_owned()),
        confirmed_at: (status == DocumentStatus::Confirmed).then_some(confirmed_at),
    }
}

fn passport() -> DocumentFacts {
    document(DocumentKind::Passport, DocumentStatus::Confirmed, 1_000)
}

fn result(outcome: KycOutcome, reasons: &[&str], completed_at: i64) -> KycResult {
    KycResult {
        check_id: format!("chk-{completed_at}"),
        outcome,
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        completed_at,
        identity_current: true,
    }
}

/// A complete profile, a confirmed passport and an approved check.
fn identity_verified() -> Customer {
    Customer {
        documents: vec![passport()],
        kyc_results: vec![result(KycOutcome::Approved, &[], 2_000)],
        ..complete()
    }
}

fn codes(decision: &PolicyDecision) -> Vec<&str> {
    decision.reason_codes()
}

#[tokio::test]
async fn a_customer_with_nothing_is_tier_0_and_told_everything_that_is_required() {
    let kit = kit().await;
    let nothing = Customer {
        profile: ProfileFacts {
            has_legal_name: false,
            date_of_birth: None,
            nationality: None,
            address_country: None,
            country_of_residence: None,
            email_verified: false,
        },
        ..complete()
    };
    let decision = kit.decide(nothing).await;
    assert_eq!(decision.tier, 0);
    assert_eq!(decision.status, VerificationStatus::Unverified);
    assert_eq!(
        decision.requirements,
        [
            "profile.legal_name",
            "profile.date_of_birth",
            "profile.nationality",
            "profile.address",
            "profile.country_of_residence",
            "email.verified",
            "document.identity",
            "kyc.check",
            "document.proof_of_address",
            "document.selfie",
        ]
    );
    assert_eq!(codes(&decision), ["profile.incomplete"]);
    assert!(!decision.submit_kyc && !decision.manual_review);
    assert_eq!(decision.limits.daily_transfer_limit, 0);
    assert_eq!(decision.limits.balance_cap, 0);
    assert_eq!(decision.limits.currency, "GBP");
    assert_eq!(decision.component_digest.len(), 64);
}

#[tokio::test]
async fn each_missing_profile_item_is_its_own_requirement() {
    let kit = kit().await;
    type Gap = fn(&mut ProfileFacts);
    let cases: [(&str, Gap); 6] = [
        ("profile.legal_name", |p| p.has_legal_name = false),
        ("profile.date_of_birth", |p| p.date_of_birth = None),
        ("profile.nationality", |p| p.nationality = None),
        ("profile.address", |p| p.address_country = None),
        ("profile.country_of_residence", |p| {
            p.country_of_residence = None
        }),
        ("email.verified", |p| p.email_verified = false),
    ];
    for (code, remove) in cases {
        let mut customer = identity_verified();
        remove(&mut customer.profile);
        let decision = kit.decide(customer).await;
        assert_eq!(decision.tier, 0, "{code}");
        assert_eq!(decision.requirements[0], code);
        assert!(
            !decision
                .requirements
                .contains(&"document.identity".to_owned())
        );
        assert_eq!(codes(&decision), ["profile.incomplete"], "{code}");
        // An approved check does not make up for an incomplete profile.
        assert_eq!(decision.status, VerificationStatus::Unverified, "{code}");
    }
}

#[tokio::test]
async fn a_complete_profile_is_tier_1_with_its_limits() {
    let kit = kit().await;
    let decision = kit.decide(complete()).await;
    assert_eq!(decision.tier, 1);
    assert_eq!(decision.status, VerificationStatus::Unverified);
    assert_eq!(codes(&decision), ["tier.1.granted"]);
    assert_eq!(
        decision.requirements,
        [
            "document.identity",
            "kyc.check",
            "document.proof_of_address",
            "document.selfie"
        ]
    );
    assert_eq!(decision.limits.daily_transfer_limit, 50_000);
    assert_eq!(decision.limits.balance_cap, 100_000);
}

#[tokio::test]
async fn customers_under_18_are_rejected_and_18_today_is_old_enough() {
    let kit = kit().await;
    // The clock says 2026-06-15.
    let born = |year, month, day| {
        let mut customer = complete();
        customer.profile.date_of_birth = Some(Date { year, month, day });
        customer.requested = true;
        customer.documents = vec![passport()];
        customer
    };
    let minor = kit.decide(born(2008, 6, 16)).await;
    assert_eq!(minor.tier, 0);
    assert_eq!(minor.status, VerificationStatus::Rejected);
    assert_eq!(codes(&minor), ["age.under_18"]);
    assert!(
        minor.requirements.is_empty(),
        "nothing the customer can give"
    );
    assert!(!minor.submit_kyc);

    let mut adult = born(2008, 6, 15);
    adult.requested = false;
    let adult = kit.decide(adult).await;
    assert_eq!(adult.tier, 1);
    assert_eq!(codes(&adult)[0], "tier.1.granted");
}

#[tokio::test]
async fn an_approved_check_on_a_confirmed_identity_document_is_tier_2() {
    let kit = kit().await;
    let decision = kit.decide(identity_verified()).await;
    assert_eq!(decision.tier, 2);
    assert_eq!(decision.status, VerificationStatus::Verified);
    assert_eq!(codes(&decision), ["kyc.approved", "tier.2.granted"]);
    assert_eq!(
        decision.requirements,
        ["document.proof_of_address", "document.selfie"]
    );
    assert_eq!(decision.limits.daily_transfer_limit, 500_000);
    assert_eq!(decision.limits.balance_cap, 2_500_000);
    assert!(!decision.submit_kyc);

    // An id card counts like a passport; a document not (yet) confirmed does not count.
    let mut id_card = identity_verified();
    id_card.documents = vec![document(
        DocumentKind::IdCard,
        DocumentStatus::Confirmed,
        1_000,
    )];
    assert_eq!(kit.decide(id_card).await.tier, 2);
    for status in [DocumentStatus::Pending, DocumentStatus::Rejected] {
        let mut unconfirmed = identity_verified();
        unconfirmed.documents = vec![document(DocumentKind::Passport, status, 1_000)];
        let decision = kit.decide(unconfirmed).await;
        assert_eq!(decision.tier, 1, "{status:?}");
        assert_eq!(decision.requirements[0], "document.identity");
    }
}

#[tokio::test]
async fn an_approval_of_the_identity_before_a_change_no_longer_counts() {
    let kit = kit().await;
    let mut changed = identity_verified();
    changed.kyc_results[0].identity_current = false;
    let decision = kit.decide(changed.clone()).await;
    assert_eq!(decision.tier, 1, "down to what the new facts support");
    assert_eq!(decision.status, VerificationStatus::Unverified);
    assert!(
        codes(&decision).contains(&"kyc.identity_changed"),
        "{:?}",
        codes(&decision)
    );
    assert!(decision.requirements.iter().any(|r| r == "kyc.check"));

    // A check of the new identity restores the tier.
    changed
        .kyc_results
        .push(result(KycOutcome::Approved, &[], 3_000));
    assert_eq!(kit.decide(changed).await.tier, 2);
}

#[tokio::test]
async fn proof_of_address_and_a_selfie_on_top_of_tier_2_are_tier_3() {
    let kit = kit().await;
    let mut customer = identity_verified();
    customer.documents.extend([
        document(
            DocumentKind::ProofOfAddress,
            DocumentStatus::Confirmed,
            1_500,
        ),
        document(DocumentKind::Selfie, DocumentStatus::Confirmed, 1_500),
    ]);
    let decision = kit.decide(customer.clone()).await;
    assert_eq!(decision.tier, 3);
    assert_eq!(decision.status, VerificationStatus::Verified);
    assert_eq!(codes(&decision), ["kyc.approved", "tier.3.granted"]);
    assert!(decision.requirements.is_empty());
    assert_eq!(decision.limits.daily_transfer_limit, 2_500_000);
    assert_eq!(decision.limits.balance_cap, 25_000_000);

    // Without the approved check, the same documents are only tier 1.
    customer.kyc_results.clear();
    let decision = kit.decide(customer).await;
    assert_eq!(decision.tier, 1);
    assert_eq!(decision.requirements, ["kyc.check"]);
}

#[tokio::test]
async fn a_rejected_check_is_tier_0_until_a_new_identity_document_is_confirmed() {
    let kit = kit().await;
    let mut customer = identity_verified();
    customer.documents.extend([
        document(
            DocumentKind::ProofOfAddress,
            DocumentStatus::Confirmed,
            1_500,
        ),
        document(DocumentKind::Selfie, DocumentStatus::Confirmed, 1_500),
    ]);
    customer.kyc_results.push(result(
        KycOutcome::Rejected,
        &["document.rejected", "face.mismatch"],
        3_000,
    ));
    customer.requested = true;
    let decision = kit.decide(customer.clone()).await;
    assert_eq!(decision.tier, 0);
    assert_eq!(decision.status, VerificationStatus::Rejected);
    assert_eq!(codes(&decision), ["kyc.rejected"]);
    assert!(
        decision.reasons[0]
            .message
            .contains("document.rejected, face.mismatch"),
        "{:?}",
        decision.reasons
    );
    assert_eq!(decision.requirements, ["document.identity"]);
    assert!(
        !decision.submit_kyc,
        "a rejection is not asked again by itself"
    );
    assert_eq!(decision.limits.daily_transfer_limit, 0);

    // A passport confirmed after the rejection reopens the case: a new check is due.
    customer.documents.push(document(
        DocumentKind::Passport,
        DocumentStatus::Confirmed,
        4_000,
    ));
    customer.requested = false;
    let reopened = kit.decide(customer).await;
    assert_eq!(reopened.tier, 1);
    assert_eq!(reopened.status, VerificationStatus::Unverified);
    assert_eq!(reopened.requirements, ["kyc.check"]);
}

#[tokio::test]
async fn manual_review_holds_the_case_for_a_person() {
    let kit = kit().await;
    let mut customer = complete();
    customer.documents = vec![passport()];
    customer.open_check = Some("chk-1".to_owned());
    customer.requested = true;
    customer.kyc_results = vec![result(
        KycOutcome::ManualReview,
        &["document.unreadable"],
        2_000,
    )];
    let decision = kit.decide(customer.clone()).await;
    assert_eq!(decision.tier, 1);
    assert_eq!(decision.status, VerificationStatus::ManualReview);
    assert!(decision.manual_review);
    assert_eq!(codes(&decision), ["tier.1.granted", "kyc.manual_review"]);
    assert!(
        !decision.submit_kyc,
        "the check under review is not asked again"
    );
    assert!(!decision.requirements.contains(&"kyc.check".to_owned()));

    // The reviewer's approval, reported later, is the latest result and decides.
    customer
        .kyc_results
        .push(result(KycOutcome::Approved, &[], 5_000));
    let decision = kit.decide(customer).await;
    assert_eq!(decision.tier, 2);
    assert_eq!(decision.status, VerificationStatus::Verified);
    assert!(!decision.manual_review);
}

#[tokio::test]
async fn the_latest_result_decides_whatever_order_they_come_in() {
    let kit = kit().await;
    let mut customer = identity_verified();
    // An old rejection listed after a newer approval.
    customer.kyc_results = vec![
        result(KycOutcome::Approved, &[], 5_000),
        result(KycOutcome::Rejected, &["document.rejected"], 500),
    ];
    assert_eq!(kit.decide(customer.clone()).await.tier, 2);
    customer.kyc_results[1].completed_at = 6_000;
    assert_eq!(kit.decide(customer).await.tier, 0);
}

#[tokio::test]
async fn an_open_check_is_pending_and_never_asked_twice() {
    let kit = kit().await;
    let mut customer = complete();
    customer.documents = vec![passport()];
    customer.open_check = Some("chk-open".to_owned());
    customer.requested = true;
    let decision = kit.decide(customer).await;
    assert_eq!(decision.tier, 1);
    assert_eq!(decision.status, VerificationStatus::Pending);
    assert_eq!(codes(&decision), ["tier.1.granted", "kyc.pending"]);
    assert!(!decision.submit_kyc);
    assert_eq!(decision.check_id, None);
}

#[tokio::test]
async fn a_requested_verification_asks_for_a_check_through_the_kyc_capability() {
    let kit = kit().await;
    let user = kit.active_customer("ada@example.com").await;
    kit.complete_profile(&user, "GB").await;
    kit.confirmed_document(&user, "passport", "123456789").await;
    let mut customer = complete();
    customer.user = user;
    customer.documents = vec![passport()];

    // Looking is not asking: no check.
    let look = kit.decide(customer.clone()).await;
    assert!(!look.submit_kyc);
    assert_eq!(look.check_id, None);

    customer.requested = true;
    let decision = kit.decide(customer).await;
    assert!(decision.submit_kyc);
    let check_id = decision.check_id.clone().expect("a check id");
    assert!(uuid_like(&check_id), "{check_id}");
    assert_eq!(decision.status, VerificationStatus::Pending);
    assert_eq!(codes(&decision), ["tier.1.granted", "kyc.submitted"]);
    assert_eq!(decision.tier, 1);
    // The policy stores nothing itself.
    assert!(kit.events().await.is_empty());
}

#[tokio::test]
async fn a_check_the_host_cannot_build_is_not_submitted() {
    let kit = kit().await;
    // The facts claim a confirmed passport the customer does not have on file.
    let user = kit.active_customer("bob@example.com").await;
    kit.complete_profile(&user, "GB").await;
    kit.confirmed_document(&user, "selfie", "").await;
    let mut customer = complete();
    customer.user = user.clone();
    customer.documents = vec![passport()];
    customer.requested = true;
    let decision = kit.decide(customer.clone()).await;
    assert!(!decision.submit_kyc);
    assert_eq!(decision.check_id, None);
    assert_eq!(codes(&decision), ["tier.1.granted", "kyc.not_submitted"]);
    assert!(
        decision.reasons[1]
            .message
            .contains("kyc.identity_document_missing")
    );
    assert_eq!(decision.status, VerificationStatus::Unverified);

    // Without a nationality on file the host refuses too.
    let carol = kit.active_customer("carol@example.com").await;
    kit.confirmed_document(&carol, "passport", "987654321")
        .await;
    customer.user = carol;
    let decision = kit.decide(customer).await;
    assert!(
        decision.reasons[1]
            .message
            .contains("kyc.profile_incomplete")
    );
}

#[tokio::test]
async fn limits_and_currency_come_from_the_settings() {
    let kit = VerificationKit::builder()
        .setting("currency", "EUR")
        .setting("tier-1-daily-transfer-limit", "12345")
        .setting("tier-1-balance-cap", "not a number")
        .setting("tier-2-balance-cap", "999")
        .build()
        .await;
    let tier_1 = kit.decide(complete()).await;
    assert_eq!(tier_1.limits.currency, "EUR");
    assert_eq!(tier_1.limits.daily_transfer_limit, 12_345);
    assert_eq!(
        tier_1.limits.balance_cap, 100_000,
        "unparsable: the default"
    );
    let tier_2 = kit.decide(identity_verified()).await;
    assert_eq!(tier_2.limits.balance_cap, 999);
    assert_eq!(tier_2.limits.daily_transfer_limit, 500_000);

    let odd = VerificationKit::builder()
        .setting("currency", "pounds")
        .build()
        .await;
    assert_eq!(odd.decide(complete()).await.limits.currency, "GBP");
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}
