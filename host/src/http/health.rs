//! Liveness and readiness probes.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::Serialize;

use super::AppState;
use crate::runtime::ComponentKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving HTTP.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: bool,
    components: Vec<ComponentReadiness>,
}

#[derive(Serialize)]
struct ComponentReadiness {
    kind: &'static str,
    loaded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
}

/// Ready when the database answers and every component kind is loaded.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = crate::store::ping(&state.caps.db).await;
    let components: Vec<_> = ComponentKind::ALL
        .into_iter()
        .map(|kind| {
            let active = state.runtime.registry().active(kind);
            ComponentReadiness {
                kind: kind.name(),
                loaded: active.is_some(),
                digest: active.map(|c| c.digest.clone()),
            }
        })
        .collect();
    let ready = database && components.iter().all(|c| c.loaded);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            database,
            components,
        }),
    )
}
