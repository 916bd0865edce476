//! The `kyc_checks` table: the identity checks this service handed to the KYC service, which the
//! results on the bus must answer.

use super::Connection;

/// A check as submitted.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KycCheck {
    pub check_id: String,
    pub user_id: String,
    pub submitted_at: i64,
    /// The keyed digest of the identity it checked (`verification::identity_digest`).
    pub identity_digest: String,
    /// When a final outcome was recorded for it.
    pub settled_at: Option<i64>,
}

/// Notes that `check_id` was submitted for `user_id`. Submitting the same check again (a retry
/// after a failure) keeps the first submission's time.
pub async fn submitted(
    conn: &mut Connection,
    check_id: &str,
    user_id: &str,
    identity_digest: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO kyc_checks (check_id, user_id, submitted_at, identity_digest) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (check_id) DO NOTHING",
    )
    .bind(check_id)
    .bind(user_id)
    .bind(now)
    .bind(identity_digest)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Connection, check_id: &str) -> sqlx::Result<Option<KycCheck>> {
    sqlx::query_as(
        "SELECT check_id, user_id, submitted_at, identity_digest, settled_at FROM kyc_checks \
         WHERE check_id = $1",
    )
    .bind(check_id)
    .fetch_optional(conn)
    .await
}

/// A customer's checks, oldest first.
pub async fn for_user(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<KycCheck>> {
    sqlx::query_as(
        "SELECT check_id, user_id, submitted_at, identity_digest, settled_at FROM kyc_checks \
         WHERE user_id = $1 ORDER BY submitted_at, check_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Settles the open check `check_id` of `user_id`; false when it is not open (unknown, another
/// customer's, or settled already), so two final results cannot both settle it.
pub async fn settle(
    conn: &mut Connection,
    check_id: &str,
    user_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE kyc_checks SET settled_at = $1 \
         WHERE check_id = $2 AND user_id = $3 AND settled_at IS NULL",
    )
    .bind(now)
    .bind(check_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
