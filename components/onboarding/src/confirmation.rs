//! `confirm-email`: opens a pending account when its owner proves they read the code sent at
//! registration.
//!
//! An unknown address, an account that is not waiting for confirmation and a wrong code all get
//! the same `invalid-code`, so that the call cannot be used to learn who banks here. The host
//! owns the code (its hash, expiry and attempt count); this flow only decides what follows.

use serde_json::json;

use crate::Confirmation;
use crate::log;
use crate::rules::email;
use crate::usvc::host::clock;
use crate::usvc::host::credentials::{self, CodeCheck};
use crate::usvc::host::events;
use crate::usvc::host::notify::{self, Notice};
use crate::usvc::host::users::{self, UserStatus};

pub fn confirm_email(raw_email: &str, code: &str) -> Confirmation {
    let address = email::normalise(raw_email);
    let Some(customer) = users::find_by_email(&address) else {
        log::debug("email confirmation for an unknown address: invalid code");
        return Confirmation::InvalidCode;
    };
    if customer.status != UserStatus::PendingVerification {
        log::debug(&format!(
            "email confirmation for user {} who is not pending verification: invalid code",
            customer.id
        ));
        return Confirmation::InvalidCode;
    }

    // Codes are read off an email and pasted; surrounding whitespace is never part of one.
    let outcome = match credentials::check_email_code(&customer.id, code.trim()) {
        CodeCheck::Valid => {
            activate(&customer.id);
            Confirmation::Confirmed
        }
        CodeCheck::Invalid => Confirmation::InvalidCode,
        CodeCheck::Expired => Confirmation::ExpiredCode,
        CodeCheck::Exhausted => Confirmation::TooManyAttempts,
    };
    log::debug(&format!(
        "email confirmation for user {}: {}",
        customer.id,
        describe(outcome)
    ));
    outcome
}

/// The outcome in the WIT's words, for the log.
fn describe(outcome: Confirmation) -> &'static str {
    match outcome {
        Confirmation::Confirmed => "confirmed",
        Confirmation::InvalidCode => "invalid code",
        Confirmation::ExpiredCode => "expired code",
        Confirmation::TooManyAttempts => "too many attempts",
    }
}

fn activate(user_id: &str) {
    // The customer was found a moment ago in this same unit of work; if it is gone, trapping
    // rolls the whole call back, spent code included, rather than confirm a ghost.
    assert!(
        users::set_status(user_id, UserStatus::Active),
        "user {user_id} vanished while confirming its email address"
    );
    let data = json!({
        "user_id": user_id,
        "verified_at": clock::now(),
    });
    events::publish("user.email_verified", user_id, &data.to_string());
    notify::send(user_id, Notice::Welcome);
}
