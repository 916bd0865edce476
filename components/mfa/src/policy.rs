//! The decisions, as pure functions of facts and settings: when a login needs a second factor,
//! when a sensitive action needs a fresh one, and when wrong codes kill a challenge or lock the
//! customer's factors.

/// How the policy is tuned (from `wasi:config`; see `settings.rs` for the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Challenge every login once enrolled (true), or only logins from a new device, after a
    /// password reset, by staff or above the risk threshold (false).
    pub ask_on_known_device: bool,
    /// A login whose risk score reaches this is challenged.
    pub risk_threshold: u8,
    /// A password reset within this many seconds makes the next login challenged.
    pub reset_window_secs: i64,
    /// Wrong codes one login challenge survives.
    pub max_attempts: u64,
    /// Wrong codes in a row (across challenges) that lock the customer's second factors.
    pub lock_after_failures: u64,
    pub lock_secs: u32,
    /// How long a second factor counts as fresh for a sensitive action.
    pub step_up_window_secs: i64,
    /// How long the password given at login (or a re-authentication) counts as fresh for a
    /// sensitive action of a customer with no second factor.
    pub reauth_window_secs: i64,
    /// Recovery codes issued at a time.
    pub recovery_codes: u8,
    /// How long a code sent by email or SMS lives.
    pub code_ttl_secs: u32,
    /// The least time between two codes sent to one factor.
    pub resend_interval_secs: u32,
    /// The most codes sent to one customer in a clock hour.
    pub codes_per_hour: u64,
}

/// What the policy knows about a login whose password was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFacts {
    /// The methods of the customer's active second factors (never `RecoveryCode`), in the
    /// order they were enrolled; empty when the customer has none.
    pub factors: Vec<Method>,
    pub recovery_codes_left: u32,
    /// The customer holds a staff role (admin, compliance, support).
    pub staff: bool,
    pub new_device: bool,
    /// Seconds since the last password reset, if there was one.
    pub since_reset: Option<i64>,
    pub risk: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
    EmailCode,
    SmsCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    None,
    Challenge(Vec<Method>),
    EnrolmentRequired,
}

/// Why a login is challenged, or not; the first reason that applies.
pub fn requirement(facts: &LoginFacts, settings: &Settings) -> Requirement {
    if facts.factors.is_empty() {
        // Staff accounts reach other customers' data: no second factor, no login.
        return if facts.staff {
            Requirement::EnrolmentRequired
        } else {
            Requirement::None
        };
    }
    let recent_reset = facts
        .since_reset
        .is_some_and(|secs| secs <= settings.reset_window_secs);
    let challenge = settings.ask_on_known_device
        || facts.new_device
        || recent_reset
        || facts.staff
        || facts.risk >= settings.risk_threshold;
    if !challenge {
        return Requirement::None;
    }
    let mut methods = facts.factors.clone();
    if facts.recovery_codes_left > 0 {
        methods.push(Method::RecoveryCode);
    }
    Requirement::Challenge(methods)
}

/// The sensitive actions, as the policy tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ChangeEmail,
    ChangePhone,
    /// The request itself carries the current password.
    ChangePassword,
    RemoveFactor,
    NewRecoveryCodes,
    EnrolFactor,
    ChangeIdentity,
}

/// What a sensitive action needs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    None,
    SecondFactor,
    Password,
}

/// What the session has proved, and when (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionProofs {
    pub second_factor_at: Option<i64>,
    pub password_at: Option<i64>,
}

/// What a sensitive action needs now. An enrolled customer gives a second factor, and one given
/// within the step-up window still counts. A customer with none gives the password again when
/// the session's last one is older than the re-authentication window: otherwise a stolen access
/// token alone could enrol the thief's factor or move the account to the thief's address.
pub fn proof_required(
    action: Action,
    enrolled: bool,
    proofs: SessionProofs,
    now: i64,
    settings: &Settings,
) -> Proof {
    let fresh = |at: Option<i64>, window: i64| at.is_some_and(|at| now - at <= window);
    if enrolled {
        return if fresh(proofs.second_factor_at, settings.step_up_window_secs) {
            Proof::None
        } else {
            Proof::SecondFactor
        };
    }
    let needs_password = match action {
        Action::EnrolFactor
        | Action::ChangeEmail
        | Action::ChangePhone
        | Action::ChangeIdentity => true,
        // The password is in the request; with no factor there is nothing to remove or replace.
        Action::ChangePassword | Action::RemoveFactor | Action::NewRecoveryCodes => false,
    };
    if needs_password && !fresh(proofs.password_at, settings.reauth_window_secs) {
        Proof::Password
    } else {
        Proof::None
    }
}

