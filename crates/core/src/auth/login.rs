//! Password login: checks the password, asks the mfa policy whether a second factor is needed,
//! and opens a session with its token pair (now, or once the challenge is met, in
//! `second_factor`). Every outcome for a known customer is published (`auth.login_succeeded`,
//! `auth.login_failed`).

use crate::failure::{Failure, Reason};
use serde_json::json;

use super::Authenticator;
use crate::{
    auth::{random_token, second_factor, sha256_hex},
    capabilities::Capabilities,
    notify::{Notice, Notification},
    runtime::{
        CallError,
        mfa::{LoginRequirement, Method},
    },
    store::{
        self, Transaction,
        devices::{self, NewDevice},
        sessions,
        users::{self, User, UserStatus},
    },
    trail,
};

#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
    /// The token that identifies the device on its next login (logins only).
    pub device_token: Option<String>,
}

/// Where a login comes from.
pub struct Origin<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// The token a device received at an earlier login, if it sends one.
    pub device_token: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The mfa policy requires a second factor this customer has not enrolled.
    #[error("a second factor must be enrolled first")]
    SecondFactorNotEnrolled,
    /// The mfa component is not loaded (or failed) and the customer has second factors.
    #[error(transparent)]
    Policy(#[from] CallError),
    /// Unknown email or wrong password: deliberately one error. Carries the customer's id when
    /// the address is known, for the audit trail only.
    #[error("invalid credentials")]
    InvalidCredentials(Option<String>),
    #[error("email address not verified")]
    EmailNotVerified,
    #[error("account is {0}")]
    AccountUnavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<LoginError> for Failure {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials(_) => Failure::unauthenticated(
                Reason::InvalidCredentials,
                "the email or password is wrong",
            ),
            LoginError::EmailNotVerified => Failure::forbidden(
                Reason::EmailNotVerified,
                "Confirm your email address before logging in.",
            ),
            LoginError::AccountUnavailable(_) => {
                Failure::forbidden(Reason::AccountUnavailable, "This account cannot log in.")
            }
            LoginError::SecondFactorNotEnrolled => Failure::forbidden(
                Reason::SecondFactorEnrolmentRequired,
                "This account must enrol a second factor before it can log in; ask an administrator.",
            ),
            LoginError::Policy(e) => e.into(),
            LoginError::Internal(e) => Failure::internal(e),
        }
    }
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// What a right password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A session is open.
    Tokens(TokenPair),
    /// The mfa policy asks for a second factor: `POST /v1/auth/mfa/verify` with the challenge
    /// token completes the login.
    SecondFactorRequired {
        challenge_token: String,
        methods: Vec<Method>,
        expires_in: u64,
    },
}

/// Checks the password; then, as the mfa policy decides, opens a session on the device the
/// login comes from or starts a second-factor challenge. A device not seen before is recorded,
/// published (`auth.new_device`) and the customer told when its session opens.
pub async fn login(
    state: &Authenticator,
    email: &str,
    password: String,
    origin: Origin<'_>,
) -> Result<LoginOutcome, LoginError> {
    let caps = &state.caps;
    let (db, hasher) = (&caps.db, &caps.passwords);
    let email = email.trim().to_lowercase();
    // The same work whether or not the address is known, so that timing tells nothing: one
    // query, one Argon2id verification (of a decoy when unknown), and a failure recorded only
    // after the answer.
    let mut conn = db.acquire().await?;
    let (user, stored) = match users::find_for_login(&mut conn, &email).await? {
        Some((user, stored)) => (Some(user), stored),
        None => (None, None),
    };
    drop(conn);
    let matches = hasher.verify(password, stored).await?;
    let now = caps.clock.unix();
    let user = match user {
        Some(user) if matches => user,
        Some(user) => {
            let event = json!({ "user_id": user.id, "reason": "wrong_password" });
            state
                .after_answer
                .record(caps, "auth.login_failed", &user.id, event, now);
            tracing::info!(user_id = %user.id, reason = "wrong_password", "login failed");
            return Err(LoginError::InvalidCredentials(Some(user.id)));
        }
        // No customer to attach an event to; the log line keeps no address.
        None => {
            tracing::info!("login failed for an unknown address");
            return Err(LoginError::InvalidCredentials(None));
        }
    };
    let refusal = match user.status {
        UserStatus::Active => None,
        UserStatus::PendingVerification => {
            Some(("email_not_verified", LoginError::EmailNotVerified))
        }
        UserStatus::Locked => Some(("account_locked", LoginError::AccountUnavailable("locked"))),
        UserStatus::Closed => Some(("account_closed", LoginError::AccountUnavailable("closed"))),
    };
    if let Some((reason, error)) = refusal {
        record_failure(caps, &user.id, reason, now).await?;
        return Err(error);
    }

    match second_factor::requirement(state, &user.id, &user.email, &origin).await? {
        LoginRequirement::None => {
            let pair = open_session(state, &user, &origin, None, now).await?;
            Ok(LoginOutcome::Tokens(pair))
        }
        LoginRequirement::EnrolmentRequired => {
            record_failure(caps, &user.id, "second_factor_not_enrolled", now).await?;
            Err(LoginError::SecondFactorNotEnrolled)
        }
        LoginRequirement::Challenge(methods) => {
            let challenge_token =
                second_factor::open_challenge(state, &user.id, &origin, &methods, now).await?;
            Ok(LoginOutcome::SecondFactorRequired {
                challenge_token,
                methods,
                expires_in: second_factor::CHALLENGE_TTL.as_secs(),
            })
        }
    }
}

