//! Passwords: a customer changes theirs (`POST /v1/users/me/password`, which needs the current
//! one and ends every other session) or resets a forgotten one (`POST /v1/auth/password-reset`
//! sends a one-time token by email; `.../confirm` spends it and ends every session). The flows
//! are the core's (`auth::new_password`); these handlers translate.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Accepted,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser, ClientIp},
};
use usvc_core::{
    auth::{new_password, reauth},
    guard::{Action, Guard},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/me/password", post(change))
        .route("/v1/auth/reauthenticate", post(reauthenticate))
        .route("/v1/auth/password-reset", post(request_reset))
        .route("/v1/auth/password-reset/confirm", post(confirm_reset))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password (the current one is required) and ends every other session.
#[utoipa::path(
    post, path = "/v1/users/me/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every other session is over."),
        (status = 403, description = "The current password is wrong (`/problems/wrong-password`), or a second factor from the last 5 minutes is needed (`/problems/step-up-required`).", body = Problem),
        (status = 429, description = "Too many password checks for this session or account.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn change(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let (current, new) = (request.current_password, request.new_password);
    new_password::change(&state, &claims, ip, current, new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Reauthentication {
    password: String,
}

/// The current password again: sensitive actions that ask for a recent password (the mfa
/// policy's `password` proof) may follow in this session.
#[utoipa::path(
    post, path = "/v1/auth/reauthenticate", tag = "auth", security(("bearer" = [])),
    request_body = Reauthentication,
    responses(
        (status = 204, description = "The session has given its password now."),
        (status = 403, description = "The current password is wrong (`/problems/wrong-password`), or a second factor from the last 5 minutes is needed (`/problems/step-up-required`).", body = Problem),
        (status = 429, description = "Too many password checks for this session or account.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn reauthenticate(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<Reauthentication>,
) -> Result<StatusCode, ApiError> {
    reauth::reauthenticate(&state, &claims, ip, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

/// 202 with the same body, at once, whether or not a customer has the address: the lookup and
/// the email happen after the answer, so neither the body nor the timing tells.
#[utoipa::path(
    post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Requested (the same answer whether or not a customer has the address).", body = Accepted),
        (status = 429, description = "Too many reset requests.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn request_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let account = Guard::account_key(&request.email);
    state
        .guard
        .admit(Action::PasswordReset, ip, Some(&account))
        .await?;
    tokio::spawn(async move {
        if let Err(e) = new_password::send_reset_token(&state, &request.email).await {
            tracing::error!(error = %format!("{e:#}"), "password reset request failed");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "reset_requested",
            message: "If an account uses this address, a password-reset token is on its way to it.",
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirmation {
    token: String,
    new_password: String,
}

/// Sets the new password with a reset token and ends every session.
#[utoipa::path(
    post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirmation,
    responses(
        (status = 204, description = "The password is set; every session is over."),
        (status = 400, description = "The token is unknown, spent or expired (`/problems/invalid-reset-token`).", body = Problem),
    ),
)]
async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ResetConfirmation>,
) -> Result<StatusCode, ApiError> {
    new_password::confirm_reset(&state, &request.token, request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
