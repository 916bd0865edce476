//! The mfa policy's specification: the compiled `mfa.wasm` in the real runtime through the test
//! kit, with a fixed clock, codes computed from the enrolled secret as an authenticator app does.

use std::time::Duration;

use totp_rs::{Algorithm, Builder, Secret};
use usvc_testkit::{
    Channel, LoginContext, LoginRequirement, Method, MfaKit, Notice, OtpChannel, Proof, Sending,
    SensitiveAction, SessionProofs, Verification, Violation, components_dir,
};

/// The six-digit code an authenticator app shows at `at` for this base32 secret.
fn code_at(secret: &str, at: i64) -> String {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32"))
        .build()
        .expect("RFC 6238 parameters")
        .generate(at as u64)
        .to_string()
}

/// A wrong code for `at`: the right one with its last digit changed.
fn wrong_code(secret: &str, at: i64) -> String {
    let mut code = code_at(secret, at);
    let last = code.pop().unwrap();
    code.push(if last == '0' { '1' } else { '0' });
    code
}

async fn kit() -> MfaKit {
    MfaKit::new().await
}

/// An active customer with a confirmed authenticator app; returns (user, secret, recovery codes).
async fn enrolled(kit: &MfaKit, email: &str) -> (String, String, Vec<String>) {
    let user = kit.active_customer(email).await;
    let enrolment = kit
        .enrol_totp(user.clone())
        .await
        .expect("enrolment starts");
    let codes = kit
        .confirm_factor(
            user.clone(),
            enrolment.factor_id,
            code_at(&enrolment.secret, kit.now()),
        )
        .await
        .expect("the first code confirms");
    // The confirming code is spent; later tests start from the next step.
    kit.advance(Duration::from_secs(30));
    (user, enrolment.secret, codes)
}

async fn step_up(kit: &MfaKit, user: &str, method: Method, code: &str) -> Verification {
    kit.verify(user.to_owned(), None, method, code.to_owned())
        .await
}

async fn login_code(kit: &MfaKit, user: &str, challenge: &str, code: &str) -> Verification {
    kit.verify(
        user.to_owned(),
        Some(challenge.to_owned()),
        Method::Totp,
        code.to_owned(),
    )
    .await
}

fn context(user: &str) -> LoginContext {
    LoginContext {
        user: user.to_owned(),
        roles: vec!["customer".to_owned()],
        new_device: false,
        password_reset_at: None,
        risk: 0,
    }
}

async fn requirement(kit: &MfaKit, context: LoginContext) -> LoginRequirement {
    kit.login_requirement(context).await
}

#[tokio::test]
async fn enrolment_gives_a_secret_uri_and_recovery_codes_once_confirmed() {
    let kit = kit().await;
    let user = kit.active_customer("ada@example.com").await;
    let enrolment = kit.enrol_totp(user.clone()).await.unwrap();
    assert_eq!(enrolment.secret.len(), 32, "160 bits in base32");
    assert!(
        enrolment
            .uri
            .starts_with("otpauth://totp/usvc:ada%40example.com?"),
        "{}",
        enrolment.uri
    );
    assert!(
        enrolment
            .uri
            .contains(&format!("secret={}", enrolment.secret))
    );
    assert!(enrolment.uri.contains("issuer=usvc"));

    // Not active yet: a login is not challenged.
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::None
    );

    // A wrong first code changes nothing.
    let refused = kit
        .confirm_factor(
            user.clone(),
            enrolment.factor_id.clone(),
            wrong_code(&enrolment.secret, kit.now()),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, "mfa.invalid_code");
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::None
    );

    let codes = kit
        .confirm_factor(
            user.clone(),
            enrolment.factor_id.clone(),
            code_at(&enrolment.secret, kit.now()),
        )
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
    );
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::Challenge(vec![Method::Totp, Method::RecoveryCode])
    );

    // A second authenticator while one is active is refused.
    let again = kit.enrol_totp(user.clone()).await.unwrap_err();
    assert_eq!(again.code, "mfa.totp_already_enrolled");

    let events: Vec<String> = kit
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(events, ["mfa.enrolment_started", "mfa.factor_enrolled"]);
    let trail: Vec<String> = kit
        .audit(&user)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(trail, events);
    // No event or audit record carries a secret or a code.
    for event in kit.events().await {
        let data = event.data.to_string();
        assert!(!data.contains(&enrolment.secret) && !codes.iter().any(|c| data.contains(c)));
    }
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_of_now() {
    let kit = kit().await;
    let (user, secret, _) = enrolled(&kit, "skew@example.com").await;
    let now = kit.now();
    // Two steps early and two steps late are out of the window.
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code_at(&secret, now - 60)).await,
        Verification::Rejected
    );
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code_at(&secret, now + 60)).await,
        Verification::Rejected
    );
    // One step late (the clock of the phone is ahead) is accepted...
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code_at(&secret, now + 30)).await,
        Verification::Accepted
    );
    // ...and after it, the current and the previous step are replays of older codes.
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code_at(&secret, now)).await,
        Verification::Replayed
    );
    kit.advance(Duration::from_secs(60));
    // The accepted step is now the previous one: still a replay. The current one is new.
    let previous = code_at(&secret, kit.now() - 30);
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &previous).await,
        Verification::Replayed
    );
    let current = code_at(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &current).await,
        Verification::Accepted
    );
}

