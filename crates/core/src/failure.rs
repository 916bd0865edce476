//! One classification of every domain failure: a [`Kind`] both front doors render (HTTP as a
//! problem document, gRPC as a status code), a stable [`Reason`] callers branch on, and a detail
//! fit to show the caller. Each domain error maps to a [`Failure`] once, beside its definition;
//! what went wrong inside travels as `source`, for the log only.

use std::{borrow::Cow, time::Duration};

use usvc_types::Violation;

use crate::{guard::Refusal, runtime::CallError};

/// What kind of failure it is, whichever door the request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input breaks a rule (with `violations`) or a code or token was refused.
    Invalid,
    NotFound,
    /// The resource's state does not allow the request.
    Conflict,
    /// The request was based on a version that is no longer current; nothing changed.
    Stale,
    Unauthenticated,
    Forbidden,
    /// Too many attempts; try again after `retry_after`.
    Limited,
    /// A dependency (database, object store, component) did not answer; nothing changed.
    Unavailable,
    Internal,
}

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// Why a request failed, stable across releases: gRPC sends it as `ErrorInfo.reason`,
        /// HTTP as the problem's `reason` member (and picks the problem `type` by it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Reason {
            $($(#[$doc])* $name,)*
        }

        impl Reason {
            pub const ALL: &[Reason] = &[$(Reason::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => $text,)*
                }
            }
        }
    };
}

reasons! {
    /// The input breaks business rules; `violations` names each.
    Validation = "VALIDATION",
    NotFound = "NOT_FOUND",
    Conflict = "CONFLICT",
    StaleVersion = "STALE_VERSION",
    /// Unknown email or wrong password: deliberately one answer.
    InvalidCredentials = "INVALID_CREDENTIALS",
    /// No access token, or not a well-formed one.
    TokenMissing = "TOKEN_MISSING",
    TokenInvalid = "TOKEN_INVALID",
    TokenExpired = "TOKEN_EXPIRED",
    SessionEnded = "SESSION_ENDED",
    RefreshTokenInvalid = "REFRESH_TOKEN_INVALID",
    ChallengeInvalid = "CHALLENGE_INVALID",
    EmailNotVerified = "EMAIL_NOT_VERIFIED",
    AccountUnavailable = "ACCOUNT_UNAVAILABLE",
    SecondFactorEnrolmentRequired = "SECOND_FACTOR_ENROLMENT_REQUIRED",
    StepUpRequired = "STEP_UP_REQUIRED",
    ReauthenticationRequired = "REAUTHENTICATION_REQUIRED",
    WrongPassword = "WRONG_PASSWORD",
    AdminRoleRequired = "ADMIN_ROLE_REQUIRED",
    MfaLocked = "MFA_LOCKED",
    MfaMethodNotAllowed = "MFA_METHOD_NOT_ALLOWED",
    MfaMethodUnavailable = "MFA_METHOD_UNAVAILABLE",
    MfaCodeRejected = "MFA_CODE_REJECTED",
    InvalidCode = "INVALID_CODE",
    ExpiredCode = "EXPIRED_CODE",
    InvalidResetToken = "INVALID_RESET_TOKEN",
    DocumentNotUploaded = "DOCUMENT_NOT_UPLOADED",
    DocumentNotConfirmed = "DOCUMENT_NOT_CONFIRMED",
    DocumentAltered = "DOCUMENT_ALTERED",
    DocumentSettled = "DOCUMENT_SETTLED",
    /// A presigned object URL that was altered or has expired.
    UrlRefused = "URL_REFUSED",
    RateLimited = "RATE_LIMITED",
    LoginDelayed = "LOGIN_DELAYED",
    LoginLocked = "LOGIN_LOCKED",
    ComponentTimeout = "COMPONENT_TIMEOUT",
    ComponentUnavailable = "COMPONENT_UNAVAILABLE",
    ComponentFailed = "COMPONENT_FAILED",
    DependencyUnavailable = "DEPENDENCY_UNAVAILABLE",
    Internal = "INTERNAL",
}

/// A classified failure: what the caller is told, and (in `source`) what the log keeps.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct Failure {
    pub kind: Kind,
    pub reason: Reason,
    /// Fit to show the caller: never an internal detail.
    pub detail: Cow<'static, str>,
    /// Every rule the input broke (`Kind::Invalid` with `Reason::Validation`).
    pub violations: Vec<Violation>,
    pub retry_after: Option<Duration>,
    /// What went wrong inside, for the log only.
    #[source]
    pub source: Option<anyhow::Error>,
}

const NOTHING_CHANGED: &str = "Nothing was changed. Try again later.";

