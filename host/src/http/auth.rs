//! `/v1/auth`: registration, email confirmation and login.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::{Deserialize, Serialize};

use super::{AppState, error::ApiError, extract::ApiJson};
use crate::{
    auth::login::{self, LoginError, TokenPair},
    runtime::onboarding::{Application, Confirmation},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/verify-email", post(verify_email))
        .route("/v1/auth/login", post(login))
}

#[derive(Serialize)]
struct Accepted {
    status: &'static str,
    message: &'static str,
}

/// 202 with the same body whether the address was new or already registered.
async fn register(
    State(state): State<AppState>,
    ApiJson(application): ApiJson<Application>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state
        .runtime
        .register(&state.caps, application)
        .await?
        .map_err(ApiError::Validation)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "verification_pending",
            message: "If the address can be used, a verification code is on its way to it.",
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyEmail {
    email: String,
    code: String,
}

#[derive(Serialize)]
struct Verified {
    status: &'static str,
}

async fn verify_email(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<VerifyEmail>,
) -> Result<Json<Verified>, ApiError> {
    match state
        .runtime
        .confirm_email(&state.caps, request.email, request.code)
        .await?
    {
        Confirmation::Confirmed => Ok(Json(Verified { status: "verified" })),
        // A dead code answers like a wrong one: "too many attempts" would tell a stranger that
        // a pending account exists for the address.
        Confirmation::InvalidCode | Confirmation::TooManyAttempts => Err(ApiError::BadRequestCode(
            "/problems/invalid-code",
            "The code is not valid for this address. After five wrong attempts a code stops \
             working: register again to receive a new one.",
        )),
        Confirmation::ExpiredCode => Err(ApiError::BadRequestCode(
            "/problems/expired-code",
            "The code has expired: register again to receive a new one.",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub(super) struct Tokens {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
        }
    }
}

async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<Login>,
) -> Result<Json<Tokens>, ApiError> {
    let pair = login::login(
        &state.caps.db,
        &state.caps.passwords,
        &state.tokens,
        state.caps.clock.as_ref(),
        &request.email,
        request.password,
    )
    .await
    .map_err(|e| match e {
        LoginError::InvalidCredentials => ApiError::Unauthorized("the email or password is wrong"),
        LoginError::EmailNotVerified => ApiError::Forbidden(
            "/problems/email-not-verified",
            "Confirm your email address before logging in.",
        ),
        LoginError::AccountUnavailable(_) => ApiError::Forbidden(
            "/problems/account-unavailable",
            "This account cannot log in.",
        ),
        LoginError::Internal(e) => ApiError::Internal(e),
    })?;
    Ok(Json(Tokens::from(pair)))
}
