//! Authentication mechanisms the host owns: password hashing, one-time codes and tokens.
//! Nothing here decides policy; it only makes and checks secrets.

pub mod codes;
pub mod login;
pub mod password;
pub mod refresh;
pub mod tokens;
pub mod trail;

use sha2::{Digest, Sha256};

/// Hex SHA-256: how short-lived high-entropy secrets (codes, refresh tokens) are stored.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equality in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
