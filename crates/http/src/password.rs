//! Passwords: a customer changes theirs (`POST /v1/users/me/password`, which needs the current
//! one and ends every other session) or resets a forgotten one (`POST /v1/auth/password-reset`
//! sends a one-time token by email; `.../confirm` spends it and ends every session). The flows
//! are the core's (`auth::new_password`); these handlers translate.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::Deserialize;
use serde_json::json;

use super::{
    AppState,
    error::ApiError,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reauthentication {
    password: String,
}

/// The current password again: sensitive actions that ask for a recent password (the mfa
/// policy's `password` proof) may follow in this session.
async fn reauthenticate(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<Reauthentication>,
) -> Result<StatusCode, ApiError> {
    reauth::reauthenticate(&state, &claims, ip, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

/// 202 with the same body, at once, whether or not a customer has the address: the lookup and
/// the email happen after the answer, so neither the body nor the timing tells.
async fn request_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
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
        Json(json!({
            "status": "reset_requested",
            "message": "If an account uses this address, a password-reset token is on its way to it.",
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirmation {
    token: String,
    new_password: String,
}

/// Sets the new password with a reset token and ends every session.
async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ResetConfirmation>,
) -> Result<StatusCode, ApiError> {
    new_password::confirm_reset(&state, &request.token, request.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
