//! The compliance team's onboarding policy, as a component of the `onboarding` world: which
//! applicants may open an account, and how an address is confirmed.
//!
//! This file only wires the generated bindings to the flows; the decisions live in `rules`, and
//! the two exported calls in `registration` and `confirmation`. Nothing here keeps state between
//! calls: the host gives every call a fresh instance.

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

impl exports::usvc::host::self_test::Guest for OnboardingPolicy {
    fn run() -> Result<(), String> {
        self_test::run()
    }
}

export!(OnboardingPolicy);
