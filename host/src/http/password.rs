//! `POST /v1/users/me/password`: a customer changes their password. It needs the current one,
//! the new one must pass the onboarding component's password policy, and every other session
//! ends, so whoever else held the account is logged out.

use axum::{Router, extract::State, http::StatusCode, routing::post};
use serde::Deserialize;
use serde_json::json;

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use crate::{
    auth::trail,
    store::{self, credentials, sessions, users},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/users/me/password", post(change))
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
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let mut conn = state.caps.db.acquire().await?;
    let user = users::get(&mut conn, &claims.sub)
        .await?
        .ok_or(ApiError::NotFound)?;
    let stored = credentials::password_hash(&mut conn, &user.id).await?;
    drop(conn);

    if !state
        .caps
        .passwords
        .verify(request.current_password, stored)
        .await?
    {
        let mut conn = state.caps.db.acquire().await?;
        let data = json!({ "user_id": user.id, "reason": "wrong_password" });
        let now = state.caps.clock.unix();
        trail::record(
            &mut conn,
            "auth.password_change_failed",
            &user.id,
            data,
            now,
        )
        .await?;
        return Err(ApiError::Forbidden(
            "/problems/wrong-password",
            "The current password is wrong.",
        ));
    }

    let violations = state
        .runtime
        .check_password(
            &state.caps,
            user.email.clone(),
            request.new_password.clone(),
        )
        .await?;
    if !violations.is_empty() {
        // The policy names the field `password`; in this request it is `new_password`.
        let violations = violations
            .into_iter()
            .map(|mut v| {
                if v.field == "password" {
                    v.field = "new_password".to_owned();
                }
                v
            })
            .collect();
        return Err(ApiError::Validation(violations));
    }

    let hash = state.caps.passwords.hash(request.new_password).await?;
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    credentials::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = sessions::revoke_all_except(&mut tx, &user.id, &claims.sid, now).await?;
    let data =
        json!({ "user_id": user.id, "session_id": claims.sid, "other_sessions_ended": ended });
    trail::record(&mut tx, "auth.password_changed", &user.id, data, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
