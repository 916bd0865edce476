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
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser},
    openapi::Binary,
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

#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
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

#[derive(Serialize, ToSchema)]
struct Declared {
    document: DocumentView,
    upload: RequestView,
}

/// Every field is optional here so that the rules can name each missing one.
#[derive(Deserialize, ToSchema)]
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

/// Declares a KYC document before uploading it; answers where to PUT the file.
#[utoipa::path(
    post, path = "/v1/users/me/documents", tag = "verification", security(("bearer" = [])),
    request_body = DeclarationBody,
    responses(
        (status = 201, description = "The document (`pending`) and its upload.", body = Declared),
        (status = 422, description = "The declaration breaks rules: `violations` names each.", body = Problem),
    ),
)]
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

#[derive(Serialize, ToSchema)]
struct DocumentList {
    documents: Vec<DocumentView>,
}

/// The caller's documents.
#[utoipa::path(
    get, path = "/v1/users/me/documents", tag = "verification", security(("bearer" = [])),
    responses((status = 200, description = "The documents.", body = DocumentList)),
)]
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

/// One of the caller's documents.
#[utoipa::path(
    get, path = "/v1/users/me/documents/{id}", tag = "verification", security(("bearer" = [])),
    params(("id" = String, Path, description = "The document's id.")),
    responses(
        (status = 200, description = "The document.", body = DocumentView),
        (status = 404, description = "No such document of the caller's.", body = Problem),
    ),
)]
async fn get_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, ApiError> {
    let document = state.documents.find(&claims.sub, &id).await?;
    Ok(Json(document.into()))
}

/// Reads the upload back and settles the document: `confirmed`, or `rejected` with a code.
#[utoipa::path(
    post, path = "/v1/users/me/documents/{id}/confirm", tag = "verification", security(("bearer" = [])),
    params(("id" = String, Path, description = "The document's id.")),
    responses(
        (status = 200, description = "The settled document.", body = DocumentView),
        (status = 404, description = "No such document of the caller's.", body = Problem),
        (status = 409, description = "Nothing was uploaded yet (`/problems/document-not-uploaded`).", body = Problem),
    ),
)]
async fn confirm_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, ApiError> {
    let document = state.documents.confirm(&claims.sub, &id).await?;
    Ok(Json(document.into()))
}

/// A presigned GET for the document's owner or compliance staff.
#[utoipa::path(
    get, path = "/v1/documents/{id}/download", tag = "verification", security(("bearer" = [])),
    params(("id" = String, Path, description = "The document's id.")),
    responses(
        (status = 200, description = "Where to GET the file.", body = RequestView),
        (status = 404, description = "No such document, or not the caller's to read.", body = Problem),
        (status = 409, description = "The document is not confirmed, or its bytes changed (`/problems/document-not-confirmed`, `/problems/document-altered`).", body = Problem),
    ),
)]
async fn download_document(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let url = state.documents.download(&claims, &id).await?;
    Ok(Json(url.into()))
}

/// Replaces the caller's avatar with the PNG or JPEG sent as the body (at most 1 MiB).
#[utoipa::path(
    put, path = "/v1/users/me/avatar", tag = "users", security(("bearer" = [])),
    request_body(description = "The image's bytes.", content((Binary = "image/png"), (Binary = "image/jpeg"))),
    responses(
        (status = 204, description = "Replaced."),
        (status = 413, description = "Over 1 MiB.", body = Problem),
        (status = 422, description = "Not a PNG or JPEG image (`avatar.not_an_image`).", body = Problem),
    ),
)]
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

/// The caller's avatar image.
#[utoipa::path(
    get, path = "/v1/users/me/avatar", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The image.", content((Binary = "image/png"), (Binary = "image/jpeg"))),
        (status = 404, description = "No avatar.", body = Problem),
    ),
)]
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

/// Removes the caller's avatar.
#[utoipa::path(
    delete, path = "/v1/users/me/avatar", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Removed (or there was none).")),
)]
async fn remove_avatar(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<StatusCode, ApiError> {
    avatar::remove(&*state.documents.objects, &claims.sub)
        .await
        .map_err(Failure::unavailable)?;
    Ok(StatusCode::NO_CONTENT)
}
