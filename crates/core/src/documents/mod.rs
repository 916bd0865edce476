//! KYC documents: what a customer declared, uploaded and had confirmed. The document number is
//! sealed at rest and opened only here. A document is declared (`declare`: the onboarding
//! policy's verdict, a pending row and a presigned upload URL), uploaded by the client straight
//! to the object store, then confirmed (`confirm`: the host reads the object back and checks size, magic bytes and
//! SHA-256; the verdict, its event and audit row commit together). HTTP (`http/documents.rs`)
//! only translates. Must not: put a document number in an event, an audit row or a log line.

pub mod avatar;
pub mod declaration;
pub mod files;
pub mod objects;
pub mod sniff;

use crate::failure::{Failure, Reason};
use std::{sync::Arc, time::Duration};

use serde_json::json;

pub use self::declaration::{Declaration, Kind};
use self::objects::{Inspection, ObjectStore, PresignedRequest};
use crate::{
    auth::tokens::Claims,
    capabilities::Capabilities,
    runtime::{CallError, Runtime, onboarding::Violation},
    store::{
        self, audit,
        documents::{self as rows, DocumentRow},
    },
    trail,
};

/// The role that may read any customer's documents.
pub const COMPLIANCE: &str = "compliance";

/// The document flows, over what they need: the runtime (the onboarding policy decides what a
/// declaration may carry), the capabilities (database, keys, clock), where documents are kept
/// and the limits of their URLs. Built once by the composition root.
pub struct Documents {
    pub runtime: Arc<Runtime>,
    pub caps: Arc<Capabilities>,
    pub objects: Arc<dyn ObjectStore>,
    pub upload_ttl: Duration,
    pub download_ttl: Duration,
    pub max_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the declaration breaks {} rule(s)", .0.len())]
    Invalid(Vec<Violation>),
    /// No such document, or not one the caller may see.
    #[error("no such document")]
    NotFound,
    /// Confirmation found no uploaded object; nothing changed.
    #[error("nothing has been uploaded for the document")]
    NotUploaded,
    /// A download of a document still waiting for confirmation.
    #[error("the document is not confirmed yet")]
    NotSettled,
    /// The stored object is no longer the one confirmed (its SHA-256 differs).
    #[error("the stored object differs from the confirmed one")]
    Altered,
    #[error("object storage: {0:#}")]
    Storage(anyhow::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The onboarding policy, which decides what a declaration may carry, did not answer.
    #[error(transparent)]
    Policy(#[from] CallError),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<DocumentError> for Failure {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Invalid(violations) => Failure::invalid(violations),
            DocumentError::NotFound => Failure::not_found("no such document"),
            DocumentError::NotUploaded => Failure::conflict(
                Reason::DocumentNotUploaded,
                "Nothing has been uploaded for this document yet: PUT the file to its upload URL, then confirm it.",
            ),
            DocumentError::NotSettled => Failure::conflict(
                Reason::DocumentNotConfirmed,
                "The document has not been confirmed yet: confirm it after its upload.",
            ),
            DocumentError::Altered => Failure::conflict(
                Reason::DocumentAltered,
                "The stored document is not the one that was confirmed; it is not served.",
            ),
            DocumentError::Storage(e) => Failure::unavailable(e),
            DocumentError::Database(e) => e.into(),
            DocumentError::Policy(e) => e.into(),
            DocumentError::Internal(e) => Failure::internal(e),
        }
    }
}

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

pub use crate::store::documents::number_context;

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

/// The row of a document `user_id` owns; `NotFound` for anyone else's.
async fn owned_row(
    caps: &Capabilities,
    user_id: &str,
    id: &str,
) -> Result<DocumentRow, DocumentError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(DocumentError::NotFound);
    }
    let mut conn = caps.db.acquire().await?;
    match rows::get(&mut conn, id).await? {
        Some(row) if row.user_id == user_id => Ok(row),
        _ => Err(DocumentError::NotFound),
    }
}

