//! Errors as gRPC statuses: the same failures HTTP renders as problem documents, with the
//! standard rich details (`google.rpc.BadRequest` field violations, `google.rpc.ErrorInfo`).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use usvc_core::{
    failure::{Failure, Kind, Reason},
    runtime::onboarding::Violation,
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

/// The status of a classified domain failure: broken rules as field violations, anything else
/// with its reason in an `ErrorInfo`. Internal details are logged, never sent.
pub fn of(failure: impl Into<Failure>) -> Status {
    let failure = failure.into();
    if failure.is_fault() {
        let cause = failure.source.as_ref().map(|e| format!("{e:#}"));
        tracing::error!(reason = failure.reason.as_str(), error = ?cause, "request failed");
    }
    if !failure.violations.is_empty() {
        return invalid(&failure.violations);
    }
    let code = match failure.kind {
        Kind::Invalid => Code::InvalidArgument,
        Kind::NotFound => Code::NotFound,
        Kind::Conflict => Code::FailedPrecondition,
        Kind::Stale => Code::Aborted,
        Kind::Unauthenticated => Code::Unauthenticated,
        Kind::Forbidden => Code::PermissionDenied,
        Kind::Limited => Code::ResourceExhausted,
        Kind::Unavailable => Code::Unavailable,
        Kind::Internal => Code::Internal,
    };
    let message = match failure.reason {
        // gRPC names the version it changes with `expected_version`.
        Reason::StaleVersion => {
            "the data changed since expected_version; nothing was changed: read it again and retry"
                .to_owned()
        }
        _ => failure.detail.into_owned(),
    };
    with_reason(code, message, failure.reason.as_str())
}
