//! `/v1/users/me/documents…` (declare, list, read, confirm), `/v1/documents/{id}/download`
//! (owner or compliance staff) and `/v1/users/me/avatar`. The rules live in
//! [`usvc_core::documents`]; document numbers leave only masked.

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use usvc_core::failure::Failure;

use super::{
    AppState,
    error::ApiError,
    extract::{ApiJson, AuthUser},
};
use usvc_core::{
    clock::rfc3339,
    documents::{
        Declaration, Document,
        avatar::{self, AvatarError},
        declaration::mask,
        objects::PresignedRequest,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/users/me/documents",
            get(list_documents).post(declare_document),
        )
        .route("/v1/users/me/documents/{id}", get(get_document))
        .route(
            "/v1/users/me/documents/{id}/confirm",
            post(confirm_document),
        )
        .route("/v1/documents/{id}/download", get(download_document))
        .route(
            "/v1/users/me/avatar",
            get(get_avatar).put(replace_avatar).delete(remove_avatar),
        )
}

#[derive(Serialize)]
struct DocumentView {
    id: String,
    kind: String,
    status: String,
    /// Why it was rejected: a stable code such as `sha256.mismatch`.
    rejection: Option<String>,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    /// All but the last four characters masked.
    number: Option<String>,
    issuing_country: Option<String>,
    created_at: String,
    settled_at: Option<String>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        Self {
            id: d.id,
            kind: d.kind,
            status: d.status,
            rejection: d.rejection,
            content_type: d.content_type,
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            number: d.number.as_deref().map(mask),
            issuing_country: d.issuing_country,
            created_at: rfc3339(d.created_at),
            settled_at: d.confirmed_at.map(rfc3339),
        }
    }
}

#[derive(Serialize)]
struct RequestView {
    method: &'static str,
    url: String,
    /// Send each exactly as given: they are part of the signature.
    headers: std::collections::BTreeMap<String, String>,
    expires_at: String,
}

impl From<PresignedRequest> for RequestView {
    fn from(r: PresignedRequest) -> Self {
        Self {
            method: r.method,
            url: r.url,
            headers: r.headers.into_iter().collect(),
            expires_at: rfc3339(r.expires_at),
        }
    }
}

#[derive(Serialize)]
struct Declared {
    document: DocumentView,
    upload: RequestView,
}

/// Every field is optional here so that the rules can name each missing one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclarationBody {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    size_bytes: Option<i64>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    issuing_country: Option<String>,
}

async fn declare_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    ApiJson(body): ApiJson<DeclarationBody>,
) -> Result<(StatusCode, Json<Declared>), ApiError> {
    let declaration = Declaration {
        kind: body.kind,
        content_type: body.content_type,
        size_bytes: body.size_bytes,
        sha256: body.sha256,
        number: body.number,
        issuing_country: body.issuing_country,
    };
    let (document, upload) = state.documents.declare(&claims.sub, declaration).await?;
    Ok((
        StatusCode::CREATED,
        Json(Declared {
            document: document.into(),
            upload: upload.into(),
        }),
    ))
}

#[derive(Serialize)]
struct DocumentList {
    documents: Vec<DocumentView>,
}

async fn list_documents(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Json<DocumentList>, ApiError> {
    let documents =
        state
            .documents
            .list(&claims.sub)
            .await
            .map_err(|e| match e.downcast::<sqlx::Error>() {
                Ok(e) => ApiError::from(e),
                Err(e) => ApiError::from(e),
            })?;
    Ok(Json(DocumentList {
        documents: documents.into_iter().map(DocumentView::from).collect(),
    }))
}

async fn get_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, ApiError> {
    let document = state.documents.find(&claims.sub, &id).await?;
    Ok(Json(document.into()))
}

async fn confirm_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, ApiError> {
    let document = state.documents.confirm(&claims.sub, &id).await?;
    Ok(Json(document.into()))
}

async fn download_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let url = state.documents.download(&claims, &id).await?;
    Ok(Json(url.into()))
}

async fn replace_avatar(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    body: Body,
) -> Result<StatusCode, ApiError> {
    // One byte over the limit is enough to know it is too large.
    let image = axum::body::to_bytes(body, avatar::MAX_BYTES + 1)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    avatar::replace(&*state.documents.objects, &claims.sub, image.to_vec())
        .await
        .map_err(|e| match e {
            AvatarError::TooLarge => ApiError::PayloadTooLarge,
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_avatar(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Response, ApiError> {
    let (image, content_type) = avatar::get(&*state.documents.objects, &claims.sub)
        .await
        .map_err(Failure::unavailable)?
        .ok_or(Failure::not_found("no avatar"))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        image,
    )
        .into_response())
}

async fn remove_avatar(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode, ApiError> {
    avatar::remove(&*state.documents.objects, &claims.sub)
        .await
        .map_err(Failure::unavailable)?;
    Ok(StatusCode::NO_CONTENT)
}
