//! The signing keys of access tokens: public halves of every key, and the private half of a key
//! the service generated itself (development only).

use super::Connection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub kid: String,
    /// base64url of the raw Ed25519 public key.
    pub public_key: String,
    pub private_key: Option<String>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

pub async fn all(conn: &mut Connection) -> sqlx::Result<Vec<StoredKey>> {
    sqlx::query_as(
        "SELECT kid, public_key, private_key, created_at, retired_at FROM signing_keys \
         ORDER BY created_at, kid",
    )
    .fetch_all(conn)
    .await
}

/// Records a key, unless its `kid` is already known.
pub async fn insert(conn: &mut Connection, key: &StoredKey) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, public_key, private_key, created_at, retired_at) \
         VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (kid) DO NOTHING",
    )
    .bind(&key.kid)
    .bind(&key.public_key)
    .bind(&key.private_key)
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires every key but `signer` that still signs; the signer itself is active again.
pub async fn retire_all_but(conn: &mut Connection, signer: &str, now: i64) -> sqlx::Result<u64> {
    sqlx::query("UPDATE signing_keys SET retired_at = NULL WHERE kid = $1")
        .bind(signer)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE kid <> $2 AND retired_at IS NULL",
    )
    .bind(now)
    .bind(signer)
    .execute(conn)
    .await?
    .rows_affected())
}
