//! The `verification_states` and `verification_decisions` tables: each customer's current
//! verification decision (written conditionally on its version) and the history of decisions.

use serde::{Deserialize, Serialize};

use super::{
    Connection,
    columns::{JsonText, text_enum},
    kyc_results,
};

text_enum! {
    /// The `status` column of both tables: where the customer's verification stands.
    pub enum VerificationStatus("verification status") {
        Unverified = "unverified",
        Pending = "pending",
        Verified = "verified",
        ManualReview = "manual_review",
        Rejected = "rejected",
    }
}

/// What a tier allows, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    pub currency: String,
    pub daily_transfer_limit: u64,
    pub balance_cap: u64,
}

/// A reason for a decision: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    pub code: String,
    pub message: String,
}

/// A customer's current verification decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationState {
    pub user_id: String,
    pub tier: u8,
    /// `unverified`, `pending`, `verified`, `manual_review` or `rejected`.
    pub status: String,
    pub limits: Limits,
    pub requirements: Vec<String>,
    pub reasons: Vec<Reason>,
    pub manual_review: bool,
    pub open_check_id: Option<String>,
    pub open_check_submitted_at: Option<i64>,
    pub component_digest: String,
    /// 0 while none is stored.
    pub version: i64,
    pub decided_at: i64,
}

/// One decision in a customer's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: String,
    pub user_id: String,
    pub tier: u8,
    pub status: String,
    pub requirements: Vec<String>,
    pub reasons: Vec<Reason>,
    pub check_id: Option<String>,
    pub component_digest: String,
    pub decided_at: i64,
}

fn json<T: Serialize>(value: &T) -> sqlx::Result<String> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(e.into()))
}

#[derive(sqlx::FromRow)]
struct StateRow {
    user_id: String,
    #[sqlx(try_from = "i64")]
    tier: u8,
    status: VerificationStatus,
    limits: JsonText<Limits>,
    requirements: JsonText<Vec<String>>,
    reasons: JsonText<Vec<Reason>>,
    manual_review: i64,
    open_check_id: Option<String>,
    open_check_submitted_at: Option<i64>,
    component_digest: String,
    version: i64,
    decided_at: i64,
}

impl From<StateRow> for VerificationState {
    fn from(row: StateRow) -> Self {
        Self {
            user_id: row.user_id,
            tier: row.tier,
            status: row.status.as_str().to_owned(),
            limits: row.limits.0,
            requirements: row.requirements.0,
            reasons: row.reasons.0,
            manual_review: row.manual_review != 0,
            open_check_id: row.open_check_id,
            open_check_submitted_at: row.open_check_submitted_at,
            component_digest: row.component_digest,
            version: row.version,
            decided_at: row.decided_at,
        }
    }
}

pub async fn get(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<VerificationState>> {
    let row: Option<StateRow> = sqlx::query_as(
        "SELECT user_id, tier, status, limits, requirements, reasons, manual_review, \
         open_check_id, open_check_submitted_at, component_digest, version, decided_at \
         FROM verification_states WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(VerificationState::from))
}

/// Writes `state` when the stored version is still `expected_version` (0: no row yet), as one
/// conditional statement; answers the new version, or `None` when another decision got there
/// first.
pub async fn save(
    conn: &mut Connection,
    state: &VerificationState,
    expected_version: i64,
) -> sqlx::Result<Option<i64>> {
    let query = if expected_version == 0 {
        "INSERT INTO verification_states (tier, status, limits, requirements, reasons, \
         manual_review, open_check_id, open_check_submitted_at, component_digest, decided_at, \
         user_id, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1) \
         ON CONFLICT (user_id) DO NOTHING RETURNING version"
    } else {
        "UPDATE verification_states SET tier = $1, status = $2, limits = $3, requirements = $4, \
         reasons = $5, manual_review = $6, open_check_id = $7, open_check_submitted_at = $8, \
         component_digest = $9, decided_at = $10, version = version + 1 \
         WHERE user_id = $11 AND version = $12 RETURNING version"
    };
    let mut query = sqlx::query_scalar(query)
        .bind(i64::from(state.tier))
        .bind(&state.status)
        .bind(json(&state.limits)?)
        .bind(json(&state.requirements)?)
        .bind(json(&state.reasons)?)
        .bind(i64::from(state.manual_review))
        .bind(&state.open_check_id)
        .bind(state.open_check_submitted_at)
        .bind(&state.component_digest)
        .bind(state.decided_at)
        .bind(&state.user_id);
    if expected_version != 0 {
        query = query.bind(expected_version);
    }
    query.fetch_optional(conn).await
}

/// Notes that the KYC service accepted the open check `check_id`; false when it is no longer
/// the customer's open check.
pub async fn check_submitted(
    conn: &mut Connection,
    user_id: &str,
    check_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE verification_states SET open_check_submitted_at = $1 \
         WHERE user_id = $2 AND open_check_id = $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(check_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_decision(conn: &mut Connection, decision: &Decision) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO verification_decisions (id, user_id, tier, status, requirements, reasons, \
         check_id, component_digest, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&decision.id)
    .bind(&decision.user_id)
    .bind(i64::from(decision.tier))
    .bind(&decision.status)
    .bind(json(&decision.requirements)?)
    .bind(json(&decision.reasons)?)
    .bind(&decision.check_id)
    .bind(&decision.component_digest)
    .bind(decision.decided_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: String,
    user_id: String,
    #[sqlx(try_from = "i64")]
    tier: u8,
    status: VerificationStatus,
    requirements: JsonText<Vec<String>>,
    reasons: JsonText<Vec<Reason>>,
    check_id: Option<String>,
    component_digest: String,
    decided_at: i64,
}

impl From<DecisionRow> for Decision {
    fn from(row: DecisionRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            tier: row.tier,
            status: row.status.as_str().to_owned(),
            requirements: row.requirements.0,
            reasons: row.reasons.0,
            check_id: row.check_id,
            component_digest: row.component_digest,
            decided_at: row.decided_at,
        }
    }
}

/// A customer's decisions, newest first.
pub async fn history(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<Decision>> {
    let rows: Vec<DecisionRow> = sqlx::query_as(
        "SELECT id, user_id, tier, status, requirements, reasons, check_id, component_digest, \
         decided_at FROM verification_decisions WHERE user_id = $1 \
         ORDER BY decided_at DESC, id DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Decision::from).collect())
}

/// The check asked for and not yet answered: the stored open check, unless an `approved` or
/// `rejected` result for it has arrived (`manual_review` is followed by another result).
pub fn open_check_of(
    state: Option<&VerificationState>,
    results: &[kyc_results::KycResult],
) -> Option<String> {
    let id = state?.open_check_id.clone()?;
    let answered = results
        .iter()
        .any(|r| r.check_id == id && r.outcome != kyc_results::Outcome::ManualReview.as_str());
    (!answered).then_some(id)
}

/// The customer's open check, read in the caller's transaction (the `kyc` capability's
/// idempotency).
pub async fn open_check(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<String>> {
    let state = get(conn, user_id).await?;
    if state
        .as_ref()
        .and_then(|s| s.open_check_id.as_ref())
        .is_none()
    {
        return Ok(None);
    }
    let results = kyc_results::for_user(conn, user_id).await?;
    Ok(open_check_of(state.as_ref(), &results))
}

/// Whether the customer has a confirmed identity document the KYC service can check.
pub fn is_checkable_identity(row: &super::documents::DocumentRow) -> bool {
    row.status == "confirmed"
        && matches!(row.kind.as_str(), "passport" | "id_card")
        && row.number_sealed.is_some()
}
