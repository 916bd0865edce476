//! The `component_versions` table: every deployed component version with its bytes, which one
//! of each kind is active, and the order activations happened in.

use super::{Connection, columns::text_enum};

text_enum! {
    /// The `status` column: whether a version is its kind's active one.
    pub enum VersionStatus("component version status") {
        Active = "active",
        Retired = "retired",
    }
}

/// A stored version without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ComponentVersion {
    pub kind: String,
    pub digest: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub signer: Option<String>,
    pub size_bytes: i64,
    pub deployed_by: String,
    pub deployed_at: i64,
    /// `active` or `retired`.
    #[sqlx(try_from = "VersionStatus")]
    pub status: String,
    pub activation: i64,
    pub activated_by: String,
    pub activated_at: i64,
}

const COLUMNS: &str = "kind, digest, version, description, author, signer, size_bytes, \
     deployed_by, deployed_at, status, activation, activated_by, activated_at";

/// A new version, stored already active (after [`retire_active`] in the same transaction).
pub struct NewVersion<'a> {
    pub kind: &'a str,
    pub digest: &'a str,
    pub version: Option<&'a str>,
    pub description: Option<&'a str>,
    pub author: Option<&'a str>,
    pub signer: Option<&'a str>,
    pub component: &'a [u8],
    /// The signed artifact it came in; `None` for a bare component (development mode).
    pub artifact: Option<&'a [u8]>,
    pub deployed_by: &'a str,
    pub now: i64,
}

pub async fn insert_active(conn: &mut Connection, new: &NewVersion<'_>) -> sqlx::Result<()> {
    let activation = next_activation(conn, new.kind).await?;
    sqlx::query(
        "INSERT INTO component_versions (kind, digest, version, description, author, signer, \
         component, size_bytes, deployed_by, deployed_at, status, activation, activated_by, \
         activated_at, artifact) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $9, $10, $12)",
    )
    .bind(new.kind)
    .bind(new.digest)
    .bind(new.version)
    .bind(new.description)
    .bind(new.author)
    .bind(new.signer)
    .bind(new.component.to_vec())
    .bind(new.component.len() as i64)
    .bind(new.deployed_by)
    .bind(new.now)
    .bind(activation)
    .bind(new.artifact.map(<[u8]>::to_vec))
    .execute(conn)
    .await?;
    Ok(())
}

async fn next_activation(conn: &mut Connection, kind: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(MAX(activation), 0) + 1 AS next FROM component_versions WHERE kind = $1",
    )
    .bind(kind)
    .fetch_one(conn)
    .await
}

/// Retires the kind's active version, if any.
pub async fn retire_active(conn: &mut Connection, kind: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE component_versions SET status = 'retired' WHERE kind = $1 AND status = 'active'",
    )
    .bind(kind)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a stored (retired) version the kind's active one, as the newest activation.
pub async fn reactivate(
    conn: &mut Connection,
    kind: &str,
    digest: &str,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    let activation = next_activation(conn, kind).await?;
    sqlx::query(
        "UPDATE component_versions SET status = 'active', activation = $3, activated_by = $4, \
         activated_at = $5 WHERE kind = $1 AND digest = $2",
    )
    .bind(kind)
    .bind(digest)
    .bind(activation)
    .bind(by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Connection,
    kind: &str,
    digest: &str,
) -> sqlx::Result<Option<ComponentVersion>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM component_versions WHERE kind = $1 AND digest = $2"
    ))
    .bind(kind)
    .bind(digest)
    .fetch_optional(conn)
    .await
}

/// The kind's active version, if any.
pub async fn active(conn: &mut Connection, kind: &str) -> sqlx::Result<Option<ComponentVersion>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM component_versions WHERE kind = $1 AND status = 'active'"
    ))
    .bind(kind)
    .fetch_optional(conn)
    .await
}

/// What a stored version or trial holds to be activated again: the component, and the signed
/// artifact it came in (none for a bare component).
#[derive(sqlx::FromRow)]
pub struct StoredComponent {
    pub component: Vec<u8>,
    pub artifact: Option<Vec<u8>>,
}

/// A stored version's component and artifact.
pub async fn component(
    conn: &mut Connection,
    kind: &str,
    digest: &str,
) -> sqlx::Result<Option<StoredComponent>> {
    sqlx::query_as(
        "SELECT component, artifact FROM component_versions WHERE kind = $1 AND digest = $2",
    )
    .bind(kind)
    .bind(digest)
    .fetch_optional(conn)
    .await
}

/// The active digest of each kind that has one: the fleet's cheap poll.
pub async fn active_digests(conn: &mut Connection) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT kind, digest FROM component_versions WHERE status = 'active'")
        .fetch_all(conn)
        .await
}

/// Every stored version, by kind, newest activation first.
pub async fn history(conn: &mut Connection) -> sqlx::Result<Vec<ComponentVersion>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM component_versions ORDER BY kind, activation DESC"
    ))
    .fetch_all(conn)
    .await
}
