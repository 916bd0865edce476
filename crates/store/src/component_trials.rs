//! The `component_trials` table: the candidate of each kind on trial (in the shadow or as a
//! canary), with its bytes, so every host of the fleet runs the same trial.

use super::{Connection, columns::text_enum, component_versions::StoredComponent};

text_enum! {
    /// The `mode` column: how a candidate is on trial.
    pub enum TrialMode("trial mode") {
        /// Evaluated beside the active version, its writes discarded.
        Shadow = "shadow",
        /// Deciding for a share of customers.
        Canary = "canary",
    }
}

/// A trial without its candidate's bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct StoredTrial {
    pub kind: String,
    pub digest: String,
    pub version: Option<String>,
    pub signer: Option<String>,
    /// `shadow` or `canary`.
    #[sqlx(try_from = "TrialMode")]
    pub mode: String,
    /// The canary's share of customers, in percent.
    pub percent: Option<i64>,
    pub started_by: String,
    pub started_at: i64,
}

const COLUMNS: &str = "kind, digest, version, signer, mode, percent, started_by, started_at";

/// Starts (or replaces) the trial of `trial.kind`.
/// Stores `trial` with its component and the signed artifact it came in (`None` for a bare
/// component, development mode).
pub async fn put(
    conn: &mut Connection,
    trial: &StoredTrial,
    component: &[u8],
    artifact: Option<&[u8]>,
) -> sqlx::Result<()> {
    end(conn, &trial.kind).await?;
    sqlx::query(&format!(
        "INSERT INTO component_trials ({COLUMNS}, component, artifact) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(&trial.kind)
    .bind(&trial.digest)
    .bind(&trial.version)
    .bind(&trial.signer)
    .bind(&trial.mode)
    .bind(trial.percent)
    .bind(&trial.started_by)
    .bind(trial.started_at)
    .bind(component.to_vec())
    .bind(artifact.map(<[u8]>::to_vec))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the trial of `kind`; whether there was one.
pub async fn end(conn: &mut Connection, kind: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM component_trials WHERE kind = $1")
        .bind(kind)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn find(conn: &mut Connection, kind: &str) -> sqlx::Result<Option<StoredTrial>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM component_trials WHERE kind = $1"
    ))
    .bind(kind)
    .fetch_optional(conn)
    .await
}

/// Every trial running: the fleet's poll.
pub async fn all(conn: &mut Connection) -> sqlx::Result<Vec<StoredTrial>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM component_trials ORDER BY kind"
    ))
    .fetch_all(conn)
    .await
}

/// The candidate's bytes.
pub async fn component(conn: &mut Connection, kind: &str) -> sqlx::Result<Option<StoredComponent>> {
    sqlx::query_as("SELECT component, artifact FROM component_trials WHERE kind = $1")
        .bind(kind)
        .fetch_optional(conn)
        .await
}