/// Opens a session for `user` on the device `origin` names (or a new one) and issues its token
/// pair. `second_factor` is the method that completed a challenge, if one did.
pub(crate) async fn open_session(
    state: &Authenticator,
    user: &User,
    origin: &Origin<'_>,
    second_factor: Option<Method>,
    now: i64,
) -> Result<TokenPair, LoginError> {
    let (caps, tokens) = (&state.caps, &state.tokens);
    let amr: Vec<&str> = match second_factor {
        None => vec!["pwd"],
        Some(method) => vec!["pwd", "mfa", method.amr()],
    };
    let refresh_token = random_token();
    let refresh_expires = now + tokens.refresh_ttl.as_secs() as i64;
    let mut tx = store::begin(&caps.db).await?;
    let device = recognise(&mut tx, &user.id, origin, now).await?;
    let roles = users::roles(&mut tx, &user.id).await?;
    let session_id =
        sessions::create(&mut tx, &user.id, &device.id, &roles, now, refresh_expires).await?;
    if second_factor.is_some() {
        sessions::mark_second_factor(&mut tx, &session_id, now).await?;
    }
    sessions::add_refresh_token(
        &mut tx,
        &session_id,
        &sha256_hex(&refresh_token),
        now,
        refresh_expires,
    )
    .await?;
    let event = json!({ "user_id": user.id, "session_id": session_id, "amr": amr });
    trail::record(&mut tx, "auth.login_succeeded", &user.id, event, now).await?;
    if device.is_new {
        let event = json!({ "user_id": user.id, "device_id": device.id, "session_id": session_id });
        trail::record(&mut tx, "auth.new_device", &user.id, event, now).await?;
    }
    trail::commit(tx, caps).await?;
    if device.is_new {
        let notice = Notification::render(&user.id, &user.email, Notice::NewDevice, None);
        if let Err(e) = caps.notifier.deliver(&notice).await {
            tracing::warn!(user_id = %user.id, error = %e, "new-device notice not delivered");
        }
    }
    let (access_token, _) = tokens.issue(&user.id, &session_id, &amr, &roles, now)?;
    Ok(TokenPair {
        access_token,
        expires_in: tokens.access_ttl.as_secs(),
        refresh_token,
        session_id,
        device_token: Some(device.token),
    })
}

struct Recognised {
    id: String,
    token: String,
    is_new: bool,
}

/// The customer's device the login comes from: the one its token names, or a new one.
async fn recognise(
    tx: &mut Transaction,
    user_id: &str,
    origin: &Origin<'_>,
    now: i64,
) -> sqlx::Result<Recognised> {
    if let Some(token) = origin.device_token.map(str::trim).filter(|t| !t.is_empty()) {
        let hash = sha256_hex(token);
        if let Some(id) =
            devices::touch_known(tx, user_id, &hash, origin.user_agent, origin.ip, now).await?
        {
            return Ok(Recognised {
                id,
                token: token.to_owned(),
                is_new: false,
            });
        }
    }
    let token = random_token();
    let name = devices::name_from_user_agent(origin.user_agent);
    let device = NewDevice {
        user_id,
        token_hash: &sha256_hex(&token),
        name: &name,
        user_agent: origin.user_agent,
        ip: origin.ip,
    };
    let id = devices::create(tx, device, now).await?;
    Ok(Recognised {
        id,
        token,
        is_new: true,
    })
}

/// Publishes `auth.login_failed` for a known customer, with why (never the password tried).
async fn record_failure(
    caps: &Capabilities,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<(), LoginError> {
    let mut conn = caps.db.acquire().await?;
    let event = json!({ "user_id": user_id, "reason": reason });
    trail::record(&mut conn, "auth.login_failed", user_id, event, now).await?;
    caps.outbox_committed.notify_one();
    tracing::info!(%user_id, reason, "login failed");
    Ok(())
}
