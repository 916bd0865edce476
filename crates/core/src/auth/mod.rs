//! Authentication mechanisms the host owns: password hashing, one-time codes and tokens.
//! Nothing here decides policy; it only makes and checks secrets.

pub mod access;
pub mod devices;
pub mod login;
pub mod new_password;
pub mod reauth;
pub mod refresh;
pub mod second_factor;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;

pub use crate::runtime::{codes, password};
pub use crate::secrets::{code_digest, constant_time_eq, sha256_hex};
use crate::{
    capabilities::Capabilities,
    guard::{Guard, SessionGate},
    runtime::Runtime,
    trail::AfterAnswer,
};

/// What authentication works with: the mfa policy's runtime, the capabilities, token issuing,
/// the guards and the records written after an answer. Built once by the composition root;
/// the front doors reach it through their state.
#[derive(Clone)]
pub struct Authenticator {
    pub runtime: Arc<Runtime>,
    pub caps: Arc<Capabilities>,
    pub tokens: Arc<tokens::TokenIssuer>,
    pub guard: Arc<Guard>,
    pub sessions: Arc<SessionGate>,
    /// Records written after their answers (a failed login's), awaited at a graceful stop.
    pub after_answer: AfterAnswer,
}

/// The role that may lock and unlock accounts.
pub const ADMIN: &str = "admin";
/// The roles an operator may grant (every user is a `customer`).
pub const STAFF_ROLES: [&str; 3] = [ADMIN, "compliance", "support"];

/// An opaque secret of 256 random bits, URL-safe: refresh, device and password-reset tokens.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_tokens_are_long_and_distinct() {
        let (a, b) = (super::random_token(), super::random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