#[tokio::test]
async fn a_code_is_accepted_at_most_once() {
    let kit = kit().await;
    let (user, secret, _) = enrolled(&kit, "replay@example.com").await;
    let code = code_at(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code).await,
        Verification::Accepted
    );
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code).await,
        Verification::Replayed
    );
    kit.advance(Duration::from_secs(30));
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &code).await,
        Verification::Replayed
    );
    let fresh = code_at(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &fresh).await,
        Verification::Accepted
    );
    let failed: Vec<_> = kit
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "mfa.challenge_failed")
        .map(|e| e.data["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failed, ["replayed", "replayed"]);
}

#[tokio::test]
async fn recovery_codes_work_once_and_a_new_set_replaces_the_old() {
    let kit = kit().await;
    let (user, _, codes) = enrolled(&kit, "recovery@example.com").await;
    // Typed in lower case with a space instead of the dash: still the same code.
    let typed = codes[0].to_lowercase().replace('-', " ");
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &typed).await,
        Verification::Accepted
    );
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &codes[0]).await,
        Verification::Rejected
    );
    let used = kit
        .events()
        .await
        .into_iter()
        .find(|e| e.event_type == "mfa.recovery_code_used")
        .unwrap();
    assert_eq!(used.data["left"], 9);

    let fresh = kit.new_recovery_codes(user.clone()).await.unwrap();
    assert_eq!(fresh.len(), 10);
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &codes[1]).await,
        Verification::Rejected
    );
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &fresh[1]).await,
        Verification::Accepted
    );

    // Without a factor there are no recovery codes to issue.
    let stranger = kit.active_customer("none@example.com").await;
    let refused = kit.new_recovery_codes(stranger).await.unwrap_err();
    assert_eq!(refused.code, "mfa.no_factor");
}

#[tokio::test]
async fn a_challenge_dies_after_five_wrong_codes() {
    let kit = kit().await;
    let (user, secret, _) = enrolled(&kit, "challenge@example.com").await;
    for _ in 0..5 {
        let wrong = wrong_code(&secret, kit.now());
        assert_eq!(
            login_code(&kit, &user, "c1", &wrong).await,
            Verification::Rejected
        );
    }
    let right = code_at(&secret, kit.now());
    assert_eq!(
        login_code(&kit, &user, "c1", &right).await,
        Verification::ChallengeDead
    );
    // Another challenge still works.
    assert_eq!(
        login_code(&kit, &user, "c2", &right).await,
        Verification::Accepted
    );
}

