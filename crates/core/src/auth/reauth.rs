//! Giving the password again inside a session: before a password change, and to re-authenticate
//! for a sensitive action. A stolen access token must not become an oracle for the password, so
//! every check goes through the guard as a login does (the account's brake and lockout, which a
//! wrong guess here feeds too), a bound per session, and an audit row for each wrong guess.

use crate::failure::{Failure, Reason};
use std::net::IpAddr;

use serde_json::json;

use super::Authenticator;
use super::tokens::Claims;
use crate::trail;
use crate::{
    guard::{Action, Guard, Refusal},
    store::{
        credentials, sessions,
        users::{self, User},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    #[error("the current password is wrong")]
    WrongPassword,
    /// Too many checks, or the account is braked or locked after failures.
    #[error("password checks refused for now")]
    Refused(Refusal),
    /// The session's customer is gone.
    #[error("no such customer")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ReauthError> for Failure {
    fn from(e: ReauthError) -> Self {
        match e {
            ReauthError::WrongPassword => {
                Failure::forbidden(Reason::WrongPassword, "The current password is wrong.")
            }
            ReauthError::Refused(refusal) => refusal.into(),
            ReauthError::NotFound => Failure::not_found("no such customer"),
            ReauthError::Internal(e) => Failure::internal(e),
        }
    }
}

impl From<sqlx::Error> for ReauthError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<Refusal> for ReauthError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

/// Checks `password` as the session's customer's current one. `failure_event` is the audit
/// event a wrong guess records (`auth.password_change_failed`, `auth.reauthentication_failed`).
pub async fn prove_password(
    state: &Authenticator,
    claims: &Claims,
    ip: IpAddr,
    password: String,
    failure_event: &str,
) -> Result<User, ReauthError> {
    let mut conn = state.caps.db.acquire().await?;
    let user = users::get(&mut conn, &claims.sub)
        .await?
        .ok_or(ReauthError::NotFound)?;
    drop(conn);
    let account = Guard::account_key(&user.email);
    state
        .guard
        .admit(Action::Reauthenticate, ip, Some(&account))
        .await?;
    state.guard.admit_session(&claims.sid).await?;

    let mut conn = state.caps.db.acquire().await?;
    let stored = credentials::password_hash(&mut conn, &user.id).await?;
    drop(conn);
    if state.caps.passwords.verify(password, stored).await? {
        state.guard.login_succeeded(&account).await;
        return Ok(user);
    }
    let locked = state.guard.login_failed(&account).await;
    let now = state.caps.clock.unix();
    let mut conn = state.caps.db.acquire().await?;
    let data = json!({ "user_id": user.id, "session_id": claims.sid, "reason": "wrong_password" });
    trail::record(&mut conn, failure_event, &user.id, data, now).await?;
    if locked {
        let until = now + state.guard.lockout().as_secs() as i64;
        let data = json!({ "user_id": user.id, "locked_until": until });
        trail::record(&mut conn, "auth.locked_out", &user.id, data, now).await?;
        tracing::warn!(user_id = %user.id, "login locked after repeated wrong passwords in a session");
    }
    state.caps.outbox_committed.notify_one();
    Err(ReauthError::WrongPassword)
}

/// Re-authentication: a right password stamps the session, so sensitive actions that ask for a
/// recent password (the mfa policy's `password` proof) may follow.
pub async fn reauthenticate(
    state: &Authenticator,
    claims: &Claims,
    ip: IpAddr,
    password: String,
) -> Result<(), ReauthError> {
    let user = prove_password(state, claims, ip, password, "auth.reauthentication_failed").await?;
    let now = state.caps.clock.unix();
    let mut conn = state.caps.db.acquire().await?;
    sessions::mark_password(&mut conn, &claims.sid, now).await?;
    let data = json!({ "user_id": user.id, "session_id": claims.sid });
    trail::record(&mut conn, "auth.reauthenticated", &user.id, data, now).await?;
    state.caps.outbox_committed.notify_one();
    Ok(())
}
