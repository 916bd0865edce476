//! `/v1/sessions`: the customer's logins, which they can see and end; plus token refresh and
//! logout under `/v1/auth`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use usvc_core::failure::Failure;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Tokens,
    error::{ApiError, Problem},
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Refresh {
    refresh_token: String,
}

/// A new token pair for a refresh token, which is spent. Reusing a spent one ends the session.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth",
    request_body = Refresh,
    responses(
        (status = 200, description = "A new pair; the refresh token sent is spent.", body = Tokens),
        (status = 401, description = "The refresh token is unknown, expired or spent (a spent one ends its session).", body = Problem),
        (status = 403, description = "The account is locked or closed.", body = Problem),
    ),
)]
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
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "The session is over.")),
)]
async fn logout(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode, ApiError> {
    sessions::end(&state, &claims.sub, &claims.sid, "logout").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct Ended {
    /// How many sessions ended.
    ended: usize,
}

/// Ends every session of the caller but the current one.
#[utoipa::path(
    delete, path = "/v1/sessions/others", tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "How many sessions ended.", body = Ended)),
)]
async fn end_others(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<Ended>, ApiError> {
    let ended =
        sessions::end_all(&state, &claims.sub, Some(&claims.sid), "ended_by_customer").await?;
    Ok(Json(Ended { ended: ended.len() }))
}

#[derive(Serialize, ToSchema)]
struct SessionView {
    id: String,
    created_at: i64,
    expires_at: i64,
    device_id: Option<String>,
    device_name: Option<String>,
    /// The session the request came from.
    current: bool,
}

/// The caller's live sessions, with their device; the current one flagged.
#[utoipa::path(
    get, path = "/v1/sessions", tag = "sessions", operation_id = "list_sessions", security(("bearer" = [])),
    responses((status = 200, description = "Live sessions.", body = Vec<SessionView>)),
)]
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
#[utoipa::path(
    delete, path = "/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id.")),
    responses(
        (status = 204, description = "The session is over."),
        (status = 404, description = "No such session of the caller's.", body = Problem),
    ),
)]
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
