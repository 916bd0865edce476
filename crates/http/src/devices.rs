//! `/v1/devices`: the devices a customer has logged in from, which they can rename and forget.
//! Forgetting a device ends its sessions; its next login counts as a new device.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use serde::{Deserialize, Serialize};
use usvc_core::failure::Failure;

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use usvc_core::{
    store::{
        self,
        devices::{self, Device},
        sessions,
    },
    trail,
};

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
    let mut conn = state.caps.db.acquire().await?;
    let current = sessions::device_of(&mut conn, &claims.sid).await?;
    let list = devices::list(&mut conn, &claims.sub).await?;
    Ok(Json(
        list.into_iter()
            .map(|device| DeviceView {
                current: current.as_deref() == Some(device.id.as_str()),
                device,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

const MAX_NAME_CHARS: usize = 64;

async fn rename(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<Rename>,
) -> Result<Json<Device>, ApiError> {
    let name = request.name.trim();
    let problem = if name.is_empty() {
        Some(("name_required", "A device needs a name."))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(("name_too_long", "A device name has at most 64 characters."))
    } else if name.chars().any(char::is_control) {
        Some((
            "name_invalid",
            "A device name cannot contain control characters.",
        ))
    } else {
        None
    };
    if let Some((code, message)) = problem {
        return Err(Failure::invalid_field("name", code, message).into());
    }
    let mut conn = state.caps.db.acquire().await?;
    devices::rename(&mut conn, &claims.sub, &id, name)
        .await?
        .map(Json)
        .ok_or(Failure::not_found("no such device").into())
}

/// Someone else's device is "not found", never "forbidden".
async fn forget(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    let ended = sessions::revoke_by_device(&mut tx, &claims.sub, &id, now).await?;
    if !devices::delete(&mut tx, &claims.sub, &id).await? {
        return Err(Failure::not_found("no such device").into());
    }
    trail::sessions_revoked(&mut tx, &claims.sub, &ended, "device_forgotten", now).await?;
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended(ended.iter().map(String::as_str)).await;
    Ok(StatusCode::NO_CONTENT)
}