#[tokio::test]
async fn ten_failures_lock_second_factors_for_a_while() {
    let kit = kit().await;
    let (user, secret, codes) = enrolled(&kit, "lock@example.com").await;
    for i in 1..10 {
        let wrong = wrong_code(&secret, kit.now());
        assert_eq!(
            step_up(&kit, &user, Method::Totp, &wrong).await,
            Verification::Rejected,
            "failure {i}"
        );
    }
    let wrong = wrong_code(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &wrong).await,
        Verification::Locked
    );
    // Locked: even the right code or a recovery code is refused, and nothing is spent.
    let right = code_at(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &right).await,
        Verification::Locked
    );
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &codes[0]).await,
        Verification::Locked
    );
    assert!(
        kit.events()
            .await
            .iter()
            .any(|e| e.event_type == "mfa.locked")
    );

    kit.advance(Duration::from_secs(901));
    let right = code_at(&secret, kit.now());
    assert_eq!(
        step_up(&kit, &user, Method::Totp, &right).await,
        Verification::Accepted
    );
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &codes[0]).await,
        Verification::Accepted
    );
}

#[tokio::test]
async fn the_default_policy_challenges_every_login_once_enrolled() {
    let kit = kit().await;
    let (user, _, _) = enrolled(&kit, "policy@example.com").await;
    let challenge = LoginRequirement::Challenge(vec![Method::Totp, Method::RecoveryCode]);
    assert_eq!(requirement(&kit, context(&user)).await, challenge);
    assert_eq!(
        requirement(
            &kit,
            LoginContext {
                new_device: true,
                risk: 90,
                ..context(&user)
            }
        )
        .await,
        challenge
    );

    // Not enrolled: customers pass, staff must enrol first.
    let plain = kit.active_customer("plain@example.com").await;
    assert_eq!(
        requirement(
            &kit,
            LoginContext {
                new_device: true,
                risk: 100,
                ..context(&plain)
            }
        )
        .await,
        LoginRequirement::None
    );
    let admin = LoginContext {
        roles: vec!["customer".to_owned(), "admin".to_owned()],
        ..context(&plain)
    };
    assert_eq!(
        requirement(&kit, admin).await,
        LoginRequirement::EnrolmentRequired
    );
}

#[tokio::test]
async fn the_relaxed_setting_asks_only_when_something_is_unusual() {
    let kit = MfaKit::builder()
        .setting("ask-on-known-device", "false")
        .setting("risk-threshold", "50")
        .build()
        .await;
    let (user, _, codes) = enrolled(&kit, "relaxed@example.com").await;
    let challenged = |r: LoginRequirement| matches!(r, LoginRequirement::Challenge(_));
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::None
    );
    assert!(challenged(
        requirement(
            &kit,
            LoginContext {
                new_device: true,
                ..context(&user)
            }
        )
        .await
    ));
    assert!(challenged(
        requirement(
            &kit,
            LoginContext {
                risk: 50,
                ..context(&user)
            }
        )
        .await
    ));
    assert!(!challenged(
        requirement(
            &kit,
            LoginContext {
                risk: 49,
                ..context(&user)
            }
        )
        .await
    ));
    let reset = |ago: i64| LoginContext {
        password_reset_at: Some(kit.now() - ago),
        ..context(&user)
    };
    assert!(challenged(requirement(&kit, reset(3600)).await));
    assert!(!challenged(requirement(&kit, reset(8 * 86_400)).await));
    let staff = LoginContext {
        roles: vec!["customer".to_owned(), "support".to_owned()],
        ..context(&user)
    };
    assert!(challenged(requirement(&kit, staff).await));

    // With every recovery code spent, only the authenticator is offered.
    for code in &codes {
        assert_eq!(
            step_up(&kit, &user, Method::RecoveryCode, code).await,
            Verification::Accepted
        );
    }
    assert_eq!(
        requirement(
            &kit,
            LoginContext {
                new_device: true,
                ..context(&user)
            }
        )
        .await,
        LoginRequirement::Challenge(vec![Method::Totp])
    );
}

#[tokio::test]
async fn the_known_devices_variant_is_relaxed_by_default() {
    let kit = MfaKit::builder()
        .component(components_dir().join("mfa-known-devices.wasm"))
        .build()
        .await;
    let (user, _, _) = enrolled(&kit, "variant@example.com").await;
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::None
    );
    assert!(matches!(
        requirement(
            &kit,
            LoginContext {
                new_device: true,
                ..context(&user)
            }
        )
        .await,
        LoginRequirement::Challenge(_)
    ));
}

