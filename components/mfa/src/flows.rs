//! The exported calls, carried out through the host's capabilities: the policy decides, the
//! host's `factors` capability matches codes, `kv` counts attempts and remembers spent steps,
//! and every outcome is published and audited.

use serde_json::json;

use crate::exports::usvc::host::second_factor::{
    LoginContext, LoginRequirement, Method, Proof, Sending, SensitiveAction, SessionProofs,
    Verification,
};
use crate::log;
use crate::policy::{self, LoginFacts, Requirement};
use crate::settings;
use crate::usvc::host::factors::{self, Channel, TotpEnrolment};
use crate::usvc::host::notify::{self, Notice};
use crate::usvc::host::types::Violation;
use crate::usvc::host::{audit, clock, events, kv};

/// TOTP codes are accepted one step either side of now (RFC 6238's recommendation).
const SKEW: u8 = 1;
/// Long enough to outlive every step a code can still match (now ± one 30-second step).
const SPENT_STEP_TTL: u32 = 300;
const CHALLENGE_TTL: u32 = 900;
const STAFF_ROLES: [&str; 3] = ["admin", "compliance", "support"];

pub fn login_requirement(context: &LoginContext) -> LoginRequirement {
    let settings = settings::load();
    let facts = LoginFacts {
        factors: active_methods(&context.user),
        recovery_codes_left: factors::recovery_codes_left(&context.user),
        staff: context
            .roles
            .iter()
            .any(|r| STAFF_ROLES.contains(&r.as_str())),
        new_device: context.new_device,
        since_reset: context.password_reset_at.map(|at| clock::now() - at),
        risk: context.risk,
    };
    match policy::requirement(&facts, &settings) {
        Requirement::None => LoginRequirement::None,
        Requirement::EnrolmentRequired => {
            log::info(&format!(
                "user {}: staff login refused until a second factor is enrolled",
                context.user
            ));
            LoginRequirement::EnrolmentRequired
        }
        Requirement::Challenge(methods) => {
            LoginRequirement::Challenge(methods.into_iter().map(to_wit).collect())
        }
    }
}

fn to_wit(method: policy::Method) -> Method {
    match method {
        policy::Method::Totp => Method::Totp,
        policy::Method::RecoveryCode => Method::RecoveryCode,
        policy::Method::EmailCode => Method::EmailCode,
        policy::Method::SmsCode => Method::SmsCode,
    }
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Totp => "totp",
        Method::RecoveryCode => "recovery_code",
        Method::EmailCode => "email_code",
        Method::SmsCode => "sms_code",
    }
}

/// The factor kind whose codes a method checks, for the methods that send codes.
fn code_kind(method: Method) -> Option<&'static str> {
    match method {
        Method::EmailCode => Some("email"),
        Method::SmsCode => Some("sms"),
        Method::Totp | Method::RecoveryCode => None,
    }
}

/// Sends a one-time code to the customer's active factor for `method`, unless codes went out
/// too recently or too often.
pub fn send_code(user: &str, challenge: Option<&str>, method: Method) -> Sending {
    let settings = settings::load();
    let Some(factor_id) = code_kind(method).and_then(|kind| active_factor(user, kind)) else {
        return Sending::Unavailable;
    };
    if let Err(wait) = admit_send(user, &factor_id, &settings) {
        return Sending::Throttled(wait);
    }
    if !factors::send_otp(user, &factor_id, settings.code_ttl_secs) {
        return Sending::Unavailable;
    }
    let purpose = if challenge.is_some() {
        "login"
    } else {
        "step_up"
    };
    record(
        "mfa.code_sent",
        user,
        json!({ "user_id": user, "method": method_name(method), "purpose": purpose }),
    );
    Sending::Sent
}

