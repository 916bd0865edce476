//! The compliance team's onboarding policy, as a component of the `onboarding` world: which
//! applicants may open an account, and how an address is confirmed.
//!
//! This file only wires the generated bindings to the flows; the decisions live in `rules`, the
//! two exported calls that write in `registration` and `confirmation`, and the checks of a
//! change (`changes`, which read and write nothing) in `rules::profile`, `rules::email` and
//! `rules::document`.
//! Nothing here keeps state between calls: the host gives every call a fresh instance.

mod confirmation;
mod log;
mod registration;
mod rules;
mod self_test;
mod settings;

wit_bindgen::generate!({
    path: "../../wit",
    // The onboarding world, plus the self-test the host runs before this policy goes live.
    world: "onboarding-with-self-test",
    // Also generate the wasi:config and wasi:logging bindings (from wit/deps) in this crate.
    generate_all,
});

// The rest of the crate names the exported types through these, so that only this line knows
// where the bindings put them.
pub(crate) use exports::usvc::host::changes::{DocumentDeclaration, PostalAddress, ProfileChange};
use exports::usvc::host::registration::Guest;
pub(crate) use exports::usvc::host::registration::{Application, Confirmation};
use usvc::host::types::Violation;

struct OnboardingPolicy;

impl Guest for OnboardingPolicy {
    fn register(application: Application) -> Result<(), Vec<Violation>> {
        registration::register(&application).map_err(wit_violations)
    }

    fn confirm_email(email: String, code: String) -> Confirmation {
        confirmation::confirm_email(&email, &code)
    }

    fn check_password(email: String, password: String) -> Vec<Violation> {
        let mut violations = rules::Violations::default();
        rules::password::check(&password, &email, &mut violations);
        wit_violations(violations.into_vec())
    }
}

/// The shared vocabulary's violations, as the world's `violation` records.
fn wit_violations(violations: Vec<usvc_types::Violation>) -> Vec<Violation> {
    violations
        .into_iter()
        .map(|v| Violation {
            code: v.code,
            field: v.field,
            message: v.message,
        })
        .collect()
}

impl exports::usvc::host::changes::Guest for OnboardingPolicy {
    fn check_profile_change(change: ProfileChange) -> Result<ProfileChange, Vec<Violation>> {
        rules::profile::check_change(&change, registration::today()).map_err(wit_violations)
    }

    fn check_email(email: String) -> Result<String, Vec<Violation>> {
        let mut violations = rules::Violations::default();
        let email = rules::email::check(&email, &mut violations);
        violations
            .into_result(email.map(rules::Email::into_string).unwrap_or_default())
            .map_err(wit_violations)
    }

    fn check_phone(phone: String) -> Result<String, Vec<Violation>> {
        usvc_types::PhoneE164::parse(&phone)
            .map(usvc_types::PhoneE164::into_string)
            .map_err(|error| wit_violations(vec![usvc_types::Violation::of("phone", error)]))
    }

    fn check_document(
        declaration: DocumentDeclaration,
    ) -> Result<DocumentDeclaration, Vec<Violation>> {
        rules::document::check(&declaration).map_err(wit_violations)
    }
}

impl exports::usvc::host::self_test::Guest for OnboardingPolicy {
    fn run() -> Result<(), String> {
        self_test::run()
    }
}

export!(OnboardingPolicy);
