//! `/v1/admin/components`: deploying signed component artifacts, their history and rollback;
//! the admin role is required.

use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    routing::post,
};
use serde::{Deserialize, Serialize};

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use crate::{
    admin::is_admin,
    auth::tokens::Claims,
    lifecycle::{DeployError, Deployed},
    runtime::{ComponentKind, artifact::Rejection, onboarding::Violation},
    store::component_versions::ComponentVersion,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/components",
            // The artifact's own size limit applies instead (`artifact.too_large`).
            post(deploy).get(history).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/admin/components/{kind}/rollback", post(rollback))
}

fn require_admin(claims: &Claims) -> Result<(), ApiError> {
    if is_admin(claims) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "/problems/forbidden",
            "this action needs the admin role",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployQuery {
    /// The kind of a bare component (development mode); an artifact names its own.
    kind: Option<String>,
}

/// A stored version as an administrator sees it.
#[derive(Serialize)]
struct VersionView {
    kind: String,
    digest: String,
    version: Option<String>,
    description: Option<String>,
    author: Option<String>,
    /// `None` for a component accepted unsigned (development mode).
    signer: Option<String>,
    size_bytes: i64,
    deployed_by: String,
    deployed_at: i64,
    status: String,
    activated_by: String,
    activated_at: i64,
}

impl From<ComponentVersion> for VersionView {
    fn from(v: ComponentVersion) -> Self {
        Self {
            kind: v.kind,
            digest: v.digest,
            version: v.version,
            description: v.description,
            author: v.author,
            signer: v.signer,
            size_bytes: v.size_bytes,
            deployed_by: v.deployed_by,
            deployed_at: v.deployed_at,
            status: v.status,
            activated_by: v.activated_by,
            activated_at: v.activated_at,
        }
    }
}

/// `201` for a newly active version, `200` when it was active already.
fn answer(deployed: Deployed) -> (StatusCode, Json<VersionView>) {
    let status = if deployed.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(deployed.version.into()))
}

/// Deploys an artifact (`application/json`), or in development mode a bare component
/// (`application/wasm`, `?kind=`).
async fn deploy(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    query: Result<Query<DeployQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    require_admin(&claims)?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let bare = if content_type.starts_with("application/json") {
        false
    } else if content_type.starts_with("application/wasm") {
        true
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let kind = match (&query.kind, bare) {
        (Some(name), _) => Some(
            ComponentKind::from_name(name)
                .ok_or_else(|| rejected(Rejection::UnknownKind(name.clone()).into()))?,
        ),
        (None, true) => {
            return Err(ApiError::Validation(vec![Violation {
                code: "kind.required".to_owned(),
                field: "kind".to_owned(),
                message: "a bare component needs ?kind=onboarding|mfa|verification".to_owned(),
            }]));
        }
        (None, false) => None,
    };
    let limit = state.lifecycle.max_bytes();
    let bytes = axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_err(|_| {
            rejected(
                Rejection::TooLarge {
                    size: limit.saturating_add(1),
                    limit,
                }
                .into(),
            )
        })?;
    let deployed = state
        .lifecycle
        .deploy(&bytes, kind, &claims.sub)
        .await
        .map_err(rejected)?;
    Ok(answer(deployed))
}

#[derive(Serialize)]
struct KindHistory {
    kind: &'static str,
    /// The digest of the active version, when one was deployed.
    active: Option<String>,
    /// Newest activation first.
    versions: Vec<VersionView>,
}

#[derive(Serialize)]
struct History {
    components: Vec<KindHistory>,
}

/// Every deployed version of every kind, and which is active.
async fn history(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<History>, ApiError> {
    require_admin(&claims)?;
    let stored = state.lifecycle.history().await?;
    let components = ComponentKind::ALL
        .into_iter()
        .map(|kind| {
            let versions: Vec<VersionView> = stored
                .iter()
                .filter(|v| v.kind == kind.name())
                .cloned()
                .map(VersionView::from)
                .collect();
            KindHistory {
                kind: kind.name(),
                active: versions
                    .iter()
                    .find(|v| v.status == "active")
                    .map(|v| v.digest.clone()),
                versions,
            }
        })
        .collect();
    Ok(Json(History { components }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackRequest {
    digest: String,
}

/// Makes an earlier stored version of `kind` active again.
async fn rollback(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
    ApiJson(request): ApiJson<RollbackRequest>,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    require_admin(&claims)?;
    let kind = ComponentKind::from_name(&kind).ok_or(ApiError::NotFound)?;
    let deployed = state
        .lifecycle
        .rollback(kind, &request.digest, &claims.sub)
        .await
        .map_err(rejected)?;
    // A rollback answers 200 either way: nothing new was created.
    Ok((StatusCode::OK, Json(deployed.version.into())))
}

/// A refused component is a validation problem naming its reason's stable code.
fn rejected(error: DeployError) -> ApiError {
    match error {
        DeployError::Rejected(_) | DeployError::TypeCheck(_) => {
            ApiError::Validation(vec![Violation {
                code: error.code().unwrap_or("artifact.rejected").to_owned(),
                field: "artifact".to_owned(),
                message: error.to_string(),
            }])
        }
        DeployError::NotFound => ApiError::NotFound,
        DeployError::Concurrent => ApiError::Conflict(
            "another deploy or rollback of this kind ran at the same time; try again",
        ),
        DeployError::Database(e) => e.into(),
        DeployError::Internal(e) => ApiError::Internal(e),
    }
}