#[tokio::test]
async fn step_up_is_needed_unless_a_factor_was_given_recently() {
    let kit = kit().await;
    let plain = kit.active_customer("plain@example.com").await;
    let needs = |user: String, action: SensitiveAction, proofs: SessionProofs| {
        let kit = &kit;
        async move { kit.proof_required(user, action, proofs).await }
    };
    // Nothing to step up with: the password in the request is all a change of it needs.
    let change = SensitiveAction::ChangePassword;
    let fresh_password = SessionProofs {
        second_factor_at: None,
        password_at: Some(kit.now()),
    };
    assert_eq!(
        needs(plain.clone(), change, fresh_password).await,
        Proof::None
    );
    let (user, _, _) = enrolled(&kit, "stepup@example.com").await;
    let now = kit.now();
    let second_factor = |at: Option<i64>| SessionProofs {
        second_factor_at: at,
        password_at: Some(now),
    };
    assert_eq!(
        needs(user.clone(), change, second_factor(None)).await,
        Proof::SecondFactor
    );
    assert_eq!(
        needs(user.clone(), change, second_factor(Some(now - 300))).await,
        Proof::None
    );
    assert_eq!(
        needs(user.clone(), change, second_factor(Some(now - 301))).await,
        Proof::SecondFactor
    );
    // Enrolling another factor needs the one enrolled.
    assert_eq!(
        needs(user, SensitiveAction::EnrolFactor, second_factor(None)).await,
        Proof::SecondFactor
    );
}

#[tokio::test]
async fn without_a_factor_enrolling_one_or_moving_the_account_needs_a_recent_password() {
    let kit = kit().await;
    let plain = kit.active_customer("reauth@example.com").await;
    let now = kit.now();
    for action in [
        SensitiveAction::EnrolFactor,
        SensitiveAction::ChangeEmail,
        SensitiveAction::ChangePhone,
        SensitiveAction::ChangeIdentity,
    ] {
        let at = |password_at: i64| SessionProofs {
            second_factor_at: None,
            password_at: Some(password_at),
        };
        let proof = |p| kit.proof_required(plain.clone(), action, p);
        assert_eq!(proof(at(now - 300)).await, Proof::None, "{action:?}");
        assert_eq!(proof(at(now - 301)).await, Proof::Password, "{action:?}");
    }
}

#[tokio::test]
async fn removing_the_last_factor_removes_the_recovery_codes() {
    let kit = kit().await;
    let (user, _, codes) = enrolled(&kit, "remove@example.com").await;
    let factors = kit
        .remove_factor(user.clone(), "not-a-factor".to_owned())
        .await;
    assert!(!factors);
    let factor = kit.factor_ids(&user).await.remove(0);
    assert!(kit.remove_factor(user.clone(), factor).await);
    assert_eq!(
        requirement(&kit, context(&user)).await,
        LoginRequirement::None
    );
    assert_eq!(
        step_up(&kit, &user, Method::RecoveryCode, &codes[0]).await,
        Verification::Rejected
    );
    assert!(
        kit.events()
            .await
            .iter()
            .any(|e| e.event_type == "mfa.factor_removed")
    );
}

/// The code of the last second-factor message sent to `to`.
fn last_code(kit: &MfaKit, to: &str) -> String {
    kit.notices()
        .into_iter()
        .rev()
        .find(|n| n.to == to && n.notice == Notice::SecondFactorCode)
        .and_then(|n| n.code)
        .expect("a code was sent")
}

async fn enrol_otp(kit: &MfaKit, user: &str, channel: OtpChannel) -> Result<String, Violation> {
    kit.enrol_otp(user.to_owned(), channel).await
}

async fn confirm_otp(
    kit: &MfaKit,
    user: &str,
    factor: &str,
    code: &str,
) -> Result<Vec<String>, Violation> {
    kit.confirm_factor(user.to_owned(), factor.to_owned(), code.to_owned())
        .await
}

async fn send(kit: &MfaKit, user: &str, challenge: Option<&str>, method: Method) -> Sending {
    kit.send_code(user.to_owned(), challenge.map(str::to_owned), method)
        .await
}

