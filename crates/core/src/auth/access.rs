//! Who is calling: an access token checked for signature, issuer, audience, expiry and a live
//! session. The one check behind HTTP's bearer extractor and gRPC's `ValidateToken`.

use crate::failure::{Failure, Reason};
use jsonwebtoken::errors::ErrorKind;

use super::tokens::Claims;
use crate::auth::Authenticator;

/// Why a token grants nothing.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("the access token is invalid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the session has ended")]
    SessionEnded,
    /// The session could not be checked (the database is unreachable).
    #[error(transparent)]
    Unavailable(#[from] sqlx::Error),
}

impl From<Denied> for Failure {
    fn from(denied: Denied) -> Self {
        let reason = match denied {
            Denied::Invalid => Reason::TokenInvalid,
            Denied::Expired => Reason::TokenExpired,
            Denied::SessionEnded => {
                return Failure::unauthenticated(Reason::SessionEnded, "the session has ended");
            }
            Denied::Unavailable(e) => return e.into(),
        };
        Failure::unauthenticated(reason, "the access token is invalid or expired")
    }
}

/// The claims of `token` when it is a valid access token whose session is live.
pub async fn authenticate(state: &Authenticator, token: &str) -> Result<Claims, Denied> {
    let claims = state
        .tokens
        .verify(token)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Denied::Expired,
            _ => Denied::Invalid,
        })?;
    let live = state
        .sessions
        .is_live(&state.caps.db, &claims.sid, state.caps.clock.unix())
        .await?;
    if !live {
        return Err(Denied::SessionEnded);
    }
    Ok(claims)
}
