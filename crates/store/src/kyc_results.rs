//! The `kyc_results` table: identity-check results reported by the KYC service, one row per
//! result message.

use super::{
    Connection,
    columns::{JsonText, text_enum},
};

text_enum! {
    /// The `outcome` column: what the KYC service concluded.
    pub enum Outcome("kyc outcome") {
        Approved = "approved",
        Rejected = "rejected",
        /// A person looks at it; another result follows.
        ManualReview = "manual_review",
    }
}

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

#[derive(sqlx::FromRow)]
struct ResultRow {
    message_id: String,
    check_id: String,
    user_id: String,
    outcome: Outcome,
    reasons: JsonText<Vec<String>>,
    provider_reference: String,
    completed_at: i64,
    received_at: i64,
}

impl From<ResultRow> for KycResult {
    fn from(row: ResultRow) -> Self {
        Self {
            message_id: row.message_id,
            check_id: row.check_id,
            user_id: row.user_id,
            outcome: row.outcome.as_str().to_owned(),
            reasons: row.reasons.0,
            provider_reference: row.provider_reference,
            completed_at: row.completed_at,
            received_at: row.received_at,
        }
    }
}

/// A customer's results, oldest check completion first.
pub async fn for_user(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<KycResult>> {
    let rows: Vec<ResultRow> = sqlx::query_as(
        "SELECT message_id, check_id, user_id, outcome, reasons, provider_reference, \
         completed_at, received_at FROM kyc_results WHERE user_id = $1 \
         ORDER BY completed_at, received_at, message_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(KycResult::from).collect())
}
