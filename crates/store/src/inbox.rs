//! The `inbox` table: the ids of messages consumed from other services, so each one takes effect
//! once however often the broker delivers it.

use super::Connection;

/// Claims `message_id` for the caller's transaction; false when it was already processed (or is
/// being processed by a transaction that then commits first). Its effect must be written in the
/// same transaction.
pub async fn claim(
    conn: &mut Connection,
    message_id: &str,
    message_type: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query(
        "INSERT INTO inbox (message_id, message_type, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(message_type)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Whether `message_id` was processed.
pub async fn contains(conn: &mut Connection, message_id: &str) -> sqlx::Result<bool> {
    let found = sqlx::query("SELECT 1 FROM inbox WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}
