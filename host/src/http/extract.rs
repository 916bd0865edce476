//! Request extractors: JSON bodies whose rejections are problems, and the authenticated
//! customer behind a bearer token.

use axum::{
    extract::{FromRequest, FromRequestParts},
    http::{header, request::Parts},
};

use super::{AppState, error::ApiError};
use crate::{auth::tokens::Claims, store::sessions};

/// `axum::Json`, but a bad body becomes a problem document instead of plain text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The customer a valid bearer access token names, with a live session.
pub struct AuthUser(pub Claims);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "an `Authorization: Bearer` access token is required",
            ))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let claims = state
            .tokens
            .verify(token.trim())
            .map_err(|_| ApiError::Unauthorized("the access token is invalid or expired"))?;
        let mut conn = state.caps.db.acquire().await?;
        if !sessions::is_live(&mut conn, &claims.sid, state.caps.clock.unix()).await? {
            return Err(ApiError::Unauthorized("the session has ended"));
        }
        Ok(Self(claims))
    }
}
