//! `/v1/devices`: the devices a customer has logged in from, which they can rename and forget.
//! Forgetting a device ends its sessions; its next login counts as a new device.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use serde::{Deserialize, Serialize};

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use usvc_core::{auth::devices, store::devices::Device};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/devices", get(list))
        .route("/v1/devices/{id}", delete(forget).patch(rename))
}

#[derive(Serialize)]
struct DeviceView {
    #[serde(flatten)]
    device: Device,
    /// The device the request came from.
    current: bool,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

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

async fn forget(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    devices::forget(&state, &claims.sub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
