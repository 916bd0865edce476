//! Password login: checks the password, opens a session and issues the token pair. Every
//! outcome for a known customer is published (`auth.login_succeeded`, `auth.login_failed`).

use serde_json::json;

use crate::{
    auth::{
        password::PasswordHasher,
        sha256_hex,
        tokens::{TokenIssuer, new_refresh_token},
        trail,
    },
    clock::Clock,
    store::{
        self, Database, credentials, sessions,
        users::{self, UserStatus},
    },
};

#[derive(Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password: deliberately one error.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("email address not verified")]
    EmailNotVerified,
    #[error("account is {0}")]
    AccountUnavailable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub async fn login(
    db: &Database,
    hasher: &PasswordHasher,
    tokens: &TokenIssuer,
    clock: &dyn Clock,
    email: &str,
    password: String,
) -> Result<TokenPair, LoginError> {
    let email = email.trim().to_lowercase();
    let mut conn = db.acquire().await?;
    let user = users::find_by_email(&mut conn, &email).await?;
    let stored = match &user {
        Some(user) => credentials::password_hash(&mut conn, &user.id).await?,
        None => None,
    };
    drop(conn);
    // Always one Argon2id verification, so timing does not tell known from unknown emails.
    let matches = hasher.verify(password, stored).await?;
    let now = clock.unix();
    let user = match user {
        Some(user) if matches => user,
        Some(user) => {
            record_failure(db, &user.id, "wrong_password", now).await?;
            return Err(LoginError::InvalidCredentials);
        }
        // No customer to attach an event to; the log line keeps no address.
        None => {
            tracing::info!("login failed for an unknown address");
            return Err(LoginError::InvalidCredentials);
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
        record_failure(db, &user.id, reason, now).await?;
        return Err(error);
    }

    let refresh_token = new_refresh_token();
    let refresh_expires = now + tokens.refresh_ttl.as_secs() as i64;
    let mut tx = store::begin(db).await?;
    let session_id = sessions::create(&mut tx, &user.id, now, refresh_expires).await?;
    sessions::add_refresh_token(
        &mut tx,
        &session_id,
        &sha256_hex(&refresh_token),
        now,
        refresh_expires,
    )
    .await?;
    let event = json!({ "user_id": user.id, "session_id": session_id, "amr": ["pwd"] });
    trail::record(&mut tx, "auth.login_succeeded", &user.id, event, now).await?;
    tx.commit().await?;
    let (access_token, _) = tokens.issue(&user.id, &session_id, &["pwd"], now)?;
    Ok(TokenPair {
        access_token,
        expires_in: tokens.access_ttl.as_secs(),
        refresh_token,
        session_id,
    })
}

/// Publishes `auth.login_failed` for a known customer, with why (never the password tried).
async fn record_failure(
    db: &Database,
    user_id: &str,
    reason: &str,
    now: i64,
) -> Result<(), LoginError> {
    let mut conn = db.acquire().await?;
    let event = json!({ "user_id": user_id, "reason": reason });
    trail::record(&mut conn, "auth.login_failed", user_id, event, now).await?;
    tracing::info!(%user_id, reason, "login failed");
    Ok(())
}
