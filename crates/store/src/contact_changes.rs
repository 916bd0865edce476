//! The `contact_changes` table: a new phone number or email address waiting for the code sent to
//! it, one per customer and channel. Only the code's hash is kept.

use super::Connection;

/// What is being changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactChannel {
    Phone,
    Email,
}

impl ContactChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingChange {
    pub new_value: String,
    pub code_hash: String,
    pub attempts: i64,
    pub sent_at: i64,
    pub expires_at: i64,
}

/// The change waiting on `channel`, if any.
pub async fn pending(
    conn: &mut Connection,
    user_id: &str,
    channel: ContactChannel,
) -> sqlx::Result<Option<PendingChange>> {
    sqlx::query_as(
        "SELECT new_value, code_hash, attempts, sent_at, expires_at FROM contact_changes \
         WHERE user_id = $1 AND channel = $2",
    )
    .bind(user_id)
    .bind(channel.as_str())
    .fetch_optional(conn)
    .await
}

/// Records a change with a fresh code, replacing any waiting on the same channel (and its
/// attempts).
pub async fn put(
    conn: &mut Connection,
    user_id: &str,
    channel: ContactChannel,
    new_value: &str,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO contact_changes \
         (user_id, channel, new_value, code_hash, attempts, sent_at, expires_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6) \
         ON CONFLICT (user_id, channel) DO UPDATE SET new_value = $3, code_hash = $4, \
         attempts = 0, sent_at = $5, expires_at = $6",
    )
    .bind(user_id)
    .bind(channel.as_str())
    .bind(new_value)
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts a wrong code.
pub async fn count_attempt(
    conn: &mut Connection,
    user_id: &str,
    channel: ContactChannel,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE contact_changes SET attempts = attempts + 1 WHERE user_id = $1 AND channel = $2",
    )
    .bind(user_id)
    .bind(channel.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the change waiting on `channel` (done, or killed by wrong codes).
pub async fn delete(
    conn: &mut Connection,
    user_id: &str,
    channel: ContactChannel,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM contact_changes WHERE user_id = $1 AND channel = $2")
        .bind(user_id)
        .bind(channel.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
