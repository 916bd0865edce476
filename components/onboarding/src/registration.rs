//! `register`: turns an acceptable application into a pending customer with a password, a
//! `user.registered` event and an email-verification notice.
//!
//! The answer must never reveal whether an address already banks here, so an application for a
//! known address gets the same `ok` as a new one and its owner is told instead. Everything
//! written joins the host's unit of work: on `err` nothing is kept, which is why all rules are
//! checked before the first write.
//!
//! An address nobody has confirmed yet belongs to whoever can read its mail, not to whoever
//! registered it first: a newer registration of a pending address replaces the details and the
//! password, and the code it sends replaces the earlier one. So the account a code confirms
//! carries exactly what the registration that code was sent for submitted.

use serde_json::json;
use usvc_types::Violation;

use crate::Application;
use crate::log;
use crate::rules::{self, Applicant, CalendarDate};
use crate::settings;
use crate::usvc::host::clock;
use crate::usvc::host::credentials;
use crate::usvc::host::events;
use crate::usvc::host::notify::{self, Notice};
use crate::usvc::host::users::{self, CreateError, NewUser, User, UserStatus};

pub fn register(application: &Application) -> Result<(), Vec<Violation>> {
    let allowed_countries = settings::allowed_countries();
    let applicant = match rules::check_application(application, today(), &allowed_countries) {
        Ok(applicant) => applicant,
        Err(violations) => {
            let codes: Vec<&str> = violations.iter().map(|v| v.code.as_str()).collect();
            log::debug(&format!("registration refused: {}", codes.join(", ")));
            return Err(violations);
        }
    };

    if let Some(existing) = users::find_by_email(applicant.email.as_str()) {
        answer_known_address(&existing, &applicant);
        return Ok(());
    }

    match users::create(&new_user(&applicant)) {
        Ok(customer) => {
            open_pending_account(&customer.id, &applicant);
            log::debug(&format!(
                "registered user {}, pending verification",
                customer.id
            ));
        }
        // A concurrent registration for the same address committed first: from here it is an
        // attempt on an existing customer like any other.
        Err(CreateError::EmailTaken) => match users::find_by_email(applicant.email.as_str()) {
            Some(existing) => answer_known_address(&existing, &applicant),
            None => {
                log::warn("address reported taken but no customer holds it; nothing registered");
            }
        },
    }
    Ok(())
}

/// The host clock's date.
pub(crate) fn today() -> CalendarDate {
    let date = clock::today();
    CalendarDate::new(date.year, date.month, date.day)
        .unwrap_or_else(|| panic!("the host clock's today() is not a calendar date: {date:?}"))
}

fn new_user(applicant: &Applicant) -> NewUser {
    NewUser {
        email: applicant.email.as_str().to_owned(),
        legal_name: applicant.legal_name.clone(),
        date_of_birth: applicant.date_of_birth.to_string(),
        country_of_residence: applicant.country_of_residence.as_str().to_owned(),
        phone: applicant
            .phone
            .as_ref()
            .map(|phone| phone.as_str().to_owned()),
    }
}

fn open_pending_account(user_id: &str, applicant: &Applicant) {
    credentials::set_password(user_id, &applicant.password);
    // Events travel to every service in the bank: identifiers and facts, no personal data.
    let data = json!({
        "user_id": user_id,
        "country_of_residence": applicant.country_of_residence.as_str(),
        "registered_at": clock::now(),
    });
    events::publish("user.registered", user_id, &data.to_string());
    notify::send(user_id, Notice::EmailVerification);
}

/// A registration for an address that is already a customer's. An account still waiting for its
/// address to be confirmed takes this newest registration's details and password, and a fresh
/// code replaces the one sent before (which is also how a lost or expired code is recovered);
/// the owner of a confirmed account is told that someone tried, and nothing of theirs changes.
fn answer_known_address(existing: &User, applicant: &Applicant) {
    if existing.status != UserStatus::PendingVerification {
        tell_owner_of_attempt(&existing.id);
        return;
    }
    // Confirmed by its owner between the lookup and here: from now on it is theirs.
    if !users::replace_pending(&existing.id, &new_user(applicant)) {
        tell_owner_of_attempt(&existing.id);
        return;
    }
    credentials::set_password(&existing.id, &applicant.password);
    notify::send(&existing.id, Notice::EmailVerification);
    log::debug(&format!(
        "registration for pending user {}: details and password replaced, new code sent",
        existing.id
    ));
}

fn tell_owner_of_attempt(owner_id: &str) {
    notify::send(owner_id, Notice::RegistrationAttempted);
    log::debug(&format!(
        "registration for an existing customer; owner {owner_id} notified"
    ));
}
