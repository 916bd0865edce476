//! `/v1/admin`: staff actions on customers' accounts; the admin role is required.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::put,
};
use serde::Deserialize;

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use crate::{
    admin::{self, AdminError},
    store::users::{User, UserStatus},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/users/{id}/status", put(set_status))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: UserStatus,
    reason: String,
}

/// Locks or unlocks an account; answers the account as it now is.
async fn set_status(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<Json<User>, ApiError> {
    let user = admin::set_status(&state, &claims, &id, change.status, &change.reason).await?;
    Ok(Json(user))
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotAdmin => {
                ApiError::Forbidden("/problems/forbidden", "this action needs the admin role")
            }
            AdminError::Invalid(violations) => ApiError::Validation(violations),
            AdminError::NotFound => ApiError::NotFound,
            AdminError::Conflict(detail) => ApiError::Conflict(detail),
            AdminError::Database(e) => e.into(),
        }
    }
}
