//! `/v1/admin/components`: deploying signed component artifacts, their history and rollback;
//! the admin role is required.

use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode, header},
    routing::{post, put},
};
use serde::{Deserialize, Serialize};
use usvc_core::failure::{Failure, Reason};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser},
    openapi::Binary,
};
use usvc_core::{
    admin::is_admin,
    auth::tokens::Claims,
    lifecycle::{DeployError, Deployed, ReplayReport, TrialStatus},
    runtime::{ComponentKind, TrialMode, artifact::Rejection},
    store::{component_versions::ComponentVersion, decisions::Filter},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/components",
            // The artifact's own size limit applies instead (`artifact.too_large`).
            post(deploy).get(history).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/admin/components/{kind}/rollback", post(rollback))
        .route(
            "/v1/admin/components/{kind}/trial",
            put(start_trial)
                .get(trial)
                .delete(end_trial)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/v1/admin/components/{kind}/replay",
            post(replay).layer(DefaultBodyLimit::disable()),
        )
}

fn require_admin(claims: &Claims) -> Result<(), ApiError> {
    if is_admin(claims) {
        Ok(())
    } else {
        Err(Failure::forbidden(
            Reason::AdminRoleRequired,
            "this action needs the admin role",
        )
        .into())
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeployQuery {
    /// The kind of a bare component (development mode); an artifact names its own.
    kind: Option<String>,
    /// Deploy a version older than the active one on purpose (recorded as a downgrade).
    #[serde(default)]
    allow_downgrade: bool,
}

/// A stored version as an administrator sees it.
#[derive(Serialize, ToSchema)]
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
#[utoipa::path(
    post, path = "/v1/admin/components", tag = "admin", security(("bearer" = [])),
    params(DeployQuery),
    request_body(description = "A signed artifact (`application/json`), or in development mode a bare component (`application/wasm`).", content((Object = "application/json"), (Binary = "application/wasm"))),
    responses(
        (status = 201, description = "The version is now active.", body = VersionView),
        (status = 200, description = "The version was active already.", body = VersionView),
        (status = 400, description = "The query or the artifact is malformed.", body = Problem),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 409, description = "An older version than the active one, without `allow_downgrade`.", body = Problem),
        (status = 422, description = "The artifact is refused (signature, kind, size, self-test, ...): `violations` says why.", body = Problem),
        (status = 415, description = "Neither `application/json` nor `application/wasm`.", body = Problem),
    ),
)]
async fn deploy(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    query: Result<Query<DeployQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    require_admin(&claims)?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let kind = query.kind.as_deref().map(kind_named).transpose()?;
    let bytes = read_artifact(&state, kind, &headers, body).await?;
    let deployed = state
        .lifecycle
        .deploy(&bytes, kind, &claims.sub, query.allow_downgrade)
        .await?;
    Ok(answer(deployed))
}

/// A kind named in a query or path; an unknown one is the artifact's `unknown_kind`.
fn kind_named(name: &str) -> Result<ComponentKind, ApiError> {
    ComponentKind::from_name(name)
        .ok_or_else(|| DeployError::from(Rejection::UnknownKind(name.to_owned())).into())
}

/// The uploaded artifact (`application/json`), or a bare component (`application/wasm`,
/// development mode) whose kind must be given; bounded by the artifact size limit.
async fn read_artifact(
    state: &AppState,
    kind: Option<ComponentKind>,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
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
    if bare && kind.is_none() {
        return Err(Failure::invalid_field(
            "kind",
            "kind.required",
            "a bare component needs ?kind=onboarding|mfa|verification",
        )
        .into());
    }
    let limit = state.lifecycle.max_bytes();
    axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_err(|_| {
            DeployError::from(Rejection::TooLarge {
                size: limit.saturating_add(1),
                limit,
            })
            .into()
        })
}

#[derive(Serialize, ToSchema)]
struct KindHistory {
    kind: &'static str,
    /// The digest of the active version, when one was deployed.
    active: Option<String>,
    /// Newest activation first.
    versions: Vec<VersionView>,
}

#[derive(Serialize, ToSchema)]
struct History {
    components: Vec<KindHistory>,
}

/// Every deployed version of every kind, and which is active.
#[utoipa::path(
    get, path = "/v1/admin/components", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "The history.", body = History),
        (status = 403, description = "The admin role is required.", body = Problem),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RollbackRequest {
    digest: String,
}

