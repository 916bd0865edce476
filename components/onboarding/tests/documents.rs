//! `changes.check-document`: what a customer may declare before uploading an identity document.
//! The host checks the size and digest itself; kinds, file types, numbers and issuing countries
//! are this policy's.

use usvc_testkit::{DocumentDeclaration, OnboardingKit};

fn passport() -> DocumentDeclaration {
    DocumentDeclaration {
        kind: Some("passport".into()),
        content_type: Some("image/jpeg".into()),
        number: Some(" x1234567 ".into()),
        issuing_country: Some("GB".into()),
    }
}

async fn codes(kit: &OnboardingKit, declaration: DocumentDeclaration) -> Vec<String> {
    kit.check_document("customer-1", declaration)
        .await
        .unwrap_err()
        .into_iter()
        .map(|v| v.code)
        .collect()
}

#[tokio::test]
async fn a_passport_is_normalised() {
    let kit = OnboardingKit::new().await;
    let accepted = kit.check_document("customer-1", passport()).await.unwrap();
    assert_eq!(accepted.kind.as_deref(), Some("passport"));
    assert_eq!(accepted.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(accepted.number.as_deref(), Some("X1234567"));
    assert_eq!(accepted.issuing_country.as_deref(), Some("GB"));
}

#[tokio::test]
async fn every_missing_field_is_named() {
    let kit = OnboardingKit::new().await;
    let nothing = DocumentDeclaration {
        kind: None,
        content_type: None,
        number: None,
        issuing_country: None,
    };
    assert_eq!(
        codes(&kit, nothing).await,
        ["kind.missing", "content_type.missing"]
    );
    let bare = DocumentDeclaration {
        number: None,
        issuing_country: None,
        ..passport()
    };
    assert_eq!(
        codes(&kit, bare).await,
        ["number.missing", "issuing_country.missing"]
    );
}

#[tokio::test]
async fn every_rule_has_its_code() {
    let kit = OnboardingKit::new().await;
    let cases = [
        (
            DocumentDeclaration {
                kind: Some("visa".into()),
                ..passport()
            },
            "kind.unknown",
        ),
        (
            DocumentDeclaration {
                content_type: Some("image/gif".into()),
                ..passport()
            },
            "content_type.unsupported",
        ),
        (
            DocumentDeclaration {
                number: Some("12-34".into()),
                ..passport()
            },
            "number.invalid",
        ),
        (
            DocumentDeclaration {
                number: Some("123".into()),
                ..passport()
            },
            "number.invalid",
        ),
        (
            DocumentDeclaration {
                issuing_country: Some("gb".into()),
                ..passport()
            },
            "issuing_country.invalid",
        ),
    ];
    for (declaration, code) in cases {
        assert_eq!(
            codes(&kit, declaration.clone()).await,
            [code],
            "{declaration:?}"
        );
    }
}

#[tokio::test]
async fn a_selfie_is_a_photo_without_a_number() {
    let kit = OnboardingKit::new().await;
    let selfie = DocumentDeclaration {
        kind: Some("selfie".into()),
        content_type: Some("application/pdf".into()),
        ..passport()
    };
    assert_eq!(
        codes(&kit, selfie).await,
        [
            "content_type.unsupported",
            "number.not_allowed",
            "issuing_country.not_allowed"
        ]
    );
    let photo = DocumentDeclaration {
        kind: Some("selfie".into()),
        content_type: Some("image/png".into()),
        number: None,
        issuing_country: None,
    };
    assert!(kit.check_document("customer-1", photo).await.is_ok());
}

#[tokio::test]
async fn judging_a_declaration_writes_nothing() {
    let kit = OnboardingKit::new().await;
    kit.check_document("customer-1", passport()).await.unwrap();
    assert!(kit.users().await.is_empty());
    assert!(kit.events().await.is_empty());
}
