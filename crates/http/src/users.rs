//! `/v1/users`: the authenticated customer's own record.

use axum::{Json, Router, extract::State, routing::get};
use serde::Serialize;
use usvc_core::failure::Failure;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::AuthUser,
};
use usvc_core::{clock::rfc3339, customers, store::users::UserStatus};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/users/me", get(me))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    id: String,
    email: String,
    legal_name: String,
    date_of_birth: String,
    country_of_residence: String,
    phone: Option<String>,
    status: UserStatus,
    created_at: String,
}

/// The caller's record.
#[utoipa::path(
    get, path = "/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's record.", body = Me),
        (status = 404, description = "The customer is gone.", body = Problem),
    ),
)]
async fn me(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<Me>, ApiError> {
    let user = customers::get(&state.caps, &claims.sub)
        .await?
        .ok_or(Failure::not_found("no such customer"))?;
    let date_of_birth = customers::date_of_birth(&state.caps, &user)?;
    Ok(Json(Me {
        date_of_birth,
        id: user.id,
        email: user.email,
        legal_name: user.legal_name,
        country_of_residence: user.country_of_residence,
        phone: user.phone,
        status: user.status,
        created_at: rfc3339(user.created_at),
    }))
}
