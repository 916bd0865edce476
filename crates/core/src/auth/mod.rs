//! Authentication mechanisms the host owns: password hashing, one-time codes and tokens.
//! Nothing here decides policy; it only makes and checks secrets.

pub mod access;
pub mod login;
pub mod reauth;
pub mod refresh;
pub mod second_factor;
pub mod sessions;
pub mod tokens;
pub mod trail;

pub use crate::runtime::{codes, password};
pub use crate::secrets::{code_digest, constant_time_eq, sha256_hex};

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
