//! Ed25519 keys as usvc's configuration holds them: private keys as PKCS#8 PEM, public keys as
//! base64url (`USVC_COMPONENT_SIGNERS`, `USVC_GRPC_CALLERS`). The JWT signing key, component
//! signing keys and gRPC callers' keys all take this form.

use anyhow::Context as _;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
};

/// A new signing key as PKCS#8 PEM (`usvc keys generate`, `usvc components keygen`).
pub fn generate_pem() -> anyhow::Result<String> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    Ok(key
        .to_pkcs8_pem(Default::default())
        .context("encoding the key")?
        .to_string())
}

/// The base64url public half of a PKCS#8 PEM key, as the configuration names signers and callers.
pub fn public_key(key_pem: &str) -> anyhow::Result<String> {
    let key = SigningKey::from_pkcs8_pem(key_pem)?;
    Ok(URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()))
}