impl Failure {
    pub fn new(kind: Kind, reason: Reason, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            reason,
            detail: detail.into(),
            violations: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// The input breaks these rules.
    pub fn invalid(violations: Vec<Violation>) -> Self {
        Self {
            violations,
            ..Self::new(
                Kind::Invalid,
                Reason::Validation,
                "See `violations` for every rule broken.",
            )
        }
    }

    /// One field breaks one rule.
    pub fn invalid_field(field: &str, code: &str, message: &str) -> Self {
        Self::invalid(vec![Violation {
            code: code.to_owned(),
            field: field.to_owned(),
            message: message.to_owned(),
        }])
    }

    /// A refused code or token (a one-time code, a challenge, a reset token).
    pub fn refused(reason: Reason, detail: &'static str) -> Self {
        Self::new(Kind::Invalid, reason, detail)
    }

    /// No such resource, or not one the caller may see (alike).
    pub fn not_found(detail: &'static str) -> Self {
        Self::new(Kind::NotFound, Reason::NotFound, detail)
    }

    pub fn conflict(reason: Reason, detail: &'static str) -> Self {
        Self::new(Kind::Conflict, reason, detail)
    }

    pub fn stale() -> Self {
        Self::new(
            Kind::Stale,
            Reason::StaleVersion,
            "Nothing was changed: the data changed since the version given. Read it again and retry.",
        )
    }

    pub fn unauthenticated(reason: Reason, detail: &'static str) -> Self {
        Self::new(Kind::Unauthenticated, reason, detail)
    }

    pub fn forbidden(reason: Reason, detail: &'static str) -> Self {
        Self::new(Kind::Forbidden, reason, detail)
    }

    /// Too many attempts of something that sends or checks codes.
    pub fn rate_limited(retry_after: Duration) -> Self {
        Refusal::RateLimited { retry_after }.into()
    }

    /// A dependency (the database, the object store) did not answer.
    pub fn unavailable(source: anyhow::Error) -> Self {
        Self::new(
            Kind::Unavailable,
            Reason::DependencyUnavailable,
            NOTHING_CHANGED,
        )
        .caused_by(source)
    }

    pub fn internal(source: anyhow::Error) -> Self {
        Self::new(
            Kind::Internal,
            Reason::Internal,
            "The failure has been logged.",
        )
        .caused_by(source)
    }

    pub fn caused_by(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Whether the fault is the service's (logged as an error) rather than the caller's.
    pub fn is_fault(&self) -> bool {
        matches!(self.kind, Kind::Internal | Kind::Unavailable)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // Unreachable or saturated: the same answer a failed capability gets.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::unavailable(e.into())
            }
            e => Self::internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(e)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        let (reason, detail) = match refusal {
            Refusal::RateLimited { .. } => (
                Reason::RateLimited,
                "Too many attempts. Try again after the time in `Retry-After`.",
            ),
            Refusal::SlowDown { .. } => (
                Reason::LoginDelayed,
                "After failed logins each attempt must wait a little longer. Try again after the time in `Retry-After`.",
            ),
            Refusal::LockedOut { .. } => (
                Reason::LoginLocked,
                "Too many failed logins: login is locked for a while. Try again after the time in `Retry-After`, or reset the password.",
            ),
        };
        Self {
            retry_after: Some(refusal.retry_after()),
            ..Self::new(Kind::Limited, reason, detail)
        }
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        let (kind, reason, detail) = match &e {
            CallError::Timeout(_) => (Kind::Unavailable, Reason::ComponentTimeout, NOTHING_CHANGED),
            CallError::NotLoaded(_) => (
                Kind::Unavailable,
                Reason::ComponentUnavailable,
                NOTHING_CHANGED,
            ),
            CallError::Capability(_) => (
                Kind::Unavailable,
                Reason::DependencyUnavailable,
                NOTHING_CHANGED,
            ),
            CallError::SandboxLimit { limit, .. } if limit.is_customers() => {
                (Kind::Limited, Reason::RateLimited, NOTHING_CHANGED)
            }
            CallError::Trapped { .. }
            | CallError::MemoryExceeded(_)
            | CallError::SandboxLimit { .. } => (
                Kind::Internal,
                Reason::ComponentFailed,
                "Nothing was changed. The failure has been logged.",
            ),
        };
        Self::new(kind, reason, detail).caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_upper_snake_case_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for reason in Reason::ALL {
            let text = reason.as_str();
            assert!(
                text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{text}"
            );
            assert!(seen.insert(text), "{text} twice");
        }
    }

    #[test]
    fn a_database_that_does_not_answer_is_unavailable_and_other_errors_internal() {
        assert_eq!(
            Failure::from(sqlx::Error::PoolTimedOut).kind,
            Kind::Unavailable
        );
        assert_eq!(Failure::from(sqlx::Error::RowNotFound).kind, Kind::Internal);
    }

    #[test]
    fn a_refusal_says_when_to_try_again() {
        let failure = Failure::from(Refusal::LockedOut {
            retry_after: Duration::from_secs(90),
        });
        assert_eq!(
            (failure.kind, failure.reason, failure.retry_after),
            (
                Kind::Limited,
                Reason::LoginLocked,
                Some(Duration::from_secs(90))
            )
        );
    }
}