/// A customer whose second factor is a code by email, confirmed; the resend interval has passed.
async fn email_enrolled(kit: &MfaKit, email: &str) -> String {
    let user = kit.active_customer(email).await;
    let factor = enrol_otp(kit, &user, OtpChannel::Email)
        .await
        .expect("enrolment starts");
    let codes = confirm_otp(kit, &user, &factor, &last_code(kit, email))
        .await
        .expect("the code sent confirms it");
    assert_eq!(codes.len(), 10, "the first factor brings recovery codes");
    kit.advance(Duration::from_secs(31));
    user
}

#[tokio::test]
async fn an_email_factor_is_enrolled_with_the_code_it_receives() {
    let kit = kit().await;
    let user = kit.active_customer("otp@example.com").await;
    let factor = enrol_otp(&kit, &user, OtpChannel::Email).await.unwrap();
    let notice = kit.notices().pop().expect("a code was sent");
    assert_eq!(
        (notice.channel, notice.to.as_str(), notice.notice),
        (Channel::Email, "otp@example.com", Notice::SecondFactorCode)
    );
    let code = notice.code.expect("the message carries the code");
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = confirm_otp(&kit, &user, &factor, wrong).await.unwrap_err();
    assert_eq!(refused.code, "mfa.invalid_code");
    confirm_otp(&kit, &user, &factor, &code).await.unwrap();
    let again = enrol_otp(&kit, &user, OtpChannel::Email).await.unwrap_err();
    assert_eq!(again.code, "mfa.already_enrolled");
    let types: Vec<String> = kit
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(
        types.contains(&"mfa.factor_enrolled".to_owned()),
        "{types:?}"
    );
}

#[tokio::test]
async fn an_sms_factor_needs_a_phone_and_sends_by_sms() {
    let kit = kit().await;
    let user = kit.active_customer("sms@example.com").await;
    let refused = enrol_otp(&kit, &user, OtpChannel::Sms).await.unwrap_err();
    assert_eq!(refused.code, "mfa.no_phone");

    kit.set_phone(&user, "+447700900123").await;
    let factor = enrol_otp(&kit, &user, OtpChannel::Sms).await.unwrap();
    let notice = kit.notices().pop().unwrap();
    assert_eq!(
        (notice.channel, notice.to.as_str()),
        (Channel::Sms, "+447700900123")
    );
    confirm_otp(&kit, &user, &factor, &notice.code.unwrap())
        .await
        .unwrap();
    kit.advance(Duration::from_secs(31));
    let context = LoginContext {
        user: user.clone(),
        roles: Vec::new(),
        new_device: false,
        password_reset_at: None,
        risk: 0,
    };
    assert_eq!(
        requirement(&kit, context).await,
        LoginRequirement::Challenge(vec![Method::SmsCode, Method::RecoveryCode])
    );
}

#[tokio::test]
async fn a_sent_code_completes_a_login_once() {
    let kit = kit().await;
    let user = email_enrolled(&kit, "login-otp@example.com").await;
    assert_eq!(
        send(&kit, &user, Some("ch-1"), Method::EmailCode).await,
        Sending::Sent
    );
    let code = last_code(&kit, "login-otp@example.com");
    let verify = |code: String| {
        let kit = &kit;
        let user = user.clone();
        async move {
            kit.verify(user, Some("ch-1".to_owned()), Method::EmailCode, code)
                .await
        }
    };
    assert_eq!(verify(code.clone()).await, Verification::Accepted);
    assert_eq!(
        verify(code).await,
        Verification::Rejected,
        "a spent code opens nothing"
    );
    // TOTP is not enrolled: its method finds no factor.
    assert_eq!(
        send(&kit, &user, None, Method::SmsCode).await,
        Sending::Unavailable
    );
    assert_eq!(
        send(&kit, &user, None, Method::Totp).await,
        Sending::Unavailable
    );
}

