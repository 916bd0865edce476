//! One-time password-reset tokens, stored hashed; a token is spent once and expires.

use super::Connection;

pub async fn create(
    conn: &mut Connection,
    token_hash: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer a live (unused, unexpired) token belongs to, without spending it.
pub async fn owner(
    conn: &mut Connection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT user_id FROM password_reset_tokens \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Spends the token: returns its customer when it was unused and unexpired, and marks every
/// outstanding token of that customer used, so an older email cannot be used afterwards.
pub async fn spend(
    conn: &mut Connection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<String>> {
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE password_reset_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(user_id) = &user_id {
        sqlx::query(
            "UPDATE password_reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    }
    Ok(user_id)
}

/// When the customer last reset their password with a token, if ever.
pub async fn last_reset_at(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MAX(used_at) FROM password_reset_tokens WHERE user_id = $1 AND used_at IS NOT NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await
}
