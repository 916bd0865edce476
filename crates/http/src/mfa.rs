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
use usvc_core::failure::Failure;
use utoipa::ToSchema;

use super::{
    AppState,
    auth::Tokens,
    error::{ApiError, Problem},
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
        .route("/v1/mfa/totp/{id}/confirm", post(confirm_totp))
        .route("/v1/mfa/otp", post(enrol_otp))
        .route("/v1/mfa/otp/{id}/confirm", post(confirm_otp))
        .route("/v1/mfa/recovery-codes", post(new_recovery_codes))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Verify {
    challenge_token: String,
    method: Method,
    code: String,
}

/// The second step of a login: a code for the challenge the password step returned.
#[utoipa::path(
    post, path = "/v1/auth/mfa/verify", tag = "auth",
    request_body = Verify,
    responses(
        (status = 200, description = "The login is complete.", body = Tokens),
        (status = 400, description = "The code was refused, or the method is not allowed or not enrolled.", body = Problem),
        (status = 401, description = "The challenge is unknown, expired or dead.", body = Problem),
        (status = 403, description = "Second factors are locked for a while (`/problems/mfa-locked`), or the account is unavailable.", body = Problem),
        (status = 429, description = "Too many code checks.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendLoginCode {
    challenge_token: String,
    method: Method,
}

/// Sends a one-time code (`email_code` or `sms_code`) for a login challenge.
#[utoipa::path(
    post, path = "/v1/auth/mfa/send", tag = "auth",
    request_body = SendLoginCode,
    responses(
        (status = 202, description = "A code is on its way."),
        (status = 400, description = "The method sends no codes, or no active factor sends them.", body = Problem),
        (status = 401, description = "The challenge is unknown, expired or dead.", body = Problem),
        (status = 403, description = "Second factors are locked for a while.", body = Problem),
        (status = 429, description = "A code was sent too recently, or too many this hour.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendCode {
    method: Method,
}

/// Sends a one-time code (`email_code` or `sms_code`) for this session's next step-up.
#[utoipa::path(
    post, path = "/v1/mfa/codes", tag = "mfa", security(("bearer" = [])),
    request_body = SendCode,
    responses(
        (status = 202, description = "A code is on its way."),
        (status = 400, description = "The method sends no codes, or no active factor sends them.", body = Problem),
        (status = 403, description = "Second factors are locked for a while.", body = Problem),
        (status = 429, description = "A code was sent too recently, or too many this hour.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn send_step_up_code(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<SendCode>,
) -> Result<StatusCode, ApiError> {
    second_factor::send_step_up_code(&state, &claims, request.method).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Code {
    method: Method,
    code: String,
}

/// A fresh second factor for this session, before a sensitive action.
#[utoipa::path(
    post, path = "/v1/auth/mfa/step-up", tag = "mfa", security(("bearer" = [])),
    request_body = Code,
    responses(
        (status = 204, description = "The session has given a second factor now."),
        (status = 400, description = "The code was refused, or the method is not allowed or not enrolled.", body = Problem),
        (status = 403, description = "Second factors are locked for a while.", body = Problem),
        (status = 429, description = "Too many code checks.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn step_up(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<Code>,
) -> Result<StatusCode, ApiError> {
    second_factor::step_up(&state, &claims, request.method, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct FactorView {
    id: String,
    kind: String,
    active: bool,
    created_at: i64,
}

#[derive(Serialize, ToSchema)]
struct Factors {
    factors: Vec<FactorView>,
    recovery_codes_left: u32,
}

/// The caller's second factors and how many recovery codes are left.
#[utoipa::path(
    get, path = "/v1/mfa/factors", tag = "mfa", operation_id = "list_factors", security(("bearer" = [])),
    responses((status = 200, description = "The factors.", body = Factors)),
)]
async fn list(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<Factors>, ApiError> {
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
    Ok(Json(Factors {
        factors,
        recovery_codes_left: left,
    }))
}

/// Starts a TOTP enrolment: the secret, its `otpauth://` URI and the URI as a QR code (SVG).
/// Needs the proof the policy asks for (a recent password, or a fresh second factor).
#[utoipa::path(
    post, path = "/v1/mfa/totp", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 201, description = "The enrolment, to confirm with a first code.", body = TotpEnrolment),
        (status = 403, description = "Needs the proof the mfa policy asks for (`/problems/step-up-required`, `/problems/reauthentication-required`).", body = Problem),
        (status = 422, description = "The policy refuses the enrolment.", body = Problem),
    ),
)]
async fn enrol_totp(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<(StatusCode, Json<TotpEnrolment>), ApiError> {
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
        Json(TotpEnrolment {
            factor_id: enrolment.factor_id,
            secret: enrolment.secret,
            otpauth_uri: enrolment.uri,
            qr_svg: qr,
        }),
    ))
}

#[derive(Serialize, ToSchema)]
struct TotpEnrolment {
    factor_id: String,
    /// Base32, for typing into an authenticator app.
    secret: String,
    otpauth_uri: String,
    /// The URI as a QR code (SVG).
    qr_svg: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
    code: String,
}

#[derive(Serialize, ToSchema)]
struct Confirmed {
    active: bool,
    /// Single-use recovery codes, shown once (the first factor only; else empty).
    recovery_codes: Vec<String>,
}

/// Activates an authenticator app with its first code; the first factor also returns recovery
/// codes.
#[utoipa::path(
    post, path = "/v1/mfa/totp/{id}/confirm", tag = "mfa", security(("bearer" = [])),
    params(("id" = String, Path, description = "The enrolment's `factor_id`.")),
    request_body = Confirm,
    responses(
        (status = 200, description = "The factor is active.", body = Confirmed),
        (status = 422, description = "The code or the enrolment is refused.", body = Problem),
    ),
)]
async fn confirm_totp(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
    request: ApiJson<Confirm>,
) -> Result<Json<Confirmed>, ApiError> {
    confirm(state, user, id, request).await
}

