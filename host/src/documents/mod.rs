//! KYC documents: what a customer declared, uploaded and had confirmed. The document number is
//! sealed at rest and opened only here.

use crate::{
    capabilities::Capabilities,
    store::documents::{self as rows, DocumentRow},
};

/// A customer's document with its number opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub user_id: String,
    /// `passport`, `id_card`, `proof_of_address` or `selfie`.
    pub kind: String,
    pub number: Option<String>,
    pub issuing_country: Option<String>,
    pub object_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `pending`, `confirmed` or `rejected`.
    pub status: String,
    pub rejection: Option<String>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
}

impl Document {
    pub fn is_confirmed(&self) -> bool {
        self.status == "confirmed"
    }
}

/// The context a document number is sealed for: the number cannot be moved to another row.
pub fn number_context(id: &str) -> String {
    format!("document:{id}")
}

fn open(caps: &Capabilities, row: DocumentRow) -> anyhow::Result<Document> {
    let number = match &row.number_sealed {
        Some(sealed) => Some(String::from_utf8(
            caps.secrets.open(sealed, &number_context(&row.id))?,
        )?),
        None => None,
    };
    Ok(Document {
        id: row.id,
        user_id: row.user_id,
        kind: row.kind,
        number,
        issuing_country: row.issuing_country,
        object_key: row.object_key,
        content_type: row.content_type,
        size_bytes: row.size_bytes,
        sha256: row.sha256,
        status: row.status,
        rejection: row.rejection,
        created_at: row.created_at,
        confirmed_at: row.confirmed_at,
    })
}

/// The customer's documents, oldest first.
pub async fn list(caps: &Capabilities, user_id: &str) -> anyhow::Result<Vec<Document>> {
    let mut conn = caps.db.acquire().await?;
    rows::list(&mut conn, user_id)
        .await?
        .into_iter()
        .map(|row| open(caps, row))
        .collect()
}