/// Why an uploaded object does not match its declaration, as a stable code; `None` when it does.
pub fn verdict(row: &DocumentRow, object: &Inspection) -> Option<&'static str> {
    if object.size != row.size_bytes as u64 {
        Some("size.mismatch")
    } else if sniff::content_type(&object.head) != Some(row.content_type.as_str()) {
        Some("content_type.mismatch")
    } else if object.sha256.as_deref() != Some(row.sha256.as_str()) {
        Some("sha256.mismatch")
    } else {
        None
    }
}

impl Documents {
    /// A new document for `user_id`: checked, recorded as pending, with the URL the client uploads
    /// it to.
    pub async fn declare(
        &self,
        user_id: &str,
        declaration: Declaration,
    ) -> Result<(Document, PresignedRequest), DocumentError> {
        let (runtime, caps, storage) = (&self.runtime, &self.caps, self);
        let facts = declaration::file_facts(&declaration, storage.max_bytes);
        let verdict = runtime
            .check_document(caps, user_id, declaration.for_policy())
            .await?;
        let declared = match (verdict, facts) {
            (Ok(accepted), Ok(facts)) => declaration::declared(accepted, facts),
            (verdict, facts) => Err([verdict.err(), facts.err()]
                .into_iter()
                .flatten()
                .flatten()
                .collect()),
        }
        .map_err(DocumentError::Invalid)?;
        let now = caps.clock.unix();
        let id = uuid::Uuid::now_v7().to_string();
        let object_key = format!("documents/{user_id}/{id}");
        let upload = storage
            .objects
            .presign_put(
                &object_key,
                declared.content_type,
                declared.size_bytes,
                &declared.sha256,
                now,
                storage.upload_ttl,
            )
            .await
            .map_err(DocumentError::Storage)?;
        let row = DocumentRow {
            number_sealed: declared
                .number
                .as_ref()
                .map(|n| caps.secrets.seal(n.as_bytes(), &number_context(&id))),
            id,
            user_id: user_id.to_owned(),
            kind: declared.kind.as_str().to_owned(),
            issuing_country: declared.issuing_country,
            object_key,
            content_type: declared.content_type.to_owned(),
            size_bytes: declared.size_bytes as i64,
            sha256: declared.sha256,
            status: "pending".to_owned(),
            rejection: None,
            created_at: now,
            upload_expires_at: upload.expires_at,
            confirmed_at: None,
        };
        let mut conn = caps.db.acquire().await?;
        rows::insert(&mut conn, &row).await?;
        tracing::info!(document_id = %row.id, kind = %row.kind, "document declared");
        Ok((open(caps, row).map_err(DocumentError::Internal)?, upload))
    }

    /// One of the customer's documents.
    pub async fn find(&self, user_id: &str, id: &str) -> Result<Document, DocumentError> {
        let caps = &self.caps;
        let row = owned_row(caps, user_id, id).await?;
        open(caps, row).map_err(DocumentError::Internal)
    }

    /// Confirms the customer's document: reads the uploaded object and settles the document as
    /// `confirmed`, or `rejected` with the code of the first check it failed. A settled document is
    /// answered as it is. Nothing uploaded while the URL is still valid is `NotUploaded`; after it
    /// expired, the document is rejected (`upload.expired`).
    pub async fn confirm(&self, user_id: &str, id: &str) -> Result<Document, DocumentError> {
        let (caps, storage) = (&*self.caps, self);
        let row = owned_row(caps, user_id, id).await?;
        if row.status != "pending" {
            return open(caps, row).map_err(DocumentError::Internal);
        }
        let object = storage
            .objects
            .inspect(&row.object_key, row.size_bytes as u64)
            .await
            .map_err(DocumentError::Storage)?;
        let now = caps.clock.unix();
        let rejection = match &object {
            None if now > row.upload_expires_at => Some("upload.expired"),
            None => return Err(DocumentError::NotUploaded),
            Some(object) => verdict(&row, object),
        };
        let status = if rejection.is_some() {
            "rejected"
        } else {
            "confirmed"
        };
        let mut tx = store::begin(&caps.db).await?;
        if rows::settle(&mut tx, id, status, rejection, now).await? {
            let mut data = json!({ "user_id": user_id, "document_id": id, "kind": row.kind });
            if let Some(code) = rejection {
                data["reason"] = json!(code);
            }
            trail::record(&mut tx, &format!("document.{status}"), user_id, data, now).await?;
            trail::commit(tx, caps).await?;
            tracing::info!(document_id = %id, status, reason = rejection.unwrap_or("-"), "document settled");
        } else {
            // A concurrent confirmation settled it first: answer its verdict.
            tx.rollback().await?;
        }
        self.find(user_id, id).await
    }

