//! Request extractors: JSON bodies whose rejections are problems, the authenticated customer
//! behind a bearer token, the client's address, and the version a write is based on
//! (`If-Match`, with [`etag`] the one place entity tags are written).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use usvc_core::failure::{Failure, Reason};

use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts},
    http::{HeaderName, HeaderValue, header, request::Parts},
};

use super::{AppState, error::ApiError, observe::RequestUser};
use usvc_core::auth::{
    access::{self},
    tokens::Claims,
};

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
            .ok_or(Failure::unauthenticated(
                Reason::TokenMissing,
                "an `Authorization: Bearer` access token is required",
            ))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or(Failure::unauthenticated(
                Reason::TokenMissing,
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let claims = access::authenticate(state, token.trim()).await?;
        if let Some(user) = parts.extensions.get::<RequestUser>() {
            user.set(&claims.sub);
        }
        Ok(Self(claims))
    }
}

/// The client's address: the TCP peer, or, when usvc is configured to trust the proxies in front
/// of it, the `X-Forwarded-For` entry they vouch for (a malformed header is a `400`).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.trust_forwarded_for && parts.headers.contains_key("x-forwarded-for") {
            return forwarded_client(&parts.headers, state.forwarded_for_hops)
                .map(Self)
                .ok_or(ApiError::BadRequest(
                    "X-Forwarded-For is malformed or shorter than the trusted proxies".to_owned(),
                ));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(Self(peer))
    }
}

/// The client in `X-Forwarded-For`: the entry `hops` places from the end, each of the `hops`
/// trusted proxies having appended one. `None` when any entry is not an address (a header
/// nobody can vouch for) or there are fewer than `hops`.
fn forwarded_client(headers: &axum::http::HeaderMap, hops: usize) -> Option<IpAddr> {
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for entry in value.to_str().ok()?.split(',') {
            entries.push(entry.trim().parse::<IpAddr>().ok()?);
        }
    }
    entries.len().checked_sub(hops.max(1)).map(|i| entries[i])
}

/// The `User-Agent` header, shortened; empty when absent.
pub struct UserAgent(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(Self(agent.chars().take(256).collect()))
    }
}

/// The version a write is based on: `If-Match` with one strong entity tag, as [`etag`] wrote it.
/// Without the header (or with `*`, which would overwrite blindly) the write is refused with
/// 428; a tag that cannot name a version (weak, several, not ours) can never be the current
/// one: 412.
pub struct IfMatch(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(header::IF_MATCH).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(ApiError::PreconditionRequired),
            (Some(_), Some(_)) => return Err(Failure::stale().into()),
            (Some(value), None) => value,
        };
        let value = value.to_str().map(str::trim).unwrap_or_default();
        if value == "*" {
            return Err(ApiError::PreconditionRequired);
        }
        value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(usvc_core::profile::parse_version)
            .map(Self)
            .ok_or(Failure::stale().into())
    }
}

/// The strong entity tag of a resource's `version`: `ETag: "<version>"`.
pub fn etag(version: i64) -> (HeaderName, HeaderValue) {
    let tag = HeaderValue::try_from(format!("\"{version}\""))
        .expect("digits in quotes are a valid header value");
    (header::ETAG, tag)
}
