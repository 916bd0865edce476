//! Calls into the mfa component, in the host's own types.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    Ask, CallError, ComponentKind, Runtime,
    bindings::{
        mfa::exports::usvc::host::second_factor as wit,
        usvc::host::factors::Channel as FactorChannel,
    },
    onboarding::Violation,
    registry::Prepared,
};
use crate::capabilities::Capabilities;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Totp,
    RecoveryCode,
    EmailCode,
    SmsCode,
}

impl Method {
    /// The RFC 8176 `amr` value a login completed with this method adds (beside `mfa`).
    pub fn amr(self) -> &'static str {
        match self {
            Self::Totp | Self::EmailCode => "otp",
            Self::RecoveryCode => "kba",
            Self::SmsCode => "sms",
        }
    }

    fn to_wit(self) -> wit::Method {
        match self {
            Self::Totp => wit::Method::Totp,
            Self::RecoveryCode => wit::Method::RecoveryCode,
            Self::EmailCode => wit::Method::EmailCode,
            Self::SmsCode => wit::Method::SmsCode,
        }
    }
}

/// Where a one-time-code factor sends its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OtpChannel {
    Email,
    Sms,
}

/// The answer to a request for a one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    Sent,
    /// Ask again after this many seconds.
    Throttled(u32),
    /// No active factor sends codes for that method.
    Unavailable,
}

/// What the host knows about a login whose password was right.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginContext {
    pub user: String,
    pub roles: Vec<String>,
    pub new_device: bool,
    pub password_reset_at: Option<i64>,
    pub risk: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRequirement {
    None,
    Challenge(Vec<Method>),
    EnrolmentRequired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    Accepted,
    Rejected,
    Replayed,
    ChallengeDead,
    Locked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SensitiveAction {
    ChangeEmail,
    ChangePhone,
    ChangePassword,
    RemoveFactor,
    NewRecoveryCodes,
    EnrolFactor,
    ChangeIdentity,
}

/// What a session has proved, and when (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SessionProofs {
    pub second_factor_at: Option<i64>,
    pub password_at: Option<i64>,
}

