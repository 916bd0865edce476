//! `/v1/admin`: staff actions on customers' accounts; the admin role is required.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::put,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser},
};
use usvc_core::{
    admin::{self},
    customers,
    store::users::{User, UserStatus},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/users/{id}/status", put(set_status))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: UserStatus,
    reason: String,
}

/// The account as an administrator sees it.
#[derive(Serialize, ToSchema)]
struct AccountView {
    id: String,
    email: String,
    legal_name: String,
    date_of_birth: String,
    country_of_residence: String,
    phone: Option<String>,
    status: UserStatus,
    created_at: i64,
}

fn account_view(state: &AppState, user: User) -> Result<AccountView, ApiError> {
    Ok(AccountView {
        date_of_birth: customers::date_of_birth(&state.caps, &user)?,
        id: user.id,
        email: user.email,
        legal_name: user.legal_name,
        country_of_residence: user.country_of_residence,
        phone: user.phone,
        status: user.status,
        created_at: user.created_at,
    })
}

/// Locks or unlocks an account; answers the account as it now is.
#[utoipa::path(
    put, path = "/v1/admin/users/{id}/status", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The customer's id.")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "The account.", body = AccountView),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such customer.", body = Problem),
        (status = 409, description = "The status cannot change so (a closed account, say).", body = Problem),
    ),
)]
async fn set_status(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<Json<AccountView>, ApiError> {
    let user = admin::set_status(&state, &claims, &id, change.status, &change.reason).await?;
    Ok(Json(account_view(&state, user)?))
}
