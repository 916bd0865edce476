//! Encryption at rest for secrets and personal data the host must be able to read back (TOTP
//! secrets; a customer's date of birth, postal address and national id number): AES-256-GCM
//! under the key in `USVC_SECRETS_KEY`, a fresh random nonce per value, and the owning row's
//! identity as associated data, so a sealed value moved to another row fails to open.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The key every development instance uses when none is configured. Public by definition:
/// production mode refuses to start without `USVC_SECRETS_KEY`.
pub const DEVELOPMENT_KEY: [u8; 32] = *b"usvc development key, not secret";

const NONCE_BYTES: usize = 12;

pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Keys [`SecretBox::keyed_digest`]; derived from the sealing key, never used to seal.
    digest_key: [u8; 32],
}

type HmacSha256 = Hmac<Sha256>;

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        let mut derive =
            <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        derive.update(b"usvc keyed digest");
        Self {
            cipher: Aes256Gcm::new(key.into()),
            digest_key: derive.finalize().into_bytes().into(),
        }
    }

    /// Hex HMAC-SHA256 of `data` under a key derived from the sealing key: a digest that shows
    /// two inputs were the same without letting anyone without the key test a guess (an input
    /// may hold a password or a one-time code).
    pub fn keyed_digest(&self, data: &[u8]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.digest_key)
            .expect("HMAC takes any key length");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    /// `plaintext` sealed for the row named by `context`: base64url of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption does not fail for inputs this size");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The plaintext of a value sealed for `context`; an error when it was sealed under another
    /// key, for another row, or altered.
    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed)?;
        anyhow::ensure!(bytes.len() > NONCE_BYTES, "the sealed value is truncated");
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().expect("split at the nonce length");
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("the sealed value does not open with this key and context")
            })
    }
}

/// SHA-256 of a secret, hex: how long random tokens (refresh, device, reset) are stored.
pub fn sha256_hex(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How codes a person types (six-digit codes, recovery codes) are stored: a keyed hash (HMAC
/// under a key derived from `USVC_SECRETS_KEY`), so that a copy of the database does not let
/// anyone try the million six-digit codes, or the recovery codes, offline.
pub fn code_digest(secrets: &SecretBox, code: &str) -> String {
    secrets.keyed_digest(format!("usvc code:{code}").as_bytes())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The associated data a customer's personal field is sealed with (`user:<id>:date_of_birth`,
/// `profile:<id>:address`, `profile:<id>:national_id`).
pub fn field_context(table: &str, user_id: &str, field: &str) -> String {
    format!("{table}:{user_id}:{field}")
}

impl SecretBox {
    /// Text sealed for `context`.
    pub fn seal_text(&self, text: &str, context: &str) -> String {
        self.seal(text.as_bytes(), context)
    }

    /// Text sealed with [`SecretBox::seal_text`].
    pub fn open_text(&self, sealed: &str, context: &str) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.open(sealed, context)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_digest_depends_on_the_key_and_the_data() {
        let one = SecretBox::new(&[7; 32]);
        let other = SecretBox::new(&[8; 32]);
        assert_eq!(one.keyed_digest(b"input"), one.keyed_digest(b"input"));
        assert_ne!(one.keyed_digest(b"input"), one.keyed_digest(b"input2"));
        assert_ne!(one.keyed_digest(b"input"), other.keyed_digest(b"input"));
        assert_eq!(one.keyed_digest(b"input").len(), 64);
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let secrets = SecretBox::new(&[7; 32]);
        let sealed = secrets.seal(b"totp secret", "factor:1");
        assert!(!sealed.contains("totp"));
        assert_eq!(secrets.open(&sealed, "factor:1").unwrap(), b"totp secret");
        assert_ne!(
            secrets.seal(b"totp secret", "factor:1"),
            sealed,
            "fresh nonce each time"
        );
        assert!(secrets.open(&sealed, "factor:2").is_err());
        assert!(SecretBox::new(&[8; 32]).open(&sealed, "factor:1").is_err());
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(
            secrets
                .open(&URL_SAFE_NO_PAD.encode(tampered), "factor:1")
                .is_err()
        );
    }

    #[test]
    fn personal_text_is_bound_to_its_customer_and_field() {
        let secrets = SecretBox::new(&[7; 32]);
        let context = field_context("user", "u1", "date_of_birth");
        assert_eq!(context, "user:u1:date_of_birth");
        let sealed = secrets.seal_text("1990-12-10", &context);
        assert!(!sealed.contains("1990"));
        assert_eq!(secrets.open_text(&sealed, &context).unwrap(), "1990-12-10");
        let elsewhere = field_context("user", "u2", "date_of_birth");
        assert!(secrets.open_text(&sealed, &elsewhere).is_err());
    }
}
