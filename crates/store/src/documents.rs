//! The `documents` table: KYC documents a customer declared, uploaded and had confirmed. The
//! document number arrives here already sealed.

use super::{Connection, columns::text_enum};

text_enum! {
    /// The `kind` column: what a document is.
    pub enum DocumentKind("document kind") {
        Passport = "passport",
        IdCard = "id_card",
        ProofOfAddress = "proof_of_address",
        Selfie = "selfie",
    }
}

text_enum! {
    /// The `status` column: where a document is in its checks.
    pub enum DocumentStatus("document status") {
        Pending = "pending",
        Confirmed = "confirmed",
        Rejected = "rejected",
    }
}

/// A document row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: String,
    pub user_id: String,
    /// `passport`, `id_card`, `proof_of_address` or `selfie`.
    #[sqlx(try_from = "DocumentKind")]
    pub kind: String,
    /// Sealed (see `secrets.rs`) for the context `document:<id>`.
    pub number_sealed: Option<String>,
    pub issuing_country: Option<String>,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `pending`, `confirmed` or `rejected`.
    #[sqlx(try_from = "DocumentStatus")]
    pub status: String,
    pub rejection: Option<String>,
    pub created_at: i64,
    pub upload_expires_at: i64,
    pub confirmed_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, kind, number_sealed, issuing_country, object_key, \
    content_type, size_bytes, sha256, status, rejection, created_at, upload_expires_at, confirmed_at";

pub async fn insert(conn: &mut Connection, document: &DocumentRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO documents ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&document.id)
    .bind(&document.user_id)
    .bind(&document.kind)
    .bind(&document.number_sealed)
    .bind(&document.issuing_country)
    .bind(&document.object_key)
    .bind(&document.content_type)
    .bind(document.size_bytes)
    .bind(&document.sha256)
    .bind(&document.status)
    .bind(&document.rejection)
    .bind(document.created_at)
    .bind(document.upload_expires_at)
    .bind(document.confirmed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The document with `id`, whoever owns it (callers check access).
pub async fn get(conn: &mut Connection, id: &str) -> sqlx::Result<Option<DocumentRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The customer's documents, oldest first.
pub async fn list(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<DocumentRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM documents WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Settles a pending document: `confirmed` (with `rejection` None) or `rejected` with a code.
/// False when it was not pending any more (a concurrent confirmation won).
pub async fn settle(
    conn: &mut Connection,
    id: &str,
    status: &str,
    rejection: Option<&str>,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE documents SET status = $1, rejection = $2, confirmed_at = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(status)
    .bind(rejection)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The context a document number is sealed for: the number cannot be moved to another row.
pub fn number_context(id: &str) -> String {
    format!("document:{id}")
}
