//! Sessions (one per login) and their refresh tokens, stored hashed.

use super::Connection;

/// Opens a session for a login that gave the password now and held `roles`; the roles stay
/// what they were at this login for the session's whole life.
pub async fn create(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    roles: &[String],
    now: i64,
    expires_at: i64,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, device_id, created_at, expires_at, password_at, roles) \
         VALUES ($1, $2, $3, $4, $5, $4, $6)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(device_id)
    .bind(now)
    .bind(expires_at)
    .bind(roles.join(","))
    .execute(conn)
    .await?;
    Ok(id)
}

/// The staff roles the session's login held.
pub async fn roles(conn: &mut Connection, session_id: &str) -> sqlx::Result<Vec<String>> {
    let roles: Option<String> = sqlx::query_scalar("SELECT roles FROM sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(conn)
        .await?;
    Ok(roles
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect())
}

/// When the session's customer last gave their password in it.
pub async fn password_at(conn: &mut Connection, session_id: &str) -> sqlx::Result<Option<i64>> {
    let times: Option<(Option<i64>, i64)> =
        sqlx::query_as("SELECT password_at, created_at FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(conn)
            .await?;
    Ok(times.map(|(password_at, created_at)| password_at.unwrap_or(created_at)))
}

/// Records that the session's customer gave their password again now.
pub async fn mark_password(conn: &mut Connection, session_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET password_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_refresh_token(
    conn: &mut Connection,
    session_id: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// True when the session exists, is not revoked and has not expired.
pub async fn is_live(conn: &mut Connection, session_id: &str, now: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) AS n FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(session_id)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(n == 1)
}

/// The device a session was opened on.
pub async fn device_of(conn: &mut Connection, session_id: &str) -> sqlx::Result<Option<String>> {
    let device_id: Option<Option<String>> =
        sqlx::query_scalar("SELECT device_id FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(conn)
            .await?;
    Ok(device_id.flatten())
}

/// A refresh token with the state of its session.
pub struct RefreshToken {
    pub session_id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub session_live: bool,
}

#[derive(sqlx::FromRow)]
struct RefreshTokenRow {
    session_id: String,
    user_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    live: i64,
}

impl From<RefreshTokenRow> for RefreshToken {
    fn from(row: RefreshTokenRow) -> Self {
        Self {
            session_id: row.session_id,
            user_id: row.user_id,
            expires_at: row.expires_at,
            used_at: row.used_at,
            session_live: row.live == 1,
        }
    }
}

pub async fn find_refresh_token(
    conn: &mut Connection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<RefreshToken>> {
    let row: Option<RefreshTokenRow> = sqlx::query_as(
        "SELECT r.session_id, s.user_id, r.expires_at, r.used_at, \
         CAST(CASE WHEN s.revoked_at IS NULL AND s.expires_at > $2 THEN 1 ELSE 0 END AS BIGINT) AS live \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(RefreshToken::from))
}

/// Marks a refresh token used; false when someone spent it first.
pub async fn spend_refresh_token(
    conn: &mut Connection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let spent = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(token_hash)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(spent == 1)
}

/// Ends a session of `user_id`; false when it is not theirs, unknown or already ended.
pub async fn revoke(
    conn: &mut Connection,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let revoked = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(session_id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(revoked == 1)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
}

/// The customer's sessions that are neither revoked nor expired, newest first.
pub async fn list_live(
    conn: &mut Connection,
    user_id: &str,
    now: i64,
) -> sqlx::Result<Vec<Session>> {
    sqlx::query_as(
        "SELECT s.id, s.created_at, s.expires_at, s.device_id, d.name AS device_name \
         FROM sessions s LEFT JOIN devices d ON d.id = s.device_id \
         WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 ORDER BY s.id DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Ends every live session of `user_id` but `keep` (none when `None`); returns those ended.
pub async fn revoke_all_except(
    conn: &mut Connection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1 RETURNING id",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .fetch_all(conn)
    .await
}

/// Ends every live session of `user_id` on `device_id`; returns those ended.
pub async fn revoke_by_device(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE user_id = $2 AND device_id = $3 AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING id",
    )
    .bind(now)
    .bind(user_id)
    .bind(device_id)
    .fetch_all(conn)
    .await
}

/// Records that the session completed a second factor now (a login challenge or a step-up).
pub async fn mark_second_factor(
    conn: &mut Connection,
    session_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET second_factor_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// When the session last completed a second factor, if ever.
pub async fn second_factor_at(
    conn: &mut Connection,
    session_id: &str,
) -> sqlx::Result<Option<i64>> {
    let at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT second_factor_at FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(conn)
            .await?;
    Ok(at.flatten())
}
