//! What the onboarding component's tests share: an applicant who keeps every rule, and ways to
//! read outcomes briefly.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use usvc_testkit::{Application, OnboardingKit, Violation};

/// The fixed clock's default instant, 2026-06-15 12:00:00 UTC, in Unix seconds.
pub const TODAY_AT_NOON: i64 = 1_781_524_800;

/// An applicant who keeps every rule on the test kit's default date (2026-06-15) and settings.
pub fn valid_application() -> Application {
    Application {
        email: "ada.lovelace@example.com".to_owned(),
        password: "analytical engine notes".to_owned(),
        legal_name: "Augusta Ada King".to_owned(),
        date_of_birth: "1990-12-10".to_owned(),
        country_of_residence: "GB".to_owned(),
        phone: Some("+447700900123".to_owned()),
    }
}

/// The codes of the rules an application broke, in the order reported.
pub fn codes(outcome: Result<(), Vec<Violation>>) -> Vec<String> {
    match outcome {
        Ok(()) => Vec::new(),
        Err(violations) => violations
            .into_iter()
            .map(|violation| violation.code)
            .collect(),
    }
}

/// Registers `application` on a fresh kit with default settings and returns the broken rules.
pub async fn codes_for(application: Application) -> Vec<String> {
    let kit = OnboardingKit::new().await;
    codes(kit.register(application).await)
}

/// Registers `valid_application()` and returns the new customer's id and emailed code.
pub async fn register_valid_applicant(kit: &OnboardingKit) -> (String, String) {
    kit.register(valid_application())
        .await
        .expect("the valid application is accepted");
    let notice = kit
        .notices()
        .into_iter()
        .last()
        .expect("an email-verification notice is sent");
    let code = notice.code.expect("the notice carries a code");
    (notice.user_id, code)
}

/// `assert!(matches!(...))` that shows the value when it does not match.
#[macro_export]
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(,)?) => {
        match $value {
            $pattern => {}
            ref other => panic!("expected {}, got {:?}", stringify!($pattern), other),
        }
    };
}
