//! The `component_decisions` table: the decision log of every component call, and its queries
//! by customer, kind, version and time.

use sqlx::Row;

use super::Connection;

/// One logged decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecisionRecord {
    pub id: String,
    pub decided_at: i64,
    pub kind: String,
    pub operation: String,
    pub digest: String,
    /// `active`, `canary` or `shadow`.
    pub role: String,
    pub user_id: Option<String>,
    pub input_digest: String,
    pub outcome: String,
    /// For a shadow evaluation: whether it answered as the version that decided.
    pub agreed: Option<bool>,
    pub duration_us: i64,
    /// The sealed input, for decisions that can be replayed.
    #[serde(skip)]
    pub input: Option<String>,
}

const COLUMNS: &str = "id, decided_at, kind, operation, digest, role, user_id, input_digest, \
     outcome, agreed, duration_us, input";

fn from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<DecisionRecord> {
    Ok(DecisionRecord {
        id: row.try_get("id")?,
        decided_at: row.try_get("decided_at")?,
        kind: row.try_get("kind")?,
        operation: row.try_get("operation")?,
        digest: row.try_get("digest")?,
        role: row.try_get("role")?,
        user_id: row.try_get("user_id")?,
        input_digest: row.try_get("input_digest")?,
        outcome: row.try_get("outcome")?,
        agreed: row.try_get::<Option<i64>, _>("agreed")?.map(|a| a != 0),
        duration_us: row.try_get("duration_us")?,
        input: row.try_get("input")?,
    })
}

pub async fn insert(conn: &mut Connection, d: &DecisionRecord) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO component_decisions ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&d.id)
    .bind(d.decided_at)
    .bind(&d.kind)
    .bind(&d.operation)
    .bind(&d.digest)
    .bind(&d.role)
    .bind(&d.user_id)
    .bind(&d.input_digest)
    .bind(&d.outcome)
    .bind(d.agreed.map(i64::from))
    .bind(d.duration_us)
    .bind(&d.input)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which decisions a query asks for; every field narrows it.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub digest: Option<String>,
    pub operation: Option<String>,
    pub role: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// Only decisions whose input was kept for replay.
    pub replayable: bool,
    /// Only decisions older than this id (the next page).
    pub before: Option<String>,
    pub limit: i64,
}

/// The decisions matching `filter`, newest first.
pub async fn query(conn: &mut Connection, filter: &Filter) -> sqlx::Result<Vec<DecisionRecord>> {
    // Each condition is always present and neutral when its parameter is NULL, so the SQL stays
    // one parameterised statement.
    let sql = format!(
        "SELECT {COLUMNS} FROM component_decisions \
         WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR kind = $2) \
         AND ($3 IS NULL OR digest = $3) AND ($4 IS NULL OR operation = $4) \
         AND ($5 IS NULL OR role = $5) AND ($6 IS NULL OR decided_at >= $6) \
         AND ($7 IS NULL OR decided_at < $7) AND ($8 = 0 OR input IS NOT NULL) \
         AND ($9 IS NULL OR id < $9) \
         ORDER BY id DESC LIMIT $10"
    );
    sqlx::query(&sql)
        .bind(&filter.user_id)
        .bind(&filter.kind)
        .bind(&filter.digest)
        .bind(&filter.operation)
        .bind(&filter.role)
        .bind(filter.since)
        .bind(filter.until)
        .bind(i64::from(filter.replayable))
        .bind(&filter.before)
        .bind(filter.limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// How many shadow evaluations of `digest` (a kind's candidate) were logged, and how many of
/// them disagreed.
pub async fn shadow_counts(
    conn: &mut Connection,
    kind: &str,
    digest: &str,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS evaluated, COALESCE(SUM(CASE WHEN agreed = 0 THEN 1 ELSE 0 END), 0) \
         AS disagreed FROM component_decisions \
         WHERE kind = $1 AND digest = $2 AND role = 'shadow'",
    )
    .bind(kind)
    .bind(digest)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("evaluated")?, row.try_get("disagreed")?))
}
