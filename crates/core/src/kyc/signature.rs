//! Who published a KYC result. The KYC service names its provider in the header
//! `x-kyc-provider` and signs the message body with that provider's key in `x-kyc-signature`
//! (lower-case hex HMAC-SHA256); the keys come from configuration (`USVC_KYC_RESULT_KEYS`).
//! Anyone else who can publish on the exchange cannot produce a result we accept.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const PROVIDER_HEADER: &str = "x-kyc-provider";
pub const SIGNATURE_HEADER: &str = "x-kyc-signature";
/// Shorter keys are refused at start-up.
const MIN_KEY_BYTES: usize = 32;

/// The signing key of each provider, by name.
#[derive(Clone, Default)]
pub struct ProviderKeys(BTreeMap<String, Vec<u8>>);

/// Why a result's origin is not proven, as a code for logs and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    #[error("unsigned")]
    Unsigned,
    #[error("unknown_provider")]
    UnknownProvider,
    #[error("bad_signature")]
    BadSignature,
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The names only: keys never reach a log.
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl ProviderKeys {
    /// `name=<base64 key>` pairs, comma-separated; each key at least 32 bytes.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        let mut keys = BTreeMap::new();
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, key) = pair
                .split_once('=')
                .context("expected provider=<base64 key>, comma-separated")?;
            let name = name.trim();
            if name.is_empty() {
                bail!("a provider needs a name");
            }
            let key = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .with_context(|| format!("the key of {name} is not base64"))?;
            if key.len() < MIN_KEY_BYTES {
                bail!("the key of {name} is shorter than {MIN_KEY_BYTES} bytes");
            }
            if keys.insert(name.to_owned(), key).is_some() {
                bail!("{name} is named twice");
            }
        }
        Ok(Self(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The provider whose key signed `body`, compared in constant time.
    pub fn verify(
        &self,
        provider: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<String, Unauthenticated> {
        let (Some(provider), Some(signature)) = (provider, signature) else {
            return Err(Unauthenticated::Unsigned);
        };
        let key = self
            .0
            .get(provider)
            .ok_or(Unauthenticated::UnknownProvider)?;
        let signature = hex::decode(signature).map_err(|_| Unauthenticated::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&signature)
            .map_err(|_| Unauthenticated::BadSignature)?;
        Ok(provider.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    fn sign(key: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn only_the_named_providers_key_over_the_exact_body_is_accepted() {
        let keys = ProviderKeys::parse(&format!("onfido={KEY}")).unwrap();
        let key = b"0123456789abcdef0123456789abcdef";
        let good = sign(key, b"{}");
        assert_eq!(
            keys.verify(Some("onfido"), Some(&good), b"{}"),
            Ok("onfido".into())
        );
        assert_eq!(
            keys.verify(Some("onfido"), Some(&good), b"{ }"),
            Err(Unauthenticated::BadSignature)
        );
        assert_eq!(
            keys.verify(Some("other"), Some(&good), b"{}"),
            Err(Unauthenticated::UnknownProvider)
        );
        assert_eq!(
            keys.verify(None, None, b"{}"),
            Err(Unauthenticated::Unsigned)
        );
        assert_eq!(
            keys.verify(Some("onfido"), Some("zz"), b"{}"),
            Err(Unauthenticated::BadSignature)
        );
    }

    #[test]
    fn short_or_malformed_keys_are_refused_and_never_printed() {
        assert!(ProviderKeys::parse("onfido=c2hvcnQ=").is_err());
        assert!(ProviderKeys::parse("onfido").is_err());
        assert!(ProviderKeys::parse(&format!("a={KEY},a={KEY}")).is_err());
        let keys = ProviderKeys::parse(&format!("onfido={KEY}")).unwrap();
        assert_eq!(format!("{keys:?}"), "[\"onfido\"]");
    }
}
