//! `/v1/users/me/phone` and `/v1/users/me/email`: a PUT asks for a change (after a step-up when
//! the customer has a second factor) and sends a code to the new number or address; a POST to
//! `.../verify` with that code makes the change. The flow lives in [`usvc_core::profile::contact`].

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser},
};
use usvc_core::{
    auth::second_factor, clock::rfc3339, profile::contact::CodeSent, runtime::mfa::SensitiveAction,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/me/phone", axum::routing::put(request_phone))
        .route("/v1/users/me/phone/verify", post(confirm_phone))
        .route("/v1/users/me/email", axum::routing::put(request_email))
        .route("/v1/users/me/email/verify", post(confirm_email))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPhone {
    phone: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEmail {
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

/// The same body whether or not a code went out (an email address someone else has).
#[derive(Serialize, ToSchema)]
struct Pending {
    status: &'static str,
    code_expires_at: String,
}

fn pending(sent: CodeSent) -> (StatusCode, Json<Pending>) {
    (
        StatusCode::ACCEPTED,
        Json(Pending {
            status: "code_sent",
            code_expires_at: rfc3339(sent.expires_at),
        }),
    )
}

#[derive(Serialize, ToSchema)]
struct PhoneView {
    phone: String,
    phone_verified: bool,
}

#[derive(Serialize, ToSchema)]
struct EmailView {
    email: String,
}

/// Texts a six-digit code to a new number (E.164).
#[utoipa::path(
    put, path = "/v1/users/me/phone", tag = "users", security(("bearer" = [])),
    request_body = NewPhone,
    responses(
        (status = 202, description = "A code is on its way to the number.", body = Pending),
        (status = 403, description = "Needs a fresh second factor or a recent password (`/problems/step-up-required`, `/problems/reauthentication-required`).", body = Problem),
        (status = 429, description = "Another code must wait.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn request_phone(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(body): ApiJson<NewPhone>,
) -> Result<(StatusCode, Json<Pending>), ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::ChangePhone).await?;
    let sent = state
        .profiles
        .request_phone_change(&claims.sub, &body.phone)
        .await?;
    Ok(pending(sent))
}

/// Sets the new number, as verified, with the code it was sent.
#[utoipa::path(
    post, path = "/v1/users/me/phone/verify", tag = "users", security(("bearer" = [])),
    request_body = Code,
    responses(
        (status = 200, description = "The number is the customer's.", body = PhoneView),
        (status = 400, description = "The code is wrong or expired, or no change is pending.", body = Problem),
        (status = 429, description = "Too many code checks.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn confirm_phone(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(body): ApiJson<Code>,
) -> Result<Json<PhoneView>, ApiError> {
    let phone = state
        .profiles
        .confirm_phone_change(&claims.sub, &body.code)
        .await?;
    Ok(Json(PhoneView {
        phone,
        phone_verified: true,
    }))
}

/// Emails a six-digit code to a new address (the same answer if another customer has it).
#[utoipa::path(
    put, path = "/v1/users/me/email", tag = "users", security(("bearer" = [])),
    request_body = NewEmail,
    responses(
        (status = 202, description = "A code is on its way to the address.", body = Pending),
        (status = 403, description = "Needs a fresh second factor or a recent password (`/problems/step-up-required`, `/problems/reauthentication-required`).", body = Problem),
        (status = 429, description = "Another code must wait.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn request_email(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(body): ApiJson<NewEmail>,
) -> Result<(StatusCode, Json<Pending>), ApiError> {
    second_factor::require_fresh(&state, &claims, SensitiveAction::ChangeEmail).await?;
    let sent = state
        .profiles
        .request_email_change(&claims.sub, &body.email)
        .await?;
    Ok(pending(sent))
}

/// Switches the address (and the login) with the code it was sent.
#[utoipa::path(
    post, path = "/v1/users/me/email/verify", tag = "users", security(("bearer" = [])),
    request_body = Code,
    responses(
        (status = 200, description = "The address is the customer's.", body = EmailView),
        (status = 400, description = "The code is wrong or expired, or no change is pending.", body = Problem),
        (status = 409, description = "The address was taken meanwhile.", body = Problem),
        (status = 429, description = "Too many code checks.", body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn confirm_email(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(body): ApiJson<Code>,
) -> Result<Json<EmailView>, ApiError> {
    let email = state
        .profiles
        .confirm_email_change(&claims.sub, &body.code)
        .await?;
    Ok(Json(EmailView { email }))
}