/// What a sensitive action needs before the host performs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    None,
    SecondFactor,
    Password,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotpEnrolment {
    pub factor_id: String,
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/...`.
    pub uri: String,
}

fn method_from_wit(m: wit::Method) -> Method {
    match m {
        wit::Method::Totp => Method::Totp,
        wit::Method::RecoveryCode => Method::RecoveryCode,
        wit::Method::EmailCode => Method::EmailCode,
        wit::Method::SmsCode => Method::SmsCode,
    }
}

fn verification_from_wit(v: wit::Verification) -> Verification {
    match v {
        wit::Verification::Accepted => Verification::Accepted,
        wit::Verification::Rejected => Verification::Rejected,
        wit::Verification::Replayed => Verification::Replayed,
        wit::Verification::ChallengeDead => Verification::ChallengeDead,
        wit::Verification::Locked => Verification::Locked,
    }
}

/// Calls one export of the active mfa component: `$call` is the generated method, `$ask` what
/// is asked, `$commits` decides from its answer whether the call's unit of work commits and
/// `$outcome` names the answer in the decision log.
macro_rules! call_mfa {
    ($runtime:expr, $caps:expr, $ask:expr, $commits:expr, $outcome:expr, $call:ident ( $($arg:expr),* )) => {
        $runtime
            .call($caps, $ask, $commits, $outcome, |store, component| {
                Box::pin(async move {
                    let Prepared::Mfa(pre) = &component.prepared else {
                        wasmtime::bail!("the active mfa component is of another kind");
                    };
                    let instance = pre.instantiate_async(&mut *store).await?;
                    instance
                        .usvc_host_second_factor()
                        .$call(&mut *store, $($arg),*)
                        .await
                })
            })
            .await
    };
}

impl Runtime {
    /// Whether a login with a right password needs a second factor. Writes nothing.
    pub async fn mfa_login_requirement(
        &self,
        caps: &Arc<Capabilities>,
        context: LoginContext,
    ) -> Result<LoginRequirement, CallError> {
        let ask = Ask::new(ComponentKind::Mfa, "assess-login", &context)
            .about(&context.user)
            .replayable(&context);
        let answer = self.mfa_assess_login(caps, ask, context).await?;
        Ok(match answer {
            wit::LoginRequirement::None => LoginRequirement::None,
            wit::LoginRequirement::EnrolmentRequired => LoginRequirement::EnrolmentRequired,
            wit::LoginRequirement::Challenge(methods) => {
                LoginRequirement::Challenge(methods.into_iter().map(method_from_wit).collect())
            }
        })
    }

    /// The mfa component's `assess-login` on `context`, asked as `ask` (also how a recorded
    /// decision is replayed).
    pub async fn mfa_assess_login(
        &self,
        caps: &Arc<Capabilities>,
        ask: Ask,
        context: LoginContext,
    ) -> Result<wit::LoginRequirement, CallError> {
        let context = wit::LoginContext {
            user: context.user,
            roles: context.roles,
            new_device: context.new_device,
            password_reset_at: context.password_reset_at,
            risk: context.risk,
        };
        call_mfa!(
            self,
            caps,
            ask,
            |_| false,
            login_requirement_outcome,
            call_assess_login(&context)
        )
    }

    /// Checks a code for a login challenge (`Some`) or a step-up (`None`). Always commits: a
    /// wrong code is recorded and a spent recovery code stays spent.
    pub async fn mfa_verify(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        challenge: Option<String>,
        method: Method,
        code: String,
    ) -> Result<Verification, CallError> {
        let method = method.to_wit();
        let outcome = |v: &wit::Verification| format!("{:?}", verification_from_wit(*v));
        let answer = match challenge {
            Some(challenge) => call_mfa!(
                self,
                caps,
                Ask::new(
                    ComponentKind::Mfa,
                    "verify-login",
                    &(&challenge, method, &code)
                )
                .about(&user),
                |_| true,
                outcome,
                call_verify_login(&user, &challenge, method, &code)
            )?,
            None => call_mfa!(
                self,
                caps,
                Ask::new(ComponentKind::Mfa, "verify-step-up", &(method, &code)).about(&user),
                |_| true,
                outcome,
                call_verify_step_up(&user, method, &code)
            )?,
        };
        Ok(verification_from_wit(answer))
    }

    /// What `action` needs first, given what the session has proved. Writes nothing.
    pub async fn mfa_proof_required(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        action: SensitiveAction,
        proofs: SessionProofs,
    ) -> Result<Proof, CallError> {
        let action = match action {
            SensitiveAction::ChangeEmail => wit::SensitiveAction::ChangeEmail,
            SensitiveAction::ChangePhone => wit::SensitiveAction::ChangePhone,
            SensitiveAction::ChangePassword => wit::SensitiveAction::ChangePassword,
            SensitiveAction::RemoveFactor => wit::SensitiveAction::RemoveFactor,
            SensitiveAction::NewRecoveryCodes => wit::SensitiveAction::NewRecoveryCodes,
            SensitiveAction::EnrolFactor => wit::SensitiveAction::EnrolFactor,
            SensitiveAction::ChangeIdentity => wit::SensitiveAction::ChangeIdentity,
        };
        let wit_proofs = wit::SessionProofs {
            second_factor_at: proofs.second_factor_at,
            password_at: proofs.password_at,
        };
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "proof-required", &(action, proofs)).about(&user),
            |_| false,
            |proof: &wit::Proof| match proof {
                wit::Proof::None => "none",
                wit::Proof::SecondFactor => "second_factor",
                wit::Proof::Password => "password",
            }
            .to_owned(),
            call_proof_required(&user, action, wit_proofs)
        )?;
        Ok(match answer {
            wit::Proof::None => Proof::None,
            wit::Proof::SecondFactor => Proof::SecondFactor,
            wit::Proof::Password => Proof::Password,
        })
    }

    pub async fn mfa_enrol_totp(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
    ) -> Result<Result<TotpEnrolment, Violation>, CallError> {
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "enrol-totp", &()).about(&user),
            Result::is_ok,
            |answer: &Result<_, _>| result_outcome("enrolled", answer),
            call_enrol_totp(&user)
        )?;
        Ok(answer
            .map(|e| TotpEnrolment {
                factor_id: e.factor_id,
                secret: e.secret,
                uri: e.uri,
            })
            .map_err(violation))
    }

    /// Sends a one-time code for a login challenge (`Some`) or a step-up (`None`). Commits when
    /// a code was sent, so it is delivered.
    pub async fn mfa_send_code(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        challenge: Option<String>,
        method: Method,
    ) -> Result<Sending, CallError> {
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "send-code", &(&challenge, method)).about(&user),
            |sending| matches!(sending, wit::Sending::Sent),
            |sending: &wit::Sending| {
                match sending {
                    wit::Sending::Sent => "sent",
                    wit::Sending::Throttled(_) => "throttled",
                    wit::Sending::Unavailable => "unavailable",
                }
                .to_owned()
            },
            call_send_code(&user, challenge.as_deref(), method.to_wit())
        )?;
        Ok(match answer {
            wit::Sending::Sent => Sending::Sent,
            wit::Sending::Throttled(secs) => Sending::Throttled(secs),
            wit::Sending::Unavailable => Sending::Unavailable,
        })
    }

    /// Starts a one-time-code enrolment and sends its first code; the factor id.
    pub async fn mfa_enrol_otp(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        channel: OtpChannel,
    ) -> Result<Result<String, Violation>, CallError> {
        let channel = match channel {
            OtpChannel::Email => FactorChannel::Email,
            OtpChannel::Sms => FactorChannel::Sms,
        };
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "enrol-otp", &channel).about(&user),
            Result::is_ok,
            |answer: &Result<_, _>| result_outcome("enrolled", answer),
            call_enrol_otp(&user, channel)
        )?;
        Ok(answer.map_err(violation))
    }

    /// Confirms a pending factor of any kind with its first code; the recovery codes when it
    /// was the customer's first factor.
    pub async fn mfa_confirm_factor(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        factor_id: String,
        code: String,
    ) -> Result<Result<Vec<String>, Violation>, CallError> {
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "confirm-factor", &(&factor_id, &code)).about(&user),
            Result::is_ok,
            |answer: &Result<_, _>| result_outcome("confirmed", answer),
            call_confirm_factor(&user, &factor_id, &code)
        )?;
        Ok(answer.map_err(violation))
    }

    pub async fn mfa_remove_factor(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
        factor_id: String,
    ) -> Result<bool, CallError> {
        call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "remove-factor", &factor_id).about(&user),
            |removed| *removed,
            |removed: &bool| if *removed { "removed" } else { "not_removed" }.to_owned(),
            call_remove_factor(&user, &factor_id)
        )
    }

    pub async fn mfa_new_recovery_codes(
        &self,
        caps: &Arc<Capabilities>,
        user: String,
    ) -> Result<Result<Vec<String>, Violation>, CallError> {
        let answer = call_mfa!(
            self,
            caps,
            Ask::new(ComponentKind::Mfa, "new-recovery-codes", &()).about(&user),
            Result::is_ok,
            |answer: &Result<_, _>| result_outcome("issued", answer),
            call_new_recovery_codes(&user)
        )?;
        Ok(answer.map_err(violation))
    }
}

fn violation(v: super::bindings::usvc::host::types::Violation) -> Violation {
    Violation {
        code: v.code,
        field: v.field,
        message: v.message,
    }
}

/// `assess-login`'s answer in the decision log.
pub fn login_requirement_outcome(answer: &wit::LoginRequirement) -> String {
    match answer {
        wit::LoginRequirement::None => "none".to_owned(),
        wit::LoginRequirement::EnrolmentRequired => "enrolment_required".to_owned(),
        wit::LoginRequirement::Challenge(methods) => {
            let methods: Vec<String> = methods
                .iter()
                .map(|m| format!("{:?}", method_from_wit(*m)))
                .collect();
            format!("challenge:{}", methods.join(","))
        }
    }
}

/// An answer that is either done (`done`) or refused with a violation, in the decision log.
fn result_outcome<T>(
    done: &str,
    answer: &Result<T, super::bindings::usvc::host::types::Violation>,
) -> String {
    match answer {
        Ok(_) => done.to_owned(),
        Err(v) => format!("refused:{}", v.code),
    }
}
