//! Password hashes and one-time email codes. Only hashes are stored.

use super::Connection;

pub async fn set_password_hash(
    conn: &mut Connection,
    user_id: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO password_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn password_hash(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM password_credentials WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Replaces the customer's live email code.
pub async fn put_email_code(
    conn: &mut Connection,
    user_id: &str,
    code_hash: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO email_verification_codes (user_id, code_hash, attempts, expires_at, created_at) \
         VALUES ($1, $2, 0, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
         code_hash = excluded.code_hash, attempts = 0, expires_at = excluded.expires_at, \
         created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct EmailCode {
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: i64,
}

pub async fn email_code(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<EmailCode>> {
    sqlx::query_as(
        "SELECT code_hash, CAST(attempts AS BIGINT) AS attempts, expires_at \
         FROM email_verification_codes WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

pub async fn count_email_code_attempt(conn: &mut Connection, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE email_verification_codes SET attempts = attempts + 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_email_code(conn: &mut Connection, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM email_verification_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