/// Whether a code may go to `factor_id` now; how long to wait when not. Counts the send.
fn admit_send(user: &str, factor_id: &str, settings: &policy::Settings) -> Result<(), u32> {
    let now = clock::now();
    let last_key = format!("sent:{factor_id}");
    let last = kv::get(&last_key).and_then(|v| v.parse().ok());
    if let Some(wait) = policy::resend_wait(last, now, settings) {
        return Err(wait);
    }
    let hour_key = format!("sends:{user}:{}", now.div_euclid(3600));
    if policy::over_hourly_cap(kv::increment(&hour_key, 3600), settings) {
        return Err(policy::until_next_hour(now));
    }
    kv::set(
        &last_key,
        &now.to_string(),
        settings.resend_interval_secs.max(1),
    );
    Ok(())
}

/// Checks a code for a login challenge (`challenge` given) or a step-up (`None`).
pub fn verify(user: &str, challenge: Option<&str>, method: Method, code: &str) -> Verification {
    let settings = settings::load();
    let purpose = if challenge.is_some() {
        "login"
    } else {
        "step_up"
    };
    let method_name = method_name(method);
    // The lock holds until the time it names (by the host's clock, so a test clock can move past it).
    let locked_until = kv::get(&locked_key(user)).and_then(|v| v.parse::<i64>().ok());
    if locked_until.is_some_and(|until| until > clock::now()) {
        record_failure(user, purpose, method_name, "locked");
        return Verification::Locked;
    }
    if let Some(challenge) = challenge {
        let attempts = kv::increment(&format!("challenge:{challenge}:attempts"), CHALLENGE_TTL);
        if policy::challenge_dead(attempts, &settings) {
            record_failure(user, purpose, method_name, "challenge_dead");
            return Verification::ChallengeDead;
        }
    }
    let code = code.trim();
    let outcome = match method {
        Method::Totp => match active_totp(user) {
            None => Verification::Rejected,
            Some(factor_id) => match factors::match_totp(user, &factor_id, code, SKEW) {
                None => Verification::Rejected,
                Some(step) => spend_step(&factor_id, step),
            },
        },
        Method::EmailCode | Method::SmsCode => {
            let kind = code_kind(method).unwrap_or_default();
            match active_factor(user, kind) {
                Some(factor_id) if factors::match_otp(user, &factor_id, code) => {
                    Verification::Accepted
                }
                _ => Verification::Rejected,
            }
        }
        Method::RecoveryCode => {
            if factors::spend_recovery_code(user, code) {
                let left = factors::recovery_codes_left(user);
                record(
                    "mfa.recovery_code_used",
                    user,
                    json!({ "user_id": user, "left": left }),
                );
                Verification::Accepted
            } else {
                Verification::Rejected
            }
        }
    };
    match outcome {
        Verification::Accepted => {
            kv::delete(&failures_key(user));
            record(
                "mfa.challenge_passed",
                user,
                json!({ "user_id": user, "method": method_name, "purpose": purpose }),
            );
        }
        Verification::Rejected | Verification::Replayed => {
            let reason = if outcome == Verification::Replayed {
                "replayed"
            } else {
                "rejected"
            };
            record_failure(user, purpose, method_name, reason);
            let failures = kv::increment(&failures_key(user), settings.lock_secs);
            if policy::locks(failures, &settings) {
                let until = clock::now() + i64::from(settings.lock_secs);
                kv::set(&locked_key(user), &until.to_string(), settings.lock_secs);
                kv::delete(&failures_key(user));
                log::warn(&format!(
                    "user {user}: second factors locked after {failures} failures"
                ));
                record(
                    "mfa.locked",
                    user,
                    json!({ "user_id": user, "failures": failures, "for_secs": settings.lock_secs }),
                );
                return Verification::Locked;
            }
        }
        Verification::ChallengeDead | Verification::Locked => {}
    }
    outcome
}