    /// A download URL for a document, for its owner or for compliance staff; anyone else is told
    /// there is no such document. A staff download is audited.
    pub async fn download(
        &self,
        caller: &Claims,
        id: &str,
    ) -> Result<PresignedRequest, DocumentError> {
        let (caps, storage) = (&*self.caps, self);
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(DocumentError::NotFound);
        }
        let mut conn = caps.db.acquire().await?;
        let row = rows::get(&mut conn, id)
            .await?
            .ok_or(DocumentError::NotFound)?;
        drop(conn);
        let owner = row.user_id == caller.sub;
        let staff = crate::admin::acts_as(caller, COMPLIANCE);
        if !owner && !staff {
            return Err(DocumentError::NotFound);
        }
        if row.status == "pending" {
            return Err(DocumentError::NotSettled);
        }
        if !owner && row.status == "confirmed" {
            // Staff act on what they read: the bytes must still be the ones confirmed.
            let object = storage
                .objects
                .inspect(&row.object_key, row.size_bytes as u64)
                .await
                .map_err(DocumentError::Storage)?;
            if object.and_then(|o| o.sha256) != Some(row.sha256.clone()) {
                tracing::error!(document_id = %row.id, "a confirmed document's object was altered; download refused");
                metrics::counter!("usvc_documents_altered_total").increment(1);
                return Err(DocumentError::Altered);
            }
        }
        let now = caps.clock.unix();
        let url = storage
            .objects
            .presign_get(
                &row.object_key,
                &row.content_type,
                now,
                storage.download_ttl,
            )
            .await
            .map_err(DocumentError::Storage)?;
        if !owner {
            let mut conn = caps.db.acquire().await?;
            let event = audit::AuditEvent {
                id: uuid::Uuid::now_v7().to_string(),
                event_type: "document.downloaded_by_staff".to_owned(),
                user_id: row.user_id.clone(),
                data: json!({
                    "user_id": row.user_id,
                    "document_id": row.id,
                    "kind": row.kind,
                    "by": caller.sub,
                    "role": COMPLIANCE,
                }),
                occurred_at: now,
            };
            audit::insert(&mut conn, &event).await?;
            tracing::info!(document_id = %row.id, by = %caller.sub, "document downloaded by staff");
        }
        Ok(url)
    }

    /// Whether a presigned upload to `key` may still land: only while its document is pending. A
    /// settled document's object is immutable, whatever its URL's expiry says.
    pub async fn accepts_upload(&self, key: &str) -> Result<bool, DocumentError> {
        let caps = &self.caps;
        let Some(id) = key
            .rsplit('/')
            .next()
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        else {
            return Ok(false);
        };
        let mut conn = caps.db.acquire().await?;
        let row = rows::get(&mut conn, id).await?;
        Ok(row.is_some_and(|row| row.object_key == key && row.status == "pending"))
    }

    /// The customer's documents, oldest first.
    pub async fn list(&self, user_id: &str) -> anyhow::Result<Vec<Document>> {
        list(&self.caps, user_id).await
    }
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
