//! `GET /v1/admin/decisions`: the decision log, by customer, kind, version, export, role and
//! time — for administrators and compliance staff (auditors).

use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    routing::get,
};
use serde::{Deserialize, Serialize};
use usvc_core::failure::{Failure, Reason};

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::AuthUser,
};
use usvc_core::{
    admin::is_admin,
    documents::COMPLIANCE,
    store::decisions::{DecisionRecord, Filter},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/decisions", get(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DecisionQuery {
    user: Option<String>,
    kind: Option<String>,
    /// The deciding (or shadow) version's digest.
    digest: Option<String>,
    operation: Option<String>,
    /// `active`, `canary` or `shadow`.
    role: Option<String>,
    /// Unix seconds, inclusive.
    since: Option<i64>,
    /// Unix seconds, exclusive.
    until: Option<i64>,
    /// The `next` of the previous page.
    before: Option<String>,
    /// 1 to 1000, default 100.
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Page {
    /// The logged decisions, newest first.
    #[schema(value_type = Vec<Object>)]
    decisions: Vec<DecisionRecord>,
    /// Pass as `before` for the next (older) page; absent on the last one.
    next: Option<String>,
}

/// The decision log, newest first; for administrators and compliance staff.
#[utoipa::path(
    get, path = "/v1/admin/decisions", tag = "admin", operation_id = "list_decisions", security(("bearer" = [])),
    params(DecisionQuery),
    responses(
        (status = 200, description = "A page of decisions.", body = Page),
        (status = 400, description = "The query is malformed.", body = Problem),
        (status = 403, description = "The admin or compliance role is required.", body = Problem),
    ),
)]
async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    query: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    if !is_admin(&claims) && !usvc_core::admin::acts_as(&claims, COMPLIANCE) {
        return Err(Failure::forbidden(
            Reason::AdminRoleRequired,
            "the decision log needs the admin or compliance role",
        )
        .into());
    }
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let filter = Filter {
        user_id: query.user,
        kind: query.kind,
        digest: query.digest.map(|d| d.to_ascii_lowercase()),
        operation: query.operation,
        role: query.role,
        since: query.since,
        until: query.until,
        replayable: false,
        before: query.before,
        limit,
    };
    let decisions = state.lifecycle.decisions(&filter).await?;
    let next = (decisions.len() as i64 == limit)
        .then(|| decisions.last().map(|d| d.id.clone()))
        .flatten();
    Ok(Json(Page { decisions, next }))
}