#[tokio::test]
async fn a_code_expires_and_a_new_one_replaces_the_old() {
    let kit = kit().await;
    let user = email_enrolled(&kit, "expiry@example.com").await;
    send(&kit, &user, None, Method::EmailCode).await;
    let first = last_code(&kit, "expiry@example.com");
    kit.advance(Duration::from_secs(31));
    send(&kit, &user, None, Method::EmailCode).await;
    let second = last_code(&kit, "expiry@example.com");
    if first != second {
        assert_eq!(
            step_up(&kit, &user, Method::EmailCode, &first).await,
            Verification::Rejected,
            "the earlier code stopped working"
        );
    }
    kit.advance(Duration::from_secs(300));
    assert_eq!(
        step_up(&kit, &user, Method::EmailCode, &second).await,
        Verification::Rejected,
        "five minutes on, the code has expired"
    );
    kit.advance(Duration::from_secs(31));
    send(&kit, &user, None, Method::EmailCode).await;
    let third = last_code(&kit, "expiry@example.com");
    assert_eq!(
        step_up(&kit, &user, Method::EmailCode, &third).await,
        Verification::Accepted
    );
}

#[tokio::test]
async fn codes_are_throttled_per_factor_and_per_hour() {
    let kit = kit().await;
    let user = email_enrolled(&kit, "throttle@example.com").await;
    // The enrolment sent one code this hour; move to the start of a fresh clock hour.
    let into_hour = kit.now().rem_euclid(3600);
    kit.advance(Duration::from_secs((3600 - into_hour) as u64));
    assert_eq!(
        send(&kit, &user, None, Method::EmailCode).await,
        Sending::Sent
    );
    assert_eq!(
        send(&kit, &user, None, Method::EmailCode).await,
        Sending::Throttled(30),
        "one code per factor every 30 seconds"
    );
    kit.advance(Duration::from_secs(10));
    assert_eq!(
        send(&kit, &user, None, Method::EmailCode).await,
        Sending::Throttled(20)
    );
    for _ in 0..4 {
        kit.advance(Duration::from_secs(30));
        assert_eq!(
            send(&kit, &user, None, Method::EmailCode).await,
            Sending::Sent
        );
    }
    kit.advance(Duration::from_secs(30));
    // Five codes this hour: the sixth waits for the next hour (3600 - 10 - 5 * 30 seconds).
    assert_eq!(
        send(&kit, &user, None, Method::EmailCode).await,
        Sending::Throttled(3440)
    );
    let sent = kit
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "mfa.code_sent")
        .count();
    assert_eq!(sent, 5);
}

#[tokio::test]
async fn wrong_sent_codes_count_towards_the_challenge_and_the_lock() {
    let kit = kit().await;
    let user = email_enrolled(&kit, "attempts@example.com").await;
    send(&kit, &user, Some("ch-2"), Method::EmailCode).await;
    let code = last_code(&kit, "attempts@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            kit.verify(
                user.clone(),
                Some("ch-2".to_owned()),
                Method::EmailCode,
                wrong.to_owned(),
            )
            .await,
            Verification::Rejected
        );
    }
    assert_eq!(
        kit.verify(
            user.clone(),
            Some("ch-2".to_owned()),
            Method::EmailCode,
            code,
        )
        .await,
        Verification::ChallengeDead,
        "the sixth attempt finds the challenge dead, even with the right code"
    );
}

#[tokio::test]
async fn an_otp_factor_counts_for_step_up_and_its_removal_takes_the_recovery_codes() {
    let kit = kit().await;
    let user = email_enrolled(&kit, "stepup-otp@example.com").await;
    assert!(
        kit.proof_required(
            user.clone(),
            SensitiveAction::ChangeEmail,
            SessionProofs::default()
        )
        .await
            == Proof::SecondFactor
    );
    let factor = kit.factor_ids(&user).await.pop().unwrap();
    assert!(kit.remove_factor(user.clone(), factor).await);
    assert_eq!(kit.recovery_codes_left(&user).await, 0);
    let told: Vec<Notice> = kit
        .notices()
        .into_iter()
        .filter(|n| n.notice != Notice::SecondFactorCode)
        .map(|n| n.notice)
        .collect();
    assert_eq!(
        told,
        [Notice::SecondFactorAdded, Notice::SecondFactorRemoved],
        "the customer hears of every factor added or removed"
    );
}
