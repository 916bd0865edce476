//! `/v1/users/me/verification`: the caller's identity verification. `POST` asks to be verified
//! (the policy decides now and may ask the KYC service for a check; `202`, the result follows
//! asynchronously); `GET` shows the tier, status, limits, requirements, reasons and history.
//! The rules live in the verification policy component, the flow in [`usvc_core::verification`].

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, error::ApiError, extract::AuthUser};
use usvc_core::{
    clock::rfc3339,
    store::verification::{Limits, Reason},
    verification::Verification,
};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/users/me/verification",
        get(get_verification).post(request_verification),
    )
}

#[derive(Serialize, ToSchema)]
struct VerificationView {
    tier: u8,
    status: String,
    limits: Limits,
    requirements: Vec<String>,
    reasons: Vec<Reason>,
    manual_review: bool,
    /// When the decision shown was stored; `null` for a preview (nothing decided yet).
    decided_at: Option<String>,
    history: Vec<DecisionView>,
}

#[derive(Serialize, ToSchema)]
struct DecisionView {
    tier: u8,
    status: String,
    requirements: Vec<String>,
    reasons: Vec<Reason>,
    decided_at: String,
}

fn view(verification: Verification) -> VerificationView {
    let state = verification.state;
    VerificationView {
        tier: state.tier,
        status: state.status,
        limits: state.limits,
        requirements: state.requirements,
        reasons: state.reasons,
        manual_review: state.manual_review,
        decided_at: (state.version > 0).then(|| rfc3339(state.decided_at)),
        history: verification
            .history
            .into_iter()
            .map(|d| DecisionView {
                tier: d.tier,
                status: d.status,
                requirements: d.requirements,
                reasons: d.reasons,
                decided_at: rfc3339(d.decided_at),
            })
            .collect(),
    }
}

/// The caller's tier, status, limits, requirements, reasons and history (a preview of what the
/// policy would decide before anything is stored).
#[utoipa::path(
    get, path = "/v1/users/me/verification", tag = "verification", security(("bearer" = [])),
    responses((status = 200, description = "The verification.", body = VerificationView)),
)]
async fn get_verification(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<VerificationView>, ApiError> {
    Ok(Json(view(state.verifier.view(&claims.sub).await?)))
}

/// Asks to be verified: the policy decides now and may submit a KYC check.
#[utoipa::path(
    post, path = "/v1/users/me/verification", tag = "verification", security(("bearer" = [])),
    responses((status = 202, description = "Decided; any KYC result follows later.", body = VerificationView)),
)]
async fn request_verification(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<(StatusCode, Json<VerificationView>), ApiError> {
    state.verifier.assess(&claims.sub, true).await?;
    let verification = state.verifier.view(&claims.sub).await?;
    Ok((StatusCode::ACCEPTED, Json(view(verification))))
}
