//! The `kyc_results` table: identity-check results reported by the KYC service, one row per
//! result message.

use sqlx::Row;

use super::Connection;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KycResult {
    /// The id of the message that reported it (also its inbox entry).
    pub message_id: String,
    pub check_id: String,
    pub user_id: String,
    /// `approved`, `rejected` or `manual_review`.
    pub outcome: String,
    /// Stable reason codes.
    pub reasons: Vec<String>,
    /// The KYC provider's reference for the check.
    pub provider_reference: String,
    /// When the KYC service completed the check (Unix seconds).
    pub completed_at: i64,
    pub received_at: i64,
}

pub async fn insert(conn: &mut Connection, result: &KycResult) -> sqlx::Result<()> {
    let reasons =
        serde_json::to_string(&result.reasons).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO kyc_results (message_id, check_id, user_id, outcome, reasons, \
         provider_reference, completed_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&result.message_id)
    .bind(&result.check_id)
    .bind(&result.user_id)
    .bind(&result.outcome)
    .bind(reasons)
    .bind(&result.provider_reference)
    .bind(result.completed_at)
    .bind(result.received_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A customer's results, oldest check completion first.
pub async fn for_user(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<KycResult>> {
    sqlx::query(
        "SELECT message_id, check_id, user_id, outcome, reasons, provider_reference, \
         completed_at, received_at FROM kyc_results WHERE user_id = $1 \
         ORDER BY completed_at, received_at, message_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|row| {
        let reasons: String = row.try_get("reasons")?;
        Ok(KycResult {
            message_id: row.try_get("message_id")?,
            check_id: row.try_get("check_id")?,
            user_id: row.try_get("user_id")?,
            outcome: row.try_get("outcome")?,
            reasons: serde_json::from_str(&reasons).map_err(|e| sqlx::Error::Decode(e.into()))?,
            provider_reference: row.try_get("provider_reference")?,
            completed_at: row.try_get("completed_at")?,
            received_at: row.try_get("received_at")?,
        })
    })
    .collect()
}
