//! `PUT`/`GET /v1/objects/{key}`: the presigned URLs of the embedded object store
//! ([`usvc_core::documents::files`]). No bearer token: the URL's signature is the authority. A
//! forged, altered or expired URL is a 403; an upload longer than the URL grants, a 413. Not
//! mounted in effect when objects live in S3 (every request is a 404).

use axum::{
    Router,
    body::Body,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::put,
};
use usvc_core::failure::{Failure, Reason};

use super::{
    AppState,
    error::{ApiError, Problem},
    openapi::Binary,
};
use usvc_core::documents::{
    files::{FilesystemObjects, UploadError, UrlGrant},
    sniff,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/objects/{*key}", put(upload).get(download))
}

/// The embedded store and the grant its URL carries, once the URL's signature and expiry hold.
fn checked<'a>(
    state: &'a AppState,
    method: &str,
    key: &str,
    grant: &Result<Query<UrlGrant>, QueryRejection>,
) -> Result<(&'a FilesystemObjects, UrlGrant), ApiError> {
    let files = state
        .object_files
        .as_deref()
        .ok_or(Failure::not_found("no such object"))?;
    let refused = || {
        Failure::forbidden(
            Reason::UrlRefused,
            "The URL is not valid: it was altered, or it has expired. Ask for a new one.",
        )
    };
    let Ok(Query(grant)) = grant else {
        return Err(refused().into());
    };
    files
        .check(method, key, grant, state.caps.clock.unix())
        .map_err(|_| refused())?;
    Ok((files, grant.clone()))
}

/// Receives a document's bytes at its presigned upload URL.
#[utoipa::path(
    put, path = "/v1/objects/{key}", tag = "objects",
    params(
        ("key" = String, Path, description = "The object's key."),
        ("expires" = Option<i64>, Query, description = "Unix seconds the URL works until."),
        ("size" = Option<u64>, Query, description = "PUT: the most bytes the upload may have."),
        ("type" = Option<String>, Query, description = "The content type the URL was given with."),
        ("signature" = Option<String>, Query, description = "The URL's HMAC signature."),
    ),
    request_body(content = Binary, description = "The file's bytes.", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Stored."),
        (status = 400, description = "The body could not be read.", body = Problem),
        (status = 403, description = "The URL was altered or has expired, or the `Content-Type` is not the one it was given with (`/problems/url-refused`).", body = Problem),
        (status = 404, description = "Documents live in S3.", body = Problem),
        (status = 409, description = "The document is settled (`/problems/document-settled`).", body = Problem),
        (status = 413, description = "Longer than the URL grants.", body = Problem),
    ),
)]
async fn upload(
    State(state): State<AppState>,
    Path(key): Path<String>,
    grant: Result<Query<UrlGrant>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let (files, grant) = checked(&state, "PUT", &key, &grant)?;
    if !state.documents.accepts_upload(&key).await? {
        return Err(Failure::conflict(
            Reason::DocumentSettled,
            "The document is settled: its upload URL no longer works. Declare a new document.",
        )
        .into());
    }
    let sent_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if sent_type != grant.content_type.as_deref() {
        return Err(Failure::forbidden(
            Reason::UrlRefused,
            "Send the Content-Type header the upload URL was given with.",
        )
        .into());
    }
    let max = grant.size.unwrap_or_default();
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > max) {
        return Err(ApiError::PayloadTooLarge);
    }
    files
        .receive(&key, body.into_data_stream(), max)
        .await
        .map_err(|e| match e {
            UploadError::TooLarge => ApiError::PayloadTooLarge,
            UploadError::Body(detail) => ApiError::BadRequest(detail),
            UploadError::Io(e) => e.into(),
        })?;
    Ok(StatusCode::OK)
}

/// Serves an object at its presigned download URL.
#[utoipa::path(
    get, path = "/v1/objects/{key}", tag = "objects",
    params(
        ("key" = String, Path, description = "The object's key."),
        ("expires" = Option<i64>, Query, description = "Unix seconds the URL works until."),
        ("size" = Option<u64>, Query, description = "PUT: the most bytes the upload may have."),
        ("type" = Option<String>, Query, description = "The content type the URL was given with."),
        ("signature" = Option<String>, Query, description = "The URL's HMAC signature."),
    ),
    responses(
        (status = 200, description = "The bytes.", content((Binary = "image/jpeg"), (Binary = "image/png"), (Binary = "application/pdf"), (Binary = "application/octet-stream"))),
        (status = 403, description = "The URL was altered or has expired (`/problems/url-refused`).", body = Problem),
        (status = 404, description = "No such object, or documents live in S3.", body = Problem),
    ),
)]
async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    grant: Result<Query<UrlGrant>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (files, grant) = checked(&state, "GET", &key, &grant)?;
    let bytes = usvc_core::documents::objects::ObjectStore::get(files, &key, u64::MAX)
        .await
        .map_err(Failure::internal)?
        .ok_or(Failure::not_found("no such object"))?;
    // Only a type usvc accepts is echoed; anything else is served as opaque bytes.
    let content_type = [sniff::JPEG, sniff::PNG, sniff::PDF]
        .into_iter()
        .find(|t| grant.content_type.as_deref() == Some(*t))
        .unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            ),
        ],
        bytes,
    )
        .into_response())
}
