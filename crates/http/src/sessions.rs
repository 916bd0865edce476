//! `/v1/sessions`: the customer's logins, which they can see and end; plus token refresh and
//! logout under `/v1/auth`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use usvc_core::failure::Failure;

use super::{
    AppState,
    auth::Tokens,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use usvc_core::auth::{
    refresh::{self, RefreshError},
    sessions,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/sessions", get(list))
        .route("/v1/sessions/{id}", delete(end))
        .route("/v1/sessions/others", delete(end_others))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refresh {
    refresh_token: String,
}

/// A new token pair for a refresh token, which is spent. Reusing a spent one ends the session.
async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<Refresh>,
) -> Result<Json<Tokens>, ApiError> {
    let pair = refresh::refresh(&state.caps, &state.tokens, &request.refresh_token).await;
    let pair = match pair {
        Ok(pair) => pair,
        Err(RefreshError::Reused(session_id)) => {
            state.sessions.ended([session_id.as_str()]).await;
            return Err(RefreshError::Reused(session_id).into());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(Tokens::from(pair)))
}

/// Ends the session the access token belongs to.
async fn logout(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode, ApiError> {
    sessions::end(&state, &claims.sub, &claims.sid, "logout").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller but the current one.
async fn end_others(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ended =
        sessions::end_all(&state, &claims.sub, Some(&claims.sid), "ended_by_customer").await?;
    Ok(Json(json!({ "ended": ended.len() })))
}

#[derive(Serialize)]
struct SessionView {
    id: String,
    created_at: i64,
    expires_at: i64,
    device_id: Option<String>,
    device_name: Option<String>,
    /// The session the request came from.
    current: bool,
}

async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let live = sessions::live(&state, &claims.sub).await?;
    Ok(Json(
        live.into_iter()
            .map(|s| SessionView {
                current: s.id == claims.sid,
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                device_id: s.device_id,
                device_name: s.device_name,
            })
            .collect(),
    ))
}

/// Ends one of the caller's sessions. Someone else's session is "not found", never "forbidden":
/// the answer must not confirm that it exists.
async fn end(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if sessions::end(&state, &claims.sub, &id, "ended_by_customer").await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure::not_found("no such session").into())
    }
}
