//! Errors as gRPC statuses: the same failures HTTP renders as problem documents, with the
//! standard rich details (`google.rpc.BadRequest` field violations, `google.rpc.ErrorInfo`).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::{
    admin::AdminError,
    auth::access::Denied,
    guard::Refusal,
    http::error::ApiError,
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

pub fn database(e: sqlx::Error) -> Status {
    from_api(ApiError::from(e))
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
        ProfileError::Policy(e) => from_api(e.into()),
    }
}

fn stale() -> Status {
    with_reason(
        Code::Aborted,
        "the data changed since expected_version; nothing was changed: read it again and retry",
        "STALE_VERSION",
    )
}

/// The gRPC rendering of the API's error type; internal details are logged, never sent.
pub fn from_api(e: ApiError) -> Status {
    match e {
        ApiError::BadRequest(detail) | ApiError::UnprocessableBody(detail) => {
            Status::invalid_argument(detail)
        }
        ApiError::Validation(violations) => invalid(&violations),
        ApiError::BadRequestCode(_, detail) => Status::invalid_argument(detail),
        ApiError::PayloadTooLarge => Status::resource_exhausted("the request is too large"),
        ApiError::UnsupportedMediaType => Status::invalid_argument("unsupported media type"),
        ApiError::Unauthorized(detail) => Status::unauthenticated(detail),
        ApiError::Forbidden(_, detail) => Status::permission_denied(detail),
        ApiError::NotFound => Status::not_found("not found"),
        ApiError::Conflict(detail) | ApiError::ConflictOf(_, detail) => {
            Status::failed_precondition(detail)
        }
        ApiError::PreconditionRequired => {
            invalid_field("expected_version", "expected_version.missing", "required")
        }
        ApiError::PreconditionFailed => stale(),
        ApiError::TooManyRequests(refusal) => {
            let reason = match refusal {
                Refusal::RateLimited { .. } => "RATE_LIMITED",
                Refusal::SlowDown { .. } => "LOGIN_DELAYED",
                Refusal::LockedOut { .. } => "LOGIN_LOCKED",
            };
            with_reason(Code::ResourceExhausted, "too many attempts", reason)
        }
        ApiError::Timeout | ApiError::Component(CallError::Timeout(_)) => {
            Status::deadline_exceeded("the request took too long; nothing was changed")
        }
        ApiError::Unavailable(e) => {
            tracing::warn!(error = %format!("{e:#}"), "a dependency is unavailable");
            Status::unavailable("a dependency is unavailable; nothing was changed")
        }
        ApiError::Component(e) => {
            tracing::error!(error = %e, "component call failed");
            Status::unavailable("the business rules are unavailable; nothing was changed")
        }
        ApiError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "internal error");
            Status::internal("internal error")
        }
    }
}
