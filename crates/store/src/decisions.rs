//! The `component_decisions` table: the decision log of every component call, and its queries
//! by customer, kind, version and time.

use super::{Connection, columns::text_enum};

text_enum! {
    /// The `role` column: how the version took part in a decision.
    pub enum Role("decision role") {
        /// It decided.
        Active = "active",
        /// A candidate taking a share of traffic decided.
        Canary = "canary",
        /// A candidate evaluated beside the active version, its writes discarded.
        Shadow = "shadow",
    }
}

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

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: String,
    decided_at: i64,
    kind: String,
    operation: String,
    digest: String,
    role: Role,
    user_id: Option<String>,
    input_digest: String,
    outcome: String,
    agreed: Option<i64>,
    duration_us: i64,
    input: Option<String>,
}

impl From<DecisionRow> for DecisionRecord {
    fn from(row: DecisionRow) -> Self {
        Self {
            id: row.id,
            decided_at: row.decided_at,
            kind: row.kind,
            operation: row.operation,
            digest: row.digest,
            role: row.role.as_str().to_owned(),
            user_id: row.user_id,
            input_digest: row.input_digest,
            outcome: row.outcome,
            agreed: row.agreed.map(|a| a != 0),
            duration_us: row.duration_us,
            input: row.input,
        }
    }
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
    let rows: Vec<DecisionRow> = sqlx::query_as(&sql)
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
        .await?;
    Ok(rows.into_iter().map(DecisionRecord::from).collect())
}

/// How many shadow evaluations of `digest` (a kind's candidate) were logged, and how many of
/// them disagreed.
pub async fn shadow_counts(
    conn: &mut Connection,
    kind: &str,
    digest: &str,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COUNT(*) AS evaluated, COALESCE(SUM(CASE WHEN agreed = 0 THEN 1 ELSE 0 END), 0) \
         AS disagreed FROM component_decisions \
         WHERE kind = $1 AND digest = $2 AND role = 'shadow'",
    )
    .bind(kind)
    .bind(digest)
    .fetch_one(conn)
    .await
}
