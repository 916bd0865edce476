//! Liveness and readiness probes; readiness names the version (and any trial candidate) each
//! component kind runs on this host.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use usvc_core::runtime::{ComponentKind, TrialMode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[derive(Serialize, ToSchema)]
struct Liveness {
    status: &'static str,
}

/// The process is up and serving HTTP.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive.", body = Liveness)),
)]
async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    status: &'static str,
    database: bool,
    components: Vec<ComponentReadiness>,
}

#[derive(Serialize, ToSchema)]
struct ComponentReadiness {
    kind: &'static str,
    loaded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    /// The candidate this host runs beside the active version, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    trial: Option<TrialReadiness>,
}

#[derive(Serialize, ToSchema)]
struct TrialReadiness {
    digest: String,
    /// `shadow` or `canary`.
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<u8>,
}

/// Ready when the database answers and every component kind is loaded.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "Not ready: the database does not answer or a kind has no component.", body = Readiness),
    ),
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = usvc_core::store::ping(&state.caps.db).await;
    let components: Vec<_> = ComponentKind::ALL
        .into_iter()
        .map(|kind| {
            let active = state.runtime.registry().active(kind);
            let trial = state.runtime.registry().trial(kind).map(|t| {
                let (mode, percent) = match t.mode {
                    TrialMode::Shadow => ("shadow", None),
                    TrialMode::Canary { percent } => ("canary", Some(percent)),
                };
                TrialReadiness {
                    digest: t.candidate.digest.clone(),
                    mode,
                    percent,
                }
            });
            ComponentReadiness {
                kind: kind.name(),
                loaded: active.is_some(),
                digest: active.map(|c| c.digest.clone()),
                trial,
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
