//! `/v1/devices`: the devices a customer has logged in from, which they can rename and forget.
//! Forgetting a device ends its sessions; its next login counts as a new device.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser},
};
use usvc_core::{auth::devices, store::devices::Device};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/devices", get(list))
        .route("/v1/devices/{id}", delete(forget).patch(rename))
}

#[derive(Serialize, ToSchema)]
struct DeviceView {
    #[serde(flatten)]
    device: Device,
    /// The device the request came from.
    current: bool,
}

/// The devices the caller logged in from; the current one flagged.
#[utoipa::path(
    get, path = "/v1/devices", tag = "sessions", operation_id = "list_devices", security(("bearer" = [])),
    responses((status = 200, description = "The caller's devices.", body = Vec<DeviceView>)),
)]
async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let list = devices::list(&state, &claims).await?;
    Ok(Json(
        list.into_iter()
            .map(|(device, current)| DeviceView { device, current })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

/// Renames one of the caller's devices.
#[utoipa::path(
    patch, path = "/v1/devices/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The device's id.")),
    request_body = Rename,
    responses(
        (status = 200, description = "The device.", body = Device),
        (status = 404, description = "No such device of the caller's.", body = Problem),
    ),
)]
async fn rename(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<Rename>,
) -> Result<Json<Device>, ApiError> {
    Ok(Json(
        devices::rename(&state, &claims.sub, &id, &request.name).await?,
    ))
}

/// Forgets one of the caller's devices and ends its sessions.
#[utoipa::path(
    delete, path = "/v1/devices/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "The device's id.")),
    responses(
        (status = 204, description = "Forgotten."),
        (status = 404, description = "No such device of the caller's.", body = Problem),
    ),
)]
async fn forget(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    devices::forget(&state, &claims.sub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
