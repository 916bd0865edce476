//! Ending sessions: the revocation, its trail and the revocation cache, in that order, so a
//! session is refused everywhere as soon as its end is committed.

use super::Authenticator;
use crate::{
    store::{self, sessions},
    trail,
};

/// Ends one session of `user_id` and records why; false when there was no live one to end.
pub async fn end(
    state: &Authenticator,
    user_id: &str,
    session_id: &str,
    reason: &str,
) -> sqlx::Result<bool> {
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    if !sessions::revoke(&mut tx, user_id, session_id, now).await? {
        return Ok(false);
    }
    trail::sessions_revoked(&mut tx, user_id, &[session_id.to_owned()], reason, now).await?;
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended([session_id]).await;
    Ok(true)
}

/// Ends every session of `user_id` except `keep`; returns the ids ended.
pub async fn end_all(
    state: &Authenticator,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
) -> sqlx::Result<Vec<String>> {
    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    let ended = sessions::revoke_all_except(&mut tx, user_id, keep, now).await?;
    trail::sessions_revoked(&mut tx, user_id, &ended, reason, now).await?;
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended(ended.iter().map(String::as_str)).await;
    Ok(ended)
}

/// `user_id`'s sessions that are neither ended nor expired, newest first.
pub async fn live(state: &Authenticator, user_id: &str) -> sqlx::Result<Vec<sessions::Session>> {
    let mut conn = state.caps.db.acquire().await?;
    sessions::list_live(&mut conn, user_id, state.caps.clock.unix()).await
}
