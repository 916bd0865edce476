//! `/v1/auth`: registration, email confirmation and login.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use usvc_core::failure::{Failure, Reason};
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, ClientIp, UserAgent},
};
use usvc_core::{
    auth::login::{self, LoginError, LoginOutcome, Origin, TokenPair},
    guard::{Action, Guard},
    runtime::{
        mfa::Method,
        onboarding::{Application, Confirmation},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/verify-email", post(verify_email))
        .route("/v1/auth/login", post(login))
}

#[derive(Serialize, ToSchema)]
pub(super) struct Accepted {
    pub(super) status: &'static str,
    pub(super) message: &'static str,
}

/// Registers an applicant, by the onboarding policy's rules.
///
/// 202 with the same body whether the address was new or already registered (its owner is told
/// instead); a six-digit code goes to the address.
#[utoipa::path(
    post, path = "/v1/auth/register", tag = "auth",
    request_body = Application,
    responses(
        (status = 202, description = "Registered, or the address's owner was told.", body = Accepted),
        (status = 422, description = "The application breaks the onboarding rules: `violations` lists every one.", body = Problem),
        (status = 429, description = "Too many registrations from this address or for this email.", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(application): ApiJson<Application>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let account = Guard::account_key(&application.email);
    state
        .guard
        .admit(Action::Register, ip, Some(&account))
        .await?;
    state
        .runtime
        .register(&state.caps, application)
        .await?
        .map_err(Failure::invalid)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "verification_pending",
            message: "If the address can be used, a verification code is on its way to it.",
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyEmail {
    email: String,
    /// The six-digit code emailed at registration.
    code: String,
}

#[derive(Serialize, ToSchema)]
struct Verified {
    status: &'static str,
}

/// Confirms an address with the code it was sent (30 minutes, 5 attempts).
#[utoipa::path(
    post, path = "/v1/auth/verify-email", tag = "auth",
    request_body = VerifyEmail,
    responses(
        (status = 200, description = "The address is confirmed.", body = Verified),
        (status = 400, description = "The code is wrong, dead or expired (`/problems/invalid-code`, `/problems/expired-code`).", body = Problem),
        (status = 429, description = "Too many code checks.", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn verify_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<VerifyEmail>,
) -> Result<Json<Verified>, ApiError> {
    let account = Guard::account_key(&request.email);
    state
        .guard
        .admit(Action::CodeCheck, ip, Some(&account))
        .await?;
    match state
        .runtime
        .confirm_email(&state.caps, request.email, request.code)
        .await?
    {
        Confirmation::Confirmed => Ok(Json(Verified { status: "verified" })),
        // A dead code answers like a wrong one: "too many attempts" would tell a stranger that
        // a pending account exists for the address.
        Confirmation::InvalidCode | Confirmation::TooManyAttempts => Err(Failure::refused(
            Reason::InvalidCode,
            "The code is not valid for this address. After five wrong attempts a code stops \
             working: register again to receive a new one.",
        )
        .into()),
        Confirmation::ExpiredCode => Err(Failure::refused(
            Reason::ExpiredCode,
            "The code has expired: register again to receive a new one.",
        )
        .into()),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
    /// The `device_token` an earlier login on this device returned.
    #[serde(default)]
    device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct Tokens {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    /// Keep it and send it with the next login from this device.
    #[serde(skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            device_token: pair.device_token,
        }
    }
}

/// A password login, behind the guard: per-address and per-account rates, then the brake and
/// lockout that failed logins build up.
///
/// Answers the tokens, or a second-factor challenge when the mfa policy asks for one.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = Login,
    responses(
        (status = 200, description = "Tokens, or `mfa_required` with a challenge.", body = LoginAnswer),
        (status = 401, description = "Wrong address or password.", body = Problem),
        (status = 403, description = "The address is not confirmed, the account is locked or closed, or a second factor must be enrolled first.", body = Problem),
        (status = 429, description = "Too many attempts or failures (`/problems/login-delayed`, `/problems/login-locked`).", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    ),
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    ApiJson(request): ApiJson<Login>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let account = Guard::account_key(&request.email);
    state.guard.admit(Action::Login, ip, Some(&account)).await?;
    let origin = Origin {
        ip: &ip.to_string(),
        user_agent: &user_agent,
        device_token: request.device_token.as_deref(),
    };
    let outcome = login::login(&state, &request.email, request.password, origin).await;
    let label = match &outcome {
        Ok(LoginOutcome::Tokens(_)) => "succeeded",
        Ok(LoginOutcome::SecondFactorRequired { .. }) => "second_factor_required",
        Err(LoginError::InvalidCredentials(_)) => "invalid_credentials",
        Err(
            LoginError::EmailNotVerified
            | LoginError::AccountUnavailable(_)
            | LoginError::SecondFactorNotEnrolled,
        ) => "refused",
        Err(LoginError::Internal(_) | LoginError::Policy(_)) => "error",
    };
    metrics::counter!("usvc_logins_total", "outcome" => label).increment(1);
    match &outcome {
        // The password was right: failed attempts stop counting, whatever follows.
        Ok(_) => state.guard.login_succeeded(&account).await,
        Err(LoginError::InvalidCredentials(user_id)) => {
            if state.guard.login_failed(&account).await {
                locked_out(&state, user_id.as_deref());
            }
        }
        Err(_) => {}
    }
    match outcome.map_err(ApiError::from)? {
        LoginOutcome::Tokens(pair) => Ok(Json(LoginAnswer::Tokens(Tokens::from(pair)))),
        LoginOutcome::SecondFactorRequired {
            challenge_token,
            methods,
            expires_in,
        } => Ok(Json(LoginAnswer::SecondFactor(SecondFactorRequired {
            mfa_required: true,
            challenge_token,
            methods,
            expires_in,
        }))),
    }
}

/// The answer to a right password: tokens, or a second-factor challenge.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum LoginAnswer {
    Tokens(Tokens),
    SecondFactor(SecondFactorRequired),
}

#[derive(Serialize, ToSchema)]
pub(super) struct SecondFactorRequired {
    mfa_required: bool,
    /// Send it with the code to `POST /v1/auth/mfa/verify`.
    challenge_token: String,
    methods: Vec<Method>,
    expires_in: u64,
}

/// Records that repeated failures locked an account (for a known customer; an unknown address
/// is locked all the same, with nobody to tell).
fn locked_out(state: &AppState, user_id: Option<&str>) {
    let Some(user_id) = user_id else {
        tracing::warn!("login locked for an unknown address after repeated failures");
        return;
    };
    let now = state.caps.clock.unix();
    let until = now + state.guard.lockout().as_secs() as i64;
    let data = json!({ "user_id": user_id, "locked_until": until });
    // After the answer, like the failure itself: a lockout must not show in the timing either.
    state
        .after_answer
        .record(&state.caps, "auth.locked_out", user_id, data, now);
    tracing::warn!(%user_id, "login locked after repeated failures");
}
