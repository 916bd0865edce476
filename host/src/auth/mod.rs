//! Authentication mechanisms the host owns: password hashing, one-time codes and tokens.
//! Nothing here decides policy; it only makes and checks secrets.

pub mod access;
pub mod codes;
pub mod login;
pub mod password;
pub mod reauth;
pub mod refresh;
pub mod second_factor;
pub mod sessions;
pub mod tokens;
pub mod trail;

use sha2::{Digest, Sha256};

/// Hex SHA-256: how high-entropy secrets (refresh, device and reset tokens, 256 random bits
/// each) are stored.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How codes a person types (six-digit codes, recovery codes) are stored: a keyed hash (HMAC
/// under a key derived from `USVC_SECRETS_KEY`), so that a copy of the database does not let
/// anyone try the million six-digit codes, or the recovery codes, offline.
pub fn code_digest(secrets: &crate::secrets::SecretBox, code: &str) -> String {
    secrets.keyed_digest(format!("usvc code:{code}").as_bytes())
}

/// An opaque secret of 256 random bits, URL-safe: refresh, device and password-reset tokens.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Equality in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
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
