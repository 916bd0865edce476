//! The compliance team's verification policy, as a component of the `verification-policy`
//! world: which tier a customer holds and the limits it carries, what is still required, when to
//! ask the KYC service for a check and when a person must review the case.
//!
//! The rules are pure functions in `policy`; this file carries a decision out (asking for the
//! check through the host's `kyc` capability). The host gathers the facts and stores the
//! decision; this component never sees a name, an address or a document number.

mod log;
mod policy;
mod settings;

wit_bindgen::generate!({
    path: "../../wit",
    world: "verification-policy",
    generate_all,
});

use exports::usvc::host::verification::{Customer, Decision, Guest, Reason, VerificationStatus};
use usvc::host::{clock, kyc};

struct VerificationPolicy;

impl Guest for VerificationPolicy {
    fn decide(customer: Customer) -> Decision {
        let settings = settings::load();
        let mut decision = policy::decide(&customer, clock::today(), &settings);
        if decision.submit_kyc {
            match kyc::request_check(&customer.user) {
                Ok(check_id) => {
                    log::info(&format!(
                        "user {} asked for KYC check {check_id}",
                        customer.user
                    ));
                    decision.check_id = Some(check_id);
                    decision.status = VerificationStatus::Pending;
                    decision.reasons.push(Reason {
                        code: "kyc.submitted".into(),
                        message: "An identity check was asked for; its result will follow.".into(),
                    });
                }
                Err(refusal) => {
                    log::warn(&format!(
                        "user {}: the host refused a KYC check: {}",
                        customer.user, refusal.code
                    ));
                    decision.submit_kyc = false;
                    decision.reasons.push(Reason {
                        code: "kyc.not_submitted".into(),
                        message: format!(
                            "No identity check could be asked for ({}).",
                            refusal.code
                        ),
                    });
                }
            }
        }
        decision
    }
}

export!(VerificationPolicy);