pub fn proof_required(user: &str, action: SensitiveAction, proofs: SessionProofs) -> Proof {
    let action = match action {
        SensitiveAction::ChangeEmail => policy::Action::ChangeEmail,
        SensitiveAction::ChangePhone => policy::Action::ChangePhone,
        SensitiveAction::ChangePassword => policy::Action::ChangePassword,
        SensitiveAction::RemoveFactor => policy::Action::RemoveFactor,
        SensitiveAction::NewRecoveryCodes => policy::Action::NewRecoveryCodes,
        SensitiveAction::EnrolFactor => policy::Action::EnrolFactor,
        SensitiveAction::ChangeIdentity => policy::Action::ChangeIdentity,
    };
    let proofs = policy::SessionProofs {
        second_factor_at: proofs.second_factor_at,
        password_at: proofs.password_at,
    };
    let enrolled = !active_methods(user).is_empty();
    match policy::proof_required(action, enrolled, proofs, clock::now(), &settings::load()) {
        policy::Proof::None => Proof::None,
        policy::Proof::SecondFactor => Proof::SecondFactor,
        policy::Proof::Password => Proof::Password,
    }
}

pub fn enrol_totp(user: &str) -> Result<TotpEnrolment, Violation> {
    if active_totp(user).is_some() {
        return Err(violation(
            "mfa.totp_already_enrolled",
            "factor",
            "an authenticator app is already enrolled; remove it first",
        ));
    }
    // An earlier enrolment never confirmed is replaced, so only one secret is pending.
    for pending in factors::all(user)
        .into_iter()
        .filter(|f| !f.active && f.kind == "totp")
    {
        factors::remove(user, &pending.id);
    }
    let enrolment = factors::enrol_totp(user);
    record(
        "mfa.enrolment_started",
        user,
        json!({ "user_id": user, "factor_id": enrolment.factor_id, "kind": "totp" }),
    );
    Ok(enrolment)
}

pub fn enrol_otp(user: &str, channel: Channel) -> Result<String, Violation> {
    let settings = settings::load();
    let kind = match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    };
    if active_factor(user, kind).is_some() {
        return Err(violation(
            "mfa.already_enrolled",
            "channel",
            "codes already go to this channel",
        ));
    }
    for pending in factors::all(user)
        .into_iter()
        .filter(|f| !f.active && f.kind == kind)
    {
        factors::remove(user, &pending.id);
    }
    let Some(factor_id) = factors::enrol_otp(user, channel) else {
        return Err(violation(
            "mfa.no_phone",
            "channel",
            "add a phone number to your profile first",
        ));
    };
    if admit_send(user, &factor_id, &settings).is_err() {
        return Err(violation(
            "mfa.too_many_codes",
            "channel",
            "too many codes were sent: try again later",
        ));
    }
    factors::send_otp(user, &factor_id, settings.code_ttl_secs);
    record(
        "mfa.enrolment_started",
        user,
        json!({ "user_id": user, "factor_id": factor_id, "kind": kind }),
    );
    Ok(factor_id)
}

/// Confirms a pending factor of any kind with its first code: one from the authenticator app
/// for TOTP, the code that was sent for email and SMS.
pub fn confirm_factor(user: &str, factor_id: &str, code: &str) -> Result<Vec<String>, Violation> {
    let settings = settings::load();
    let Some(factor) = factors::all(user).into_iter().find(|f| f.id == factor_id) else {
        return Err(violation(
            "mfa.unknown_factor",
            "factor_id",
            "no such enrolment",
        ));
    };
    if factor.active {
        return Err(violation(
            "mfa.already_confirmed",
            "factor_id",
            "this factor is already active",
        ));
    }
    let attempts = kv::increment(&format!("confirm:{factor_id}:attempts"), CHALLENGE_TTL);
    if policy::challenge_dead(attempts, &settings) {
        return Err(violation(
            "mfa.too_many_attempts",
            "code",
            "too many wrong codes: start the enrolment again",
        ));
    }
    let code = code.trim();
    let matched = if factor.kind == "totp" {
        match factors::match_totp(user, factor_id, code, SKEW) {
            Some(step) => spend_step(factor_id, step) == Verification::Accepted,
            None => false,
        }
    } else {
        factors::match_otp(user, factor_id, code)
    };
    if !matched {
        return Err(violation(
            "mfa.invalid_code",
            "code",
            "the code is wrong, expired or already used",
        ));
    }
    activate(user, &factor.id, &factor.kind, &settings)
}

