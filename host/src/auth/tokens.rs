//! Access tokens: short-lived JWTs signed with Ed25519 (EdDSA). The private key never leaves
//! this module, is never logged and never reaches a component.

use std::time::Duration;

use anyhow::Context;
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::TokenConfig;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The customer's id.
    pub sub: String,
    /// The session the token belongs to.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    /// How the customer authenticated (RFC 8176 values, e.g. `pwd`).
    pub amr: Vec<String>,
    pub roles: Vec<String>,
}

pub struct TokenIssuer {
    kid: String,
    public_key: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenIssuer {
    /// From the configured PEM key, or a key generated for this process (development only).
    pub fn new(config: &TokenConfig) -> anyhow::Result<Self> {
        let key = match &config.signing_key_pem {
            Some(pem) => SigningKey::from_pkcs8_pem(pem).map_err(|e| {
                anyhow::anyhow!("USVC_JWT_SIGNING_KEY is not an Ed25519 PKCS#8 PEM key: {e}")
            })?,
            None => SigningKey::generate(&mut rand::rngs::OsRng),
        };
        let der = key.to_pkcs8_der().context("encoding the signing key")?;
        let public = key.verifying_key().to_bytes();
        // The key id is derived from the public key, so every replica with the same key agrees.
        let kid = hex::encode(&Sha256::digest(public)[..8]);
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            kid,
            public_key: public,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(&public),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        })
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        amr: &[&str],
        now: i64,
    ) -> anyhow::Result<(String, Claims)> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
            amr: amr.iter().map(|s| s.to_string()).collect(),
            roles: vec!["customer".to_owned()],
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// The public key as a JSON Web Key Set (RFC 7517, RFC 8037), for services that verify
    /// tokens on their own.
    pub fn jwks(&self) -> serde_json::Value {
        use base64::Engine;
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.kid,
                "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public_key),
            }]
        })
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and key id.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidToken.into());
        }
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims)
    }
}

/// An opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&Config::embedded().tokens).unwrap()
    }

    #[test]
    fn an_issued_token_verifies() {
        let issuer = issuer();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, claims) = issuer.issue("u1", "s1", &["pwd"], now).unwrap();
        assert_eq!(issuer.verify(&token).unwrap(), claims);
    }

    #[test]
    fn a_token_from_another_key_is_refused() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, _) = issuer().issue("u1", "s1", &["pwd"], now).unwrap();
        assert!(issuer().verify(&token).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let issuer = issuer();
        let long_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
        let (token, _) = issuer.issue("u1", "s1", &["pwd"], long_ago).unwrap();
        assert!(issuer.verify(&token).is_err());
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let issuer = issuer();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, _) = issuer.issue("u1", "s1", &["pwd"], now).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let forged = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
        assert!(issuer.verify(&forged).is_err());
    }

    #[test]
    fn refresh_tokens_are_long_and_distinct() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
