//! The security team's second-factor policy, as a component of the `mfa` world: when a login
//! needs a second factor, which factors count, how wrong codes are limited, and how factors and
//! recovery codes are enrolled and replaced.
//!
//! The decisions are pure functions in `policy` (unit-tested natively); `flows` carries them out
//! through the host's capabilities. The host keeps every secret: this component never sees a
//! stored TOTP secret or recovery-code hash, only whether a code matched.

mod flows;
mod log;
pub mod policy;
mod settings;

// The variant fixture (`components/fixtures/mfa-known-devices`) compiles this same source from a
// directory one level deeper, hence the second path.
#[cfg(not(feature = "known-devices"))]
wit_bindgen::generate!({
    path: "../../wit",
    world: "mfa",
    generate_all,
});
#[cfg(feature = "known-devices")]
wit_bindgen::generate!({
    path: "../../../wit",
    world: "mfa",
    generate_all,
});

use exports::usvc::host::second_factor::{
    Guest, LoginContext, LoginRequirement, Method, Proof, Sending, SensitiveAction, SessionProofs,
    Verification,
};
use usvc::host::factors::{Channel, TotpEnrolment};
use usvc::host::types::Violation;

struct MfaPolicy;

impl Guest for MfaPolicy {
    fn assess_login(context: LoginContext) -> LoginRequirement {
        flows::login_requirement(&context)
    }

    fn send_code(user: String, challenge: Option<String>, method: Method) -> Sending {
        flows::send_code(&user, challenge.as_deref(), method)
    }

    fn verify_login(user: String, challenge: String, method: Method, code: String) -> Verification {
        flows::verify(&user, Some(&challenge), method, &code)
    }

    fn verify_step_up(user: String, method: Method, code: String) -> Verification {
        flows::verify(&user, None, method, &code)
    }

    fn proof_required(user: String, action: SensitiveAction, proofs: SessionProofs) -> Proof {
        flows::proof_required(&user, action, proofs)
    }

    fn enrol_totp(user: String) -> Result<TotpEnrolment, Violation> {
        flows::enrol_totp(&user)
    }

    fn enrol_otp(user: String, channel: Channel) -> Result<String, Violation> {
        flows::enrol_otp(&user, channel)
    }

    fn confirm_factor(
        user: String,
        factor_id: String,
        code: String,
    ) -> Result<Vec<String>, Violation> {
        flows::confirm_factor(&user, &factor_id, &code)
    }

    fn remove_factor(user: String, factor_id: String) -> bool {
        flows::remove_factor(&user, &factor_id)
    }

    fn new_recovery_codes(user: String) -> Result<Vec<String>, Violation> {
        flows::new_recovery_codes(&user)
    }
}

export!(MfaPolicy);