/// A challenge is dead once it has seen more wrong codes than allowed (`attempts` counts this one).
pub fn challenge_dead(attempts: u64, settings: &Settings) -> bool {
    attempts > settings.max_attempts
}

/// Whether `failures` wrong codes in a row lock the customer's second factors.
pub fn locks(failures: u64, settings: &Settings) -> bool {
    failures >= settings.lock_after_failures
}

/// How long to wait before another code may be sent to a factor last sent one at `last_sent`,
/// or `None` when one may be sent now.
pub fn resend_wait(last_sent: Option<i64>, now: i64, settings: &Settings) -> Option<u32> {
    let interval = i64::from(settings.resend_interval_secs);
    let wait = last_sent.map_or(0, |at| at + interval - now);
    (wait > 0).then(|| wait.min(interval) as u32)
}

/// Whether the `count`th code within one clock hour (this one included) is one too many.
pub fn over_hourly_cap(count: u64, settings: &Settings) -> bool {
    count > settings.codes_per_hour
}

/// Seconds until the next clock hour, when the hourly count of codes starts again.
pub fn until_next_hour(now: i64) -> u32 {
    (3600 - now.rem_euclid(3600)) as u32
}

/// A TOTP code is accepted once: a step at or before the last accepted one is a replay.
pub fn replayed(step: i64, last_accepted: Option<i64>) -> bool {
    last_accepted.is_some_and(|last| step <= last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            ask_on_known_device: true,
            risk_threshold: 70,
            reset_window_secs: 7 * 86_400,
            max_attempts: 5,
            lock_after_failures: 10,
            lock_secs: 900,
            step_up_window_secs: 300,
            reauth_window_secs: 300,
            recovery_codes: 10,
            code_ttl_secs: 300,
            resend_interval_secs: 30,
            codes_per_hour: 5,
        }
    }

    fn enrolled() -> LoginFacts {
        LoginFacts {
            factors: vec![Method::Totp],
            recovery_codes_left: 10,
            staff: false,
            new_device: false,
            since_reset: None,
            risk: 0,
        }
    }

    #[test]
    fn an_enrolled_customer_is_always_challenged_by_default() {
        assert_eq!(
            requirement(&enrolled(), &settings()),
            Requirement::Challenge(vec![Method::Totp, Method::RecoveryCode])
        );
    }

    #[test]
    fn recovery_codes_are_offered_only_while_some_are_left() {
        let facts = LoginFacts {
            recovery_codes_left: 0,
            ..enrolled()
        };
        assert_eq!(
            requirement(&facts, &settings()),
            Requirement::Challenge(vec![Method::Totp])
        );
    }

    #[test]
    fn without_a_factor_customers_pass_and_staff_must_enrol() {
        let customer = LoginFacts {
            factors: Vec::new(),
            new_device: true,
            risk: 100,
            ..enrolled()
        };
        assert_eq!(requirement(&customer, &settings()), Requirement::None);
        let staff = LoginFacts {
            staff: true,
            ..customer
        };
        assert_eq!(
            requirement(&staff, &settings()),
            Requirement::EnrolmentRequired
        );
    }

    #[test]
    fn every_active_factor_is_offered_in_enrolment_order() {
        let facts = LoginFacts {
            factors: vec![Method::SmsCode, Method::Totp, Method::EmailCode],
            ..enrolled()
        };
        assert_eq!(
            requirement(&facts, &settings()),
            Requirement::Challenge(vec![
                Method::SmsCode,
                Method::Totp,
                Method::EmailCode,
                Method::RecoveryCode
            ])
        );
    }

    #[test]
    fn codes_are_sent_at_most_once_per_interval_and_so_many_an_hour() {
        let s = settings();
        assert_eq!(resend_wait(None, 1000, &s), None);
        assert_eq!(resend_wait(Some(1000), 1000, &s), Some(30));
        assert_eq!(resend_wait(Some(1000), 1029, &s), Some(1));
        assert_eq!(resend_wait(Some(1000), 1030, &s), None);
        assert!(!over_hourly_cap(5, &s));
        assert!(over_hourly_cap(6, &s));
        assert_eq!(until_next_hour(7200), 3600);
        assert_eq!(until_next_hour(7199), 1);
    }

    #[test]
    fn the_known_device_variant_asks_only_when_something_is_unusual() {
        let relaxed = Settings {
            ask_on_known_device: false,
            ..settings()
        };
        assert_eq!(requirement(&enrolled(), &relaxed), Requirement::None);
        let challenged =
            |facts: LoginFacts| matches!(requirement(&facts, &relaxed), Requirement::Challenge(_));
        assert!(challenged(LoginFacts {
            new_device: true,
            ..enrolled()
        }));
        assert!(challenged(LoginFacts {
            since_reset: Some(3600),
            ..enrolled()
        }));
        assert!(!challenged(LoginFacts {
            since_reset: Some(8 * 86_400),
            ..enrolled()
        }));
        assert!(challenged(LoginFacts {
            staff: true,
            ..enrolled()
        }));
        assert!(challenged(LoginFacts {
            risk: 70,
            ..enrolled()
        }));
        assert!(!challenged(LoginFacts {
            risk: 69,
            ..enrolled()
        }));
    }

    fn proofs(second_factor_at: Option<i64>, password_at: Option<i64>) -> SessionProofs {
        SessionProofs {
            second_factor_at,
            password_at,
        }
    }

    #[test]
    fn step_up_is_needed_unless_a_factor_was_given_within_the_window() {
        let s = settings();
        let needs = |p| proof_required(Action::ChangePassword, true, p, 1000, &s);
        assert_eq!(needs(proofs(None, Some(1000))), Proof::SecondFactor);
        assert_eq!(needs(proofs(Some(1000 - 301), None)), Proof::SecondFactor);
        assert_eq!(needs(proofs(Some(1000 - 300), None)), Proof::None);
        let enrol = proof_required(
            Action::EnrolFactor,
            true,
            proofs(None, Some(1000)),
            1000,
            &s,
        );
        assert_eq!(
            enrol,
            Proof::SecondFactor,
            "a second factor needs the first"
        );
    }

    #[test]
    fn without_a_factor_a_stale_password_is_asked_for_again() {
        let s = settings();
        for action in [
            Action::EnrolFactor,
            Action::ChangeEmail,
            Action::ChangePhone,
            Action::ChangeIdentity,
        ] {
            let at =
                |password_at| proof_required(action, false, proofs(None, password_at), 1000, &s);
            assert_eq!(at(Some(1000 - 300)), Proof::None, "{action:?}");
            assert_eq!(at(Some(1000 - 301)), Proof::Password, "{action:?}");
            assert_eq!(at(None), Proof::Password, "{action:?}");
        }
        for action in [
            Action::ChangePassword,
            Action::RemoveFactor,
            Action::NewRecoveryCodes,
        ] {
            let stale = proof_required(action, false, proofs(None, None), 1000, &s);
            assert_eq!(stale, Proof::None, "{action:?}");
        }
    }

    #[test]
    fn attempts_kill_a_challenge_and_failures_lock() {
        let s = settings();
        assert!(!challenge_dead(5, &s));
        assert!(challenge_dead(6, &s));
        assert!(!locks(9, &s));
        assert!(locks(10, &s));
    }

    #[test]
    fn a_step_is_accepted_once() {
        assert!(!replayed(100, None));
        assert!(!replayed(101, Some(100)));
        assert!(replayed(100, Some(100)));
        assert!(replayed(99, Some(100)));
    }
}