/// Makes an earlier stored version of `kind` active again.
#[utoipa::path(
    post, path = "/v1/admin/components/{kind}/rollback", tag = "admin", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`onboarding`, `mfa` or `verification`.")),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "The version now active.", body = VersionView),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such kind or stored version.", body = Problem),
    ),
)]
async fn rollback(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
    ApiJson(request): ApiJson<RollbackRequest>,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    require_admin(&claims)?;
    let kind =
        ComponentKind::from_name(&kind).ok_or(Failure::not_found("no such component kind"))?;
    let deployed = state
        .lifecycle
        .rollback(kind, &request.digest, &claims.sub)
        .await?;
    // A rollback answers 200 either way: nothing new was created.
    Ok((StatusCode::OK, Json(deployed.version.into())))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TrialQuery {
    /// `shadow` or `canary`.
    mode: String,
    /// The canary's share of customers, 0 to 100.
    percent: Option<u8>,
}

fn trial_mode(query: &TrialQuery) -> Result<TrialMode, ApiError> {
    let invalid = |code: &str, field: &str, message: &str| {
        ApiError::from(Failure::invalid_field(field, code, message))
    };
    match (query.mode.as_str(), query.percent) {
        ("shadow", None) => Ok(TrialMode::Shadow),
        ("shadow", Some(_)) => Err(invalid(
            "percent.unexpected",
            "percent",
            "a shadow decides for nobody; percent is for a canary",
        )),
        ("canary", Some(percent)) if percent <= 100 => Ok(TrialMode::Canary { percent }),
        ("canary", _) => Err(invalid(
            "percent.invalid",
            "percent",
            "a canary needs ?percent= from 0 to 100",
        )),
        _ => Err(invalid(
            "mode.invalid",
            "mode",
            "the mode is shadow or canary",
        )),
    }
}

/// Puts an artifact of `kind` on trial: `?mode=shadow`, or `?mode=canary&percent=N`.
#[utoipa::path(
    put, path = "/v1/admin/components/{kind}/trial", tag = "admin", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`onboarding`, `mfa` or `verification`."), TrialQuery),
    request_body(description = "A signed artifact (`application/json`), or in development mode a bare component (`application/wasm`).", content((Object = "application/json"), (Binary = "application/wasm"))),
    responses(
        (status = 201, description = "The trial.", body = Object),
        (status = 400, description = "The query or the artifact is malformed.", body = Problem),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such kind.", body = Problem),
        (status = 409, description = "A trial of the kind is running already.", body = Problem),
        (status = 422, description = "The artifact is refused (signature, kind, size, self-test, ...): `violations` says why.", body = Problem),
        (status = 415, description = "Neither `application/json` nor `application/wasm`.", body = Problem),
    ),
)]
async fn start_trial(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
    query: Result<Query<TrialQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<TrialStatus>), ApiError> {
    require_admin(&claims)?;
    let kind =
        ComponentKind::from_name(&kind).ok_or(Failure::not_found("no such component kind"))?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mode = trial_mode(&query)?;
    let bytes = read_artifact(&state, Some(kind), &headers, body).await?;
    let status = state
        .lifecycle
        .start_trial(&bytes, Some(kind), mode, &claims.sub)
        .await?;
    Ok((StatusCode::CREATED, Json(status)))
}

/// The trial of `kind`: its candidate, mode, shadow evaluations and disagreements.
#[utoipa::path(
    get, path = "/v1/admin/components/{kind}/trial", tag = "admin", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`onboarding`, `mfa` or `verification`.")),
    responses(
        (status = 200, description = "The trial.", body = Object),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such kind, or no trial.", body = Problem),
    ),
)]
async fn trial(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
) -> Result<Json<TrialStatus>, ApiError> {
    require_admin(&claims)?;
    let kind =
        ComponentKind::from_name(&kind).ok_or(Failure::not_found("no such component kind"))?;
    Ok(Json(state.lifecycle.trial(kind).await?))
}

/// Ends the trial of `kind`; the answer is its final counts.
#[utoipa::path(
    delete, path = "/v1/admin/components/{kind}/trial", tag = "admin", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`onboarding`, `mfa` or `verification`.")),
    responses(
        (status = 200, description = "The trial's final counts.", body = Object),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such kind, or no trial.", body = Problem),
    ),
)]
async fn end_trial(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
) -> Result<Json<TrialStatus>, ApiError> {
    require_admin(&claims)?;
    let kind =
        ComponentKind::from_name(&kind).ok_or(Failure::not_found("no such component kind"))?;
    let status = state.lifecycle.end_trial(kind, &claims.sub).await?;
    Ok(Json(status))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReplayQuery {
    /// Unix seconds: decisions taken at or after.
    since: Option<i64>,
    /// Unix seconds: decisions taken before.
    until: Option<i64>,
    user: Option<String>,
    /// At most this many decisions, newest first (default 1000, at most 10000).
    limit: Option<i64>,
}

/// Replays recorded decisions of `kind` against an uploaded candidate and reports where it
/// answers otherwise. Nothing is written and nothing changes.
#[utoipa::path(
    post, path = "/v1/admin/components/{kind}/replay", tag = "admin", security(("bearer" = [])),
    params(("kind" = String, Path, description = "`onboarding`, `mfa` or `verification`."), ReplayQuery),
    request_body(description = "A signed artifact (`application/json`), or in development mode a bare component (`application/wasm`).", content((Object = "application/json"), (Binary = "application/wasm"))),
    responses(
        (status = 200, description = "Where the candidate answers otherwise.", body = Object),
        (status = 400, description = "The query or the artifact is malformed.", body = Problem),
        (status = 403, description = "The admin role is required.", body = Problem),
        (status = 404, description = "No such kind.", body = Problem),
        (status = 422, description = "The artifact is refused (signature, kind, size, self-test, ...): `violations` says why.", body = Problem),
        (status = 415, description = "Neither `application/json` nor `application/wasm`.", body = Problem),
    ),
)]
async fn replay(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(kind): Path<String>,
    query: Result<Query<ReplayQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ReplayReport>, ApiError> {
    require_admin(&claims)?;
    let kind =
        ComponentKind::from_name(&kind).ok_or(Failure::not_found("no such component kind"))?;
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let bytes = read_artifact(&state, Some(kind), &headers, body).await?;
    let filter = Filter {
        user_id: query.user,
        since: query.since,
        until: query.until,
        limit: query.limit.unwrap_or(1000).clamp(1, 10_000),
        ..Filter::default()
    };
    let report = state
        .lifecycle
        .replay(&bytes, Some(kind), filter, &claims.sub)
        .await?;
    Ok(Json(report))
}
