//! `/v1/mfa` and the second step of login: enrolling, listing and removing second factors,
//! recovery codes, `POST /v1/auth/mfa/verify` and step-ups. The mfa component decides every
//! answer; handlers only translate.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use usvc_core::failure::Failure;

use super::{
    AppState,
    auth::Tokens,
    error::ApiError,
    extract::{ApiJson, AuthUser, ClientIp},
};
use usvc_core::{
    auth::second_factor::{self},
    guard::{Action, Guard},
    runtime::mfa::{Method, OtpChannel, SensitiveAction},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/mfa/verify", post(verify))
        .route("/v1/auth/mfa/send", post(send_login_code))
        .route("/v1/auth/mfa/step-up", post(step_up))
        .route("/v1/mfa/codes", post(send_step_up_code))
        .route("/v1/mfa/factors", get(list))
        .route("/v1/mfa/factors/{id}", delete(remove))
        .route("/v1/mfa/totp", post(enrol_totp))
        .route("/v1/mfa/totp/{id}/confirm", post(confirm))
        .route("/v1/mfa/otp", post(enrol_otp))
        .route("/v1/mfa/otp/{id}/confirm", post(confirm))
        .route("/v1/mfa/recovery-codes", post(new_recovery_codes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verify {
    challenge_token: String,
    method: Method,
    code: String,
}

/// The second step of a login: a code for the challenge the password step returned.
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<Verify>,
) -> Result<Json<Tokens>, ApiError> {
    let challenge = Guard::account_key(&request.challenge_token);
    state
        .guard
        .admit(Action::CodeCheck, ip, Some(&challenge))
        .await?;
    let pair = second_factor::complete_login(
        &state,
        &request.challenge_token,
        request.method,
        &request.code,
    )
    .await?;
    Ok(Json(Tokens::from(pair)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendLoginCode {
    challenge_token: String,
    method: Method,
}

/// Sends a one-time code (`email_code` or `sms_code`) for a login challenge.
async fn send_login_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<SendLoginCode>,
) -> Result<StatusCode, ApiError> {
    let challenge = Guard::account_key(&request.challenge_token);
    state
        .guard
        .admit(Action::CodeCheck, ip, Some(&challenge))
        .await?;
    second_factor::send_login_code(&state, &request.challenge_token, request.method).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendCode {
    method: Method,
}

/// Sends a one-time code (`email_code` or `sms_code`) for this session's next step-up.
async fn send_step_up_code(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<SendCode>,
) -> Result<StatusCode, ApiError> {
    second_factor::send_step_up_code(&state, &claims, request.method).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    method: Method,
    code: String,
}

/// A fresh second factor for this session, before a sensitive action.
async fn step_up(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<Code>,
) -> Result<StatusCode, ApiError> {
    second_factor::step_up(&state, &claims, request.method, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct FactorView {
    id: String,
    kind: String,
    active: bool,
    created_at: i64,
}

async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (factors, left) = second_factor::enrolled(&state, &claims.sub).await?;
    let factors: Vec<FactorView> = factors
        .into_iter()
        .map(|f| FactorView {
            id: f.id,
            kind: f.kind,
            active: f.activated_at.is_some(),
            created_at: f.created_at,
        })
        .collect();
    Ok(Json(
        json!({ "factors": factors, "recovery_codes_left": left }),
    ))
}

/// Starts a TOTP enrolment: the secret, its `otpauth://` URI and the URI as a QR code (SVG).
/// Needs the proof the policy asks for (a recent password, or a fresh second factor).
async fn enrol_totp(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::EnrolFactor).await?;
    let enrolment = state
        .runtime
        .mfa_enrol_totp(&state.caps, claims.sub.clone())
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    let qr = qrcode::QrCode::new(enrolment.uri.as_bytes())
        .map_err(|e| Failure::internal(anyhow::anyhow!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "factor_id": enrolment.factor_id,
            "secret": enrolment.secret,
            "otpauth_uri": enrolment.uri,
            "qr_svg": qr,
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

/// Activates an enrolment (an authenticator app, or codes by email or SMS) with its first code;
/// the first factor also returns recovery codes.
async fn confirm(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<Confirm>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let codes = state
        .runtime
        .mfa_confirm_factor(&state.caps, claims.sub.clone(), id, request.code)
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok(Json(json!({ "active": true, "recovery_codes": codes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolOtp {
    channel: OtpChannel,
}

/// Starts enrolling a factor that receives one-time codes by email or SMS; sends a first code.
/// Needs the proof the policy asks for, as a TOTP enrolment does.
async fn enrol_otp(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<EnrolOtp>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::EnrolFactor).await?;
    let factor_id = state
        .runtime
        .mfa_enrol_otp(&state.caps, claims.sub.clone(), request.channel)
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "factor_id": factor_id, "channel": request.channel, "code_sent": true })),
    ))
}

/// Removes a factor; needs a fresh second factor when the policy says so.
async fn remove(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::RemoveFactor).await?;
    if state
        .runtime
        .mfa_remove_factor(&state.caps, claims.sub.clone(), id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure::not_found("no such factor").into())
    }
}

/// A new set of recovery codes (the old set stops working); needs a fresh second factor.
async fn new_recovery_codes(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::NewRecoveryCodes).await?;
    let codes = state
        .runtime
        .mfa_new_recovery_codes(&state.caps, claims.sub.clone())
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok(Json(json!({ "recovery_codes": codes })))
}
