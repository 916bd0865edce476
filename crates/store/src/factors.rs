//! The `mfa_factors` and `recovery_codes` tables: customers' second factors. Secrets arrive here
//! already sealed and codes already hashed.

use super::{Connection, columns::text_enum};

text_enum! {
    /// The `kind` column: how a second factor proves itself.
    pub enum FactorKind("factor kind") {
        /// An authenticator app's time-based codes.
        Totp = "totp",
        /// A one-time code sent by email.
        Email = "email",
        /// A one-time code sent by text message.
        Sms = "sms",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Factor {
    pub id: String,
    /// `totp`, `email` or `sms`.
    #[sqlx(try_from = "FactorKind")]
    pub kind: String,
    /// Sealed (see `secrets.rs`).
    pub secret: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
}

pub async fn insert(
    conn: &mut Connection,
    id: &str,
    user_id: &str,
    kind: &str,
    sealed_secret: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mfa_factors (id, user_id, kind, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(kind)
    .bind(sealed_secret)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer's factors, oldest first.
pub async fn list(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<Factor>> {
    sqlx::query_as(
        "SELECT id, kind, secret, created_at, activated_at FROM mfa_factors \
         WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

pub async fn activate(
    conn: &mut Connection,
    user_id: &str,
    id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE mfa_factors SET activated_at = $1 WHERE id = $2 AND user_id = $3 AND activated_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub async fn remove(conn: &mut Connection, user_id: &str, id: &str) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Replaces every recovery code of the customer with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut Connection,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Marks the unspent code with this hash spent; false when there is none.
pub async fn spend_recovery_code(
    conn: &mut Connection,
    user_id: &str,
    hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let spent = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(spent == 1)
}

pub async fn recovery_codes_left(conn: &mut Connection, user_id: &str) -> sqlx::Result<u32> {
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(left as u32)
}
