//! Refresh-token rotation: every refresh token is single use. Presenting one that was already
//! spent means it was copied, so the whole session (its token family) ends and the reuse is
//! published as a security event.

use crate::failure::{Failure, Reason};
use serde_json::json;

use super::{login::TokenPair, random_token, sha256_hex, tokens::TokenIssuer};
use crate::trail;
use crate::{
    capabilities::Capabilities,
    store::{self, devices, sessions, users},
};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired, spent or belonging to an ended session: deliberately one error.
    #[error("invalid refresh token")]
    Invalid,
    /// A spent token came back: its session (named here) has been revoked.
    #[error("refresh token reused")]
    Reused(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<RefreshError> for Failure {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Invalid | RefreshError::Reused(_) => Failure::unauthenticated(
                Reason::RefreshTokenInvalid,
                "the refresh token is invalid or expired",
            ),
            RefreshError::Internal(e) => Failure::internal(e),
        }
    }
}

impl From<sqlx::Error> for RefreshError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub async fn refresh(
    caps: &Capabilities,
    tokens: &TokenIssuer,
    refresh_token: &str,
) -> Result<TokenPair, RefreshError> {
    let db = &caps.db;
    let now = caps.clock.unix();
    let presented = sha256_hex(refresh_token.trim());
    let mut tx = store::begin(db).await?;
    let Some(token) = sessions::find_refresh_token(&mut tx, &presented, now).await? else {
        return Err(RefreshError::Invalid);
    };
    if !token.session_live || token.expires_at <= now {
        return Err(RefreshError::Invalid);
    }
    if token.used_at.is_some() || !sessions::spend_refresh_token(&mut tx, &presented, now).await? {
        sessions::revoke(&mut tx, &token.user_id, &token.session_id, now).await?;
        let data = json!({ "user_id": token.user_id, "session_id": token.session_id });
        trail::record(&mut tx, "auth.refresh_reused", &token.user_id, data, now).await?;
        let ended = [token.session_id.clone()];
        trail::sessions_revoked(&mut tx, &token.user_id, &ended, "refresh_reused", now).await?;
        trail::commit(tx, caps).await?;
        tracing::warn!(user_id = %token.user_id, session_id = %token.session_id, "refresh token reused; session revoked");
        return Err(RefreshError::Reused(token.session_id));
    }
    let next = random_token();
    sessions::add_refresh_token(
        &mut tx,
        &token.session_id,
        &sha256_hex(&next),
        now,
        token.expires_at,
    )
    .await?;
    devices::touch_by_session(&mut tx, &token.session_id, now).await?;
    // The roles of the login, less any withdrawn since: a role granted later arrives only with
    // a new login (which, for staff, needs a second factor), never by refresh.
    let held = users::roles(&mut tx, &token.user_id).await?;
    let roles: Vec<String> = sessions::roles(&mut tx, &token.session_id)
        .await?
        .into_iter()
        .filter(|role| held.contains(role))
        .collect();
    // A session that met a second factor keeps saying so in every access token it gets.
    let amr: &[&str] = match sessions::second_factor_at(&mut tx, &token.session_id).await? {
        Some(_) => &["pwd", "mfa"],
        None => &["pwd"],
    };
    tx.commit().await?;
    let (access_token, _) = tokens.issue(&token.user_id, &token.session_id, amr, &roles, now)?;
    Ok(TokenPair {
        access_token,
        expires_in: tokens.access_ttl.as_secs(),
        refresh_token: next,
        session_id: token.session_id,
        device_token: None,
    })
}
