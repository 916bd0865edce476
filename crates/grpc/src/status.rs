//! Errors as gRPC statuses: the same failures HTTP renders as problem documents, with the
//! standard rich details (`google.rpc.BadRequest` field violations, `google.rpc.ErrorInfo`).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use usvc_core::{
    admin::AdminError,
    auth::{access::Denied, login::LoginError, second_factor::SecondFactorError},
    profile::ProfileError,
    runtime::{CallError, onboarding::Violation},
};

/// The `ErrorInfo.domain` of every status usvc sends.
pub const DOMAIN: &str = "usvc.bank";

/// `INVALID_ARGUMENT` listing every broken rule as a field violation (`code: message`).
pub fn invalid(violations: &[Violation]) -> Status {
    let fields: Vec<FieldViolation> = violations
        .iter()
        .map(|v| FieldViolation::new(&v.field, format!("{}: {}", v.code, v.message)))
        .collect();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the request breaks {} rule(s)", violations.len()),
        ErrorDetails::with_bad_request(fields),
    )
}

/// `INVALID_ARGUMENT` for one field.
pub fn invalid_field(field: &str, code: &str, message: &str) -> Status {
    invalid(&[Violation {
        code: code.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }])
}

/// A status with an `ErrorInfo` reason callers can branch on.
pub fn with_reason(code: Code, message: impl Into<String>, reason: &str) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, DOMAIN, HashMap::<String, String>::new()),
    )
}

pub fn denied(denied: Denied) -> Status {
    match denied {
        Denied::Unavailable(e) => database(e),
        other => with_reason(Code::Unauthenticated, other.to_string(), other.reason()),
    }
}

/// A database failure: `UNAVAILABLE` when it is unreachable or saturated, `INTERNAL` otherwise.
pub fn database(e: sqlx::Error) -> Status {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            unavailable(e.into())
        }
        e => internal(e.into()),
    }
}

/// A component call without an answer: its deadline passed, or it is unavailable.
pub fn component(e: CallError) -> Status {
    match e {
        CallError::Timeout(_) => {
            Status::deadline_exceeded("the request took too long; nothing was changed")
        }
        e => {
            tracing::error!(error = %e, "component call failed");
            Status::unavailable("the business rules are unavailable; nothing was changed")
        }
    }
}

/// A sensitive action's missing proof, or a failure while asking for it.
pub fn second_factor(e: SecondFactorError) -> Status {
    match e {
        SecondFactorError::StepUpRequired => with_reason(
            Code::PermissionDenied,
            "Confirm with a second factor first: POST /v1/auth/mfa/step-up.",
            "STEP_UP_REQUIRED",
        ),
        SecondFactorError::ReauthenticationRequired => with_reason(
            Code::PermissionDenied,
            "Give your password again first: POST /v1/auth/reauthenticate.",
            "REAUTHENTICATION_REQUIRED",
        ),
        SecondFactorError::Locked => with_reason(
            Code::PermissionDenied,
            "Too many wrong codes: second factors are locked for a while.",
            "MFA_LOCKED",
        ),
        SecondFactorError::Throttled(_) => {
            with_reason(Code::ResourceExhausted, "too many attempts", "RATE_LIMITED")
        }
        SecondFactorError::InvalidChallenge => {
            Status::unauthenticated("the challenge is invalid or expired; log in again")
        }
        e @ (SecondFactorError::MethodNotAllowed
        | SecondFactorError::Rejected
        | SecondFactorError::NoSuchFactor) => Status::invalid_argument(e.to_string()),
        SecondFactorError::Login(LoginError::Policy(e)) | SecondFactorError::Policy(e) => {
            component(e)
        }
        SecondFactorError::Login(LoginError::Internal(e)) => internal(e),
        SecondFactorError::Login(e) => Status::permission_denied(e.to_string()),
        SecondFactorError::Database(e) => database(e),
    }
}

fn unavailable(e: anyhow::Error) -> Status {
    tracing::warn!(error = %format!("{e:#}"), "a dependency is unavailable");
    Status::unavailable("a dependency is unavailable; nothing was changed")
}

/// Internal details are logged, never sent.
fn internal(e: anyhow::Error) -> Status {
    tracing::error!(error = %format!("{e:#}"), "internal error");
    Status::internal("internal error")
}

pub fn admin(e: AdminError) -> Status {
    match e {
        AdminError::NotAdmin => with_reason(
            Code::PermissionDenied,
            "this action needs the admin role",
            "ADMIN_ROLE_REQUIRED",
        ),
        AdminError::Invalid(violations) => invalid(&violations),
        AdminError::NotFound => Status::not_found("no such user"),
        AdminError::Conflict(detail) => Status::failed_precondition(detail),
        AdminError::Database(e) => database(e),
    }
}

/// A profile or preferences failure: broken rules are field violations, a stale
/// `expected_version` is `ABORTED` (read again, then retry).
pub fn profile(e: ProfileError) -> Status {
    match e {
        ProfileError::Invalid(violations) => invalid(&violations),
        ProfileError::Stale => stale(),
        ProfileError::NotFound => Status::not_found("no such user"),
        ProfileError::Database(e) => database(e),
        ProfileError::Sealed(e) => {
            tracing::error!(error = %format!("{e:#}"), "a sealed profile field does not open");
            Status::internal("internal error")
        }
        ProfileError::Policy(e) => component(e),
    }
}

fn stale() -> Status {
    with_reason(
        Code::Aborted,
        "the data changed since expected_version; nothing was changed: read it again and retry",
        "STALE_VERSION",
    )
}