/// Activates a factor that receives codes by email or SMS with its first code; the first factor
/// also returns recovery codes.
#[utoipa::path(
    post, path = "/v1/mfa/otp/{id}/confirm", tag = "mfa", security(("bearer" = [])),
    params(("id" = String, Path, description = "The enrolment's `factor_id`.")),
    request_body = Confirm,
    responses(
        (status = 200, description = "The factor is active.", body = Confirmed),
        (status = 422, description = "The code or the enrolment is refused.", body = Problem),
    ),
)]
async fn confirm_otp(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
    request: ApiJson<Confirm>,
) -> Result<Json<Confirmed>, ApiError> {
    confirm(state, user, id, request).await
}

/// Activates an enrolment (an authenticator app, or codes by email or SMS) with its first code;
/// the first factor also returns recovery codes.
async fn confirm(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<Confirm>,
) -> Result<Json<Confirmed>, ApiError> {
    let codes = state
        .runtime
        .mfa_confirm_factor(&state.caps, claims.sub.clone(), id, request.code)
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok(Json(Confirmed {
        active: true,
        recovery_codes: codes,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnrolOtp {
    channel: OtpChannel,
}

#[derive(Serialize, ToSchema)]
struct OtpEnrolment {
    factor_id: String,
    channel: OtpChannel,
    code_sent: bool,
}

/// Starts enrolling a factor that receives one-time codes by email or SMS; sends a first code.
/// Needs the proof the policy asks for, as a TOTP enrolment does.
#[utoipa::path(
    post, path = "/v1/mfa/otp", tag = "mfa", security(("bearer" = [])),
    request_body = EnrolOtp,
    responses(
        (status = 201, description = "The enrolment; a first code is on its way.", body = OtpEnrolment),
        (status = 403, description = "Needs the proof the mfa policy asks for (`/problems/step-up-required`, `/problems/reauthentication-required`).", body = Problem),
        (status = 422, description = "The policy refuses the enrolment (no phone for SMS, say).", body = Problem),
    ),
)]
async fn enrol_otp(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(request): ApiJson<EnrolOtp>,
) -> Result<(StatusCode, Json<OtpEnrolment>), ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::EnrolFactor).await?;
    let factor_id = state
        .runtime
        .mfa_enrol_otp(&state.caps, claims.sub.clone(), request.channel)
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok((
        StatusCode::CREATED,
        Json(OtpEnrolment {
            factor_id,
            channel: request.channel,
            code_sent: true,
        }),
    ))
}

/// Removes a factor; needs a fresh second factor when the policy says so.
#[utoipa::path(
    delete, path = "/v1/mfa/factors/{id}", tag = "mfa", security(("bearer" = [])),
    params(("id" = String, Path, description = "The factor's id.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "Needs a fresh second factor (`/problems/step-up-required`).", body = Problem),
        (status = 404, description = "No such factor of the caller's.", body = Problem),
    ),
)]
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

#[derive(Serialize, ToSchema)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// A new set of recovery codes (the old set stops working); needs a fresh second factor.
#[utoipa::path(
    post, path = "/v1/mfa/recovery-codes", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "The new codes, shown once.", body = RecoveryCodes),
        (status = 403, description = "Needs a fresh second factor (`/problems/step-up-required`).", body = Problem),
        (status = 422, description = "The policy refuses (no active factor).", body = Problem),
    ),
)]
async fn new_recovery_codes(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<RecoveryCodes>, ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::NewRecoveryCodes).await?;
    let codes = state
        .runtime
        .mfa_new_recovery_codes(&state.caps, claims.sub.clone())
        .await?
        .map_err(|v| Failure::invalid(vec![v]))?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}
