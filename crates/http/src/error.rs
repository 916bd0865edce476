//! The API's one error type and its RFC 9457 `application/problem+json` rendering. Handlers
//! return `Result<_, ApiError>` and use `?`; internal details are logged, never sent.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use usvc_core::{
    guard::Refusal,
    runtime::{CallError, onboarding::Violation},
};

use super::problems;

/// A problem document. `type` is a stable URI reference per kind of problem; `violations`
/// carries the business rules an input broke.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    #[error("the request body is not acceptable: {0}")]
    UnprocessableBody(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request body must be JSON")]
    UnsupportedMediaType,
    #[error("the application breaks {} rule(s)", .0.len())]
    Validation(Vec<Violation>),
    /// A refused one-time code: (problem type, detail).
    #[error("{1}")]
    BadRequestCode(&'static str, &'static str),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str, &'static str),
    #[error("not found")]
    NotFound,
    /// The resource is in a state that does not allow the change.
    #[error("{0}")]
    Conflict(&'static str),
    /// As `Conflict`, with a problem type of its own: (problem type, detail).
    #[error("{1}")]
    ConflictOf(&'static str, &'static str),
    /// A write without `If-Match`: the client must name the version it changes.
    #[error("If-Match is required")]
    PreconditionRequired,
    /// `If-Match` does not name the current version; nothing was changed.
    #[error("the resource changed since the version given")]
    PreconditionFailed,
    #[error("too many attempts")]
    TooManyRequests(Refusal),
    #[error(transparent)]
    Component(#[from] CallError),
    #[error("a dependency is unavailable: {0}")]
    Unavailable(anyhow::Error),
    #[error("the request took too long")]
    Timeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // The database is unreachable or saturated: the same answer a failed capability gets.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(e.into())
            }
            e => Self::Internal(e.into()),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::TooManyRequests(refusal)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::UnprocessableBody(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => Self::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl ApiError {
    fn problem(&self) -> Problem {
        let p = |kind, title, status: StatusCode, detail: Option<String>| Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
            violations: Vec::new(),
        };
        match self {
            Self::BadRequest(detail) => p(
                problems::MALFORMED_REQUEST,
                "Malformed request",
                StatusCode::BAD_REQUEST,
                Some(detail.clone()),
            ),
            Self::UnprocessableBody(detail) => p(
                problems::INVALID_BODY,
                "The body does not have the expected shape",
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(detail.clone()),
            ),
            Self::PayloadTooLarge => p(
                problems::PAYLOAD_TOO_LARGE,
                "Request body too large",
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
            ),
            Self::UnsupportedMediaType => p(
                problems::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("send `Content-Type: application/json`".into()),
            ),
            Self::Validation(violations) => Problem {
                violations: violations.clone(),
                ..p(
                    problems::VALIDATION,
                    "The request breaks business rules",
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("See `violations` for every rule broken.".into()),
                )
            },
            Self::BadRequestCode(kind, detail) => p(
                kind,
                "The code was refused",
                StatusCode::BAD_REQUEST,
                Some((*detail).into()),
            ),
            Self::Unauthorized(detail) => p(
                problems::UNAUTHORIZED,
                "Unauthorized",
                StatusCode::UNAUTHORIZED,
                Some((*detail).into()),
            ),
            Self::Forbidden(kind, detail) => p(
                kind,
                "Forbidden",
                StatusCode::FORBIDDEN,
                Some((*detail).into()),
            ),
            Self::NotFound => p(
                problems::NOT_FOUND,
                "Not found",
                StatusCode::NOT_FOUND,
                None,
            ),
            Self::Conflict(detail) => p(
                problems::CONFLICT,
                "The change conflicts with the resource's state",
                StatusCode::CONFLICT,
                Some((*detail).into()),
            ),
            Self::ConflictOf(kind, detail) => p(
                kind,
                "The request conflicts with the resource's state",
                StatusCode::CONFLICT,
                Some((*detail).into()),
            ),
            Self::PreconditionRequired => p(
                problems::PRECONDITION_REQUIRED,
                "If-Match is required",
                StatusCode::PRECONDITION_REQUIRED,
                Some("Send `If-Match` with the ETag of the version you read, so that no one else's change is overwritten.".into()),
            ),
            Self::PreconditionFailed => p(
                problems::PRECONDITION_FAILED,
                "The resource has changed",
                StatusCode::PRECONDITION_FAILED,
                Some("Nothing was changed: `If-Match` does not name the current version. Read it again and retry with its ETag.".into()),
            ),
            Self::TooManyRequests(Refusal::RateLimited { .. }) => p(
                problems::TOO_MANY_REQUESTS,
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many attempts. Try again after the time in `Retry-After`.".into()),
            ),
            Self::TooManyRequests(Refusal::SlowDown { .. }) => p(
                problems::LOGIN_DELAYED,
                "Too many failed logins",
                StatusCode::TOO_MANY_REQUESTS,
                Some("After failed logins each attempt must wait a little longer. Try again after the time in `Retry-After`.".into()),
            ),
            Self::TooManyRequests(Refusal::LockedOut { .. }) => p(
                problems::LOGIN_LOCKED,
                "Login temporarily locked",
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many failed logins: login is locked for a while. Try again after the time in `Retry-After`, or reset the password.".into()),
            ),
            Self::Component(CallError::Timeout(_)) => p(
                problems::COMPONENT_TIMEOUT,
                "The business rules took too long",
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Nothing was changed. Try again later.".into()),
            ),
            Self::Component(CallError::NotLoaded(_)) => p(
                problems::COMPONENT_UNAVAILABLE,
                "The business rules are not loaded",
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Nothing was changed. Try again later.".into()),
            ),
            Self::Component(CallError::Capability(_)) | Self::Unavailable(_) => p(
                problems::DEPENDENCY_UNAVAILABLE,
                "A dependency is unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Nothing was changed. Try again later.".into()),
            ),
            Self::Component(CallError::SandboxLimit { limit, .. }) if limit.is_customers() => p(
                problems::TOO_MANY_REQUESTS,
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                Some("Nothing was changed. Try again later.".into()),
            ),
            Self::Component(
                CallError::Trapped { .. }
                | CallError::MemoryExceeded(_)
                | CallError::SandboxLimit { .. },
            ) => p(
                problems::COMPONENT_FAILED,
                "The business rules failed",
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("Nothing was changed. The failure has been logged.".into()),
            ),
            Self::Timeout => p(
                problems::TIMEOUT,
                "The request took too long",
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Try again later.".into()),
            ),
            Self::Internal(_) => p(
                problems::INTERNAL,
                "Internal error",
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("The failure has been logged.".into()),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let retry_after = match &self {
            Self::TooManyRequests(refusal) => Some(refusal.retry_after().as_secs()),
            _ => None,
        };
        if problem.status >= 500 {
            tracing::error!(error = %format!("{:#}", anyhow::Error::from(self)), "request failed");
        }
        let mut response = problem_response(problem);
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}
