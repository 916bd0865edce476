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
    admin::AdminError,
    auth::{
        access::Denied, login::LoginError, reauth::ReauthError, refresh::RefreshError,
        second_factor::SecondFactorError,
    },
    documents::{DocumentError, avatar::AvatarError},
    failure::{Failure, Kind, Reason},
    guard::Refusal,
    lifecycle::DeployError,
    profile::{ProfileError, contact::ContactError},
    runtime::{CallError, onboarding::Violation},
    verification::VerificationError,
};

use super::problems;

/// A problem document. `type` is a stable URI reference per kind of problem; `violations`
/// carries the business rules an input broke.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The kind of problem: a stable URI reference such as `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// A sentence fit to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// The stable reason of a domain failure, as gRPC's `ErrorInfo.reason` names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<&'static str>,
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
    /// A write without `If-Match`: the client must name the version it changes.
    #[error("If-Match is required")]
    PreconditionRequired,
    #[error("the request took too long")]
    Timeout,
    /// A domain failure, classified once by the core.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Every domain error reaches the client through its one classification.
macro_rules! classified {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(e: $error) -> Self {
                Self::Failure(e.into())
            }
        })*
    };
}

classified!(
    sqlx::Error,
    anyhow::Error,
    Refusal,
    CallError,
    Denied,
    LoginError,
    SecondFactorError,
    ReauthError,
    RefreshError,
    ContactError,
    ProfileError,
    VerificationError,
    DocumentError,
    AvatarError,
    AdminError,
    DeployError,
);

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

/// The HTTP status of a kind of failure.
fn status(failure: &Failure) -> StatusCode {
    match failure.kind {
        // Broken business rules are a well-formed request the rules refuse; a refused code or
        // token is a bad request.
        Kind::Invalid if failure.violations.is_empty() => StatusCode::BAD_REQUEST,
        Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Stale => StatusCode::PRECONDITION_FAILED,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Limited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The problem type and title of each reason.
fn problem_type(reason: Reason) -> (&'static str, &'static str) {
    const REFUSED: &str = "The code was refused";
    const FORBIDDEN: &str = "Forbidden";
    const UNAUTHORIZED: &str = "Unauthorized";
    const IN_STATE: &str = "The request conflicts with the resource's state";
    match reason {
        Reason::Validation => (problems::VALIDATION, "The request breaks business rules"),
        Reason::NotFound => (problems::NOT_FOUND, "Not found"),
        Reason::Conflict => (
            problems::CONFLICT,
            "The change conflicts with the resource's state",
        ),
        Reason::StaleVersion => (problems::PRECONDITION_FAILED, "The resource has changed"),
        Reason::InvalidCredentials
        | Reason::TokenMissing
        | Reason::TokenInvalid
        | Reason::TokenExpired
        | Reason::SessionEnded
        | Reason::RefreshTokenInvalid
        | Reason::ChallengeInvalid => (problems::UNAUTHORIZED, UNAUTHORIZED),
        Reason::EmailNotVerified => (problems::EMAIL_NOT_VERIFIED, FORBIDDEN),
        Reason::AccountUnavailable => (problems::ACCOUNT_UNAVAILABLE, FORBIDDEN),
        Reason::SecondFactorEnrolmentRequired => {
            (problems::SECOND_FACTOR_ENROLMENT_REQUIRED, FORBIDDEN)
        }
        Reason::StepUpRequired => (problems::STEP_UP_REQUIRED, FORBIDDEN),
        Reason::ReauthenticationRequired => (problems::REAUTHENTICATION_REQUIRED, FORBIDDEN),
        Reason::WrongPassword => (problems::WRONG_PASSWORD, FORBIDDEN),
        Reason::AdminRoleRequired => (problems::FORBIDDEN, FORBIDDEN),
        Reason::MfaLocked => (problems::MFA_LOCKED, FORBIDDEN),
        Reason::UrlRefused => (problems::URL_REFUSED, FORBIDDEN),
        Reason::MfaMethodNotAllowed => (problems::MFA_METHOD_NOT_ALLOWED, REFUSED),
        Reason::MfaMethodUnavailable => (problems::MFA_METHOD_UNAVAILABLE, REFUSED),
        Reason::MfaCodeRejected => (problems::MFA_CODE_REJECTED, REFUSED),
        Reason::InvalidCode => (problems::INVALID_CODE, REFUSED),
        Reason::ExpiredCode => (problems::EXPIRED_CODE, REFUSED),
        Reason::InvalidResetToken => (problems::INVALID_RESET_TOKEN, REFUSED),
        Reason::DocumentNotUploaded => (problems::DOCUMENT_NOT_UPLOADED, IN_STATE),
        Reason::DocumentNotConfirmed => (problems::DOCUMENT_NOT_CONFIRMED, IN_STATE),
        Reason::DocumentAltered => (problems::DOCUMENT_ALTERED, IN_STATE),
        Reason::DocumentSettled => (problems::DOCUMENT_SETTLED, IN_STATE),
        Reason::RateLimited => (problems::TOO_MANY_REQUESTS, "Too many requests"),
        Reason::LoginDelayed => (problems::LOGIN_DELAYED, "Too many failed logins"),
        Reason::LoginLocked => (problems::LOGIN_LOCKED, "Login temporarily locked"),
        Reason::ComponentTimeout => (
            problems::COMPONENT_TIMEOUT,
            "The business rules took too long",
        ),
        Reason::ComponentUnavailable => (
            problems::COMPONENT_UNAVAILABLE,
            "The business rules are not loaded",
        ),
        Reason::ComponentFailed => (problems::COMPONENT_FAILED, "The business rules failed"),
        Reason::DependencyUnavailable => (
            problems::DEPENDENCY_UNAVAILABLE,
            "A dependency is unavailable",
        ),
        Reason::Internal => (problems::INTERNAL, "Internal error"),
    }
}

impl ApiError {
    fn problem(&self) -> Problem {
        let p = |kind, title, status: StatusCode, detail: Option<String>| Problem {
            kind,
            title,
            status: status.as_u16(),
            detail,
            reason: None,
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
            Self::PreconditionRequired => p(
                problems::PRECONDITION_REQUIRED,
                "If-Match is required",
                StatusCode::PRECONDITION_REQUIRED,
                Some("Send `If-Match` with the ETag of the version you read, so that no one else's change is overwritten.".into()),
            ),
            Self::Timeout => p(
                problems::TIMEOUT,
                "The request took too long",
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Try again later.".into()),
            ),
            Self::Failure(failure) => {
                let (kind, title) = problem_type(failure.reason);
                let detail = match failure.reason {
                    // HTTP names the version it changes with `If-Match`.
                    Reason::StaleVersion => "Nothing was changed: `If-Match` does not name the current version. Read it again and retry with its ETag.".to_owned(),
                    _ => failure.detail.to_string(),
                };
                Problem {
                    reason: Some(failure.reason.as_str()),
                    violations: failure.violations.clone(),
                    ..p(kind, title, status(failure), Some(detail))
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let retry_after = match &self {
            Self::Failure(failure) => failure.retry_after.map(|after| after.as_secs()),
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