/// Activates a confirmed factor; the customer's first also gets recovery codes.
fn activate(
    user: &str,
    factor_id: &str,
    kind: &str,
    settings: &policy::Settings,
) -> Result<Vec<String>, Violation> {
    factors::activate(user, factor_id);
    let codes = if factors::recovery_codes_left(user) == 0 {
        factors::replace_recovery_codes(user, settings.recovery_codes)
    } else {
        Vec::new()
    };
    record(
        "mfa.factor_enrolled",
        user,
        json!({ "user_id": user, "factor_id": factor_id, "kind": kind }),
    );
    notify::send(user, Notice::SecondFactorAdded);
    Ok(codes)
}

pub fn remove_factor(user: &str, factor_id: &str) -> bool {
    let was_active = factors::all(user)
        .iter()
        .any(|f| f.id == factor_id && f.active);
    if !factors::remove(user, factor_id) {
        return false;
    }
    // Without a factor left, recovery codes would be a password's twin: they go too.
    if active_methods(user).is_empty() {
        factors::replace_recovery_codes(user, 0);
    }
    record(
        "mfa.factor_removed",
        user,
        json!({ "user_id": user, "factor_id": factor_id }),
    );
    if was_active {
        notify::send(user, Notice::SecondFactorRemoved);
    }
    true
}

pub fn new_recovery_codes(user: &str) -> Result<Vec<String>, Violation> {
    if active_methods(user).is_empty() {
        return Err(violation(
            "mfa.no_factor",
            "factor",
            "recovery codes need an enrolled second factor",
        ));
    }
    let settings = settings::load();
    let codes = factors::replace_recovery_codes(user, settings.recovery_codes);
    record(
        "mfa.recovery_codes_replaced",
        user,
        json!({ "user_id": user, "count": codes.len() }),
    );
    Ok(codes)
}

/// The customer's active TOTP factor, if any.
fn active_totp(user: &str) -> Option<String> {
    active_factor(user, "totp")
}

/// The customer's active factor of `kind` (`totp`, `email`, `sms`), if any.
fn active_factor(user: &str, kind: &str) -> Option<String> {
    factors::all(user)
        .into_iter()
        .find(|f| f.active && f.kind == kind)
        .map(|f| f.id)
}

/// The methods of the customer's active factors, in enrolment order.
fn active_methods(user: &str) -> Vec<policy::Method> {
    factors::all(user)
        .into_iter()
        .filter(|f| f.active)
        .filter_map(|f| match f.kind.as_str() {
            "totp" => Some(policy::Method::Totp),
            "email" => Some(policy::Method::EmailCode),
            "sms" => Some(policy::Method::SmsCode),
            _ => None,
        })
        .collect()
}

/// Accepts `step` unless it, or a later step, was accepted before for this factor.
fn spend_step(factor_id: &str, step: i64) -> Verification {
    let key = format!("totp-step:{factor_id}");
    let stored = kv::get(&key);
    let last = stored.as_deref().and_then(|v| v.parse().ok());
    if policy::replayed(step, last) {
        return Verification::Replayed;
    }
    // Only if no one spent a step since it was read: of two requests with one code, one wins.
    if !kv::compare_and_set(&key, stored.as_deref(), &step.to_string(), SPENT_STEP_TTL) {
        return Verification::Replayed;
    }
    Verification::Accepted
}

fn failures_key(user: &str) -> String {
    format!("failures:{user}")
}

fn locked_key(user: &str) -> String {
    format!("locked:{user}")
}

fn record_failure(user: &str, purpose: &str, method: &str, reason: &str) {
    record(
        "mfa.challenge_failed",
        user,
        json!({ "user_id": user, "method": method, "purpose": purpose, "reason": reason }),
    );
}

/// Publishes an event and keeps it in the audit trail.
fn record(event_type: &str, user: &str, data: serde_json::Value) {
    let data = data.to_string();
    events::publish(event_type, user, &data);
    audit::append(event_type, user, &data);
}

fn violation(code: &str, field: &str, message: &str) -> Violation {
    Violation {
        code: code.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}
