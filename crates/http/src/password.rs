//! Passwords: a customer changes theirs (`POST /v1/users/me/password`, which needs the current
//! one and ends every other session) or resets a forgotten one (`POST /v1/auth/password-reset`
//! sends a one-time token by email; `.../confirm` spends it and ends every session). A new
//! password must pass the onboarding component's password policy either way.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::Deserialize;
use serde_json::json;
use usvc_core::failure::{Failure, Reason};

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser, ClientIp},
};
use usvc_core::{
    auth::{
        random_token,
        reauth::{self},
        second_factor, sha256_hex,
    },
    guard::{Action, Guard},
    notify::{Notice, Notification},
    runtime::mfa::SensitiveAction,
    store::{self, credentials, password_resets, sessions, users},
    trail,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/me/password", post(change))
        .route("/v1/auth/reauthenticate", post(reauthenticate))
        .route("/v1/auth/password-reset", post(request_reset))
        .route("/v1/auth/password-reset/confirm", post(confirm_reset))
}

/// How long a reset token works.
const RESET_TOKEN_TTL_SECS: i64 = 30 * 60;

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
    second_factor::require_fresh(&state, &claims, SensitiveAction::ChangePassword).await?;
    let user = reauth::prove_password(
        &state,
        &claims,
        ip,
        request.current_password,
        "auth.password_change_failed",
    )
    .await?;

    check_policy(&state, &user.email, &request.new_password).await?;

    let hash = state.caps.passwords.hash(request.new_password).await?;
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    credentials::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = sessions::revoke_all_except(&mut tx, &user.id, Some(&claims.sid), now).await?;
    let data = json!({ "user_id": user.id, "session_id": claims.sid, "other_sessions_ended": ended.len() });
    trail::record(&mut tx, "auth.password_changed", &user.id, data, now).await?;
    trail::sessions_revoked(&mut tx, &user.id, &ended, "password_changed", now).await?;
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended(ended.iter().map(String::as_str)).await;
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

/// The new password against the onboarding component's policy.
async fn check_policy(state: &AppState, email: &str, password: &str) -> Result<(), ApiError> {
    let violations = state
        .runtime
        .check_password(&state.caps, email.to_owned(), password.to_owned())
        .await?;
    if violations.is_empty() {
        return Ok(());
    }
    // The policy names the field `password`; in these requests it is `new_password`.
    let violations = violations
        .into_iter()
        .map(|mut v| {
            if v.field == "password" {
                v.field = "new_password".to_owned();
            }
            v
        })
        .collect();
    Err(Failure::invalid(violations).into())
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
        if let Err(e) = send_reset_token(&state, &request.email).await {
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

async fn send_reset_token(state: &AppState, email: &str) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    let user = match users::find_by_email(&mut tx, &email).await? {
        Some(user) if user.status == users::UserStatus::Active => user,
        _ => {
            tracing::info!("password reset asked for an address without an active account");
            return Ok(());
        }
    };
    let token = random_token();
    let expires_at = now + RESET_TOKEN_TTL_SECS;
    password_resets::create(&mut tx, &sha256_hex(&token), &user.id, now, expires_at).await?;
    let data = json!({ "user_id": user.id, "expires_at": expires_at });
    trail::record(
        &mut tx,
        "auth.password_reset_requested",
        &user.id,
        data,
        now,
    )
    .await?;
    trail::commit(tx, &state.caps).await?;
    let notice = Notification::render(&user.id, &user.email, Notice::PasswordReset, Some(token));
    state.caps.notifier.deliver(&notice).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirmation {
    token: String,
    new_password: String,
}

/// Sets the new password with a reset token and ends every session. A refused password leaves
/// the token usable, so the customer can try a better one.
async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ResetConfirmation>,
) -> Result<StatusCode, ApiError> {
    let invalid = || {
        ApiError::from(Failure::refused(
            Reason::InvalidResetToken,
            "The reset token is unknown, used or expired: ask for a new one.",
        ))
    };
    let token_hash = sha256_hex(request.token.trim());
    let now = state.caps.clock.unix();
    let mut conn = state.caps.db.acquire().await?;
    let user_id = password_resets::owner(&mut conn, &token_hash, now)
        .await?
        .ok_or_else(invalid)?;
    // A token outstanding when the account was locked or closed no longer works.
    let user = users::get(&mut conn, &user_id)
        .await?
        .filter(|user| user.status == users::UserStatus::Active)
        .ok_or_else(invalid)?;
    drop(conn);
    check_policy(&state, &user.email, &request.new_password).await?;
    let hash = state.caps.passwords.hash(request.new_password).await?;

    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    // Spent here, in the same transaction as the new password: two confirmations racing
    // cannot both succeed.
    if password_resets::spend(&mut tx, &token_hash, now)
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    credentials::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = sessions::revoke_all_except(&mut tx, &user.id, None, now).await?;
    let data = json!({ "user_id": user.id, "sessions_ended": ended.len() });
    trail::record(&mut tx, "auth.password_reset", &user.id, data, now).await?;
    trail::sessions_revoked(&mut tx, &user.id, &ended, "password_reset", now).await?;
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended(ended.iter().map(String::as_str)).await;
    state.guard.unlock(&Guard::account_key(&user.email)).await;
    let notice = Notification::render(&user.id, &user.email, Notice::PasswordWasReset, None);
    if let Err(e) = state.caps.notifier.deliver(&notice).await {
        tracing::warn!(user_id = %user.id, error = %e, "password-reset notice not delivered");
    }
    Ok(StatusCode::NO_CONTENT)
}
