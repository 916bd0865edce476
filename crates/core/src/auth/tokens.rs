//! Access tokens: short-lived JWTs signed with Ed25519 (EdDSA), and the key ring that verifies
//! them. One key signs; keys it replaced keep verifying for one access-token lifetime after
//! their retirement, so a rotation logs nobody out. Public halves are persisted, so every
//! replica verifies every replica's tokens. A private key never leaves this module, is never
//! logged and never reaches a component.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

use anyhow::Context;
use arc_swap::ArcSwap;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::{
    Database,
    signing_keys::{self, StoredKey},
};

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

/// Seconds of clock difference tolerated between replicas and verifiers.
const LEEWAY_SECS: u64 = 5;

/// A key that verifies tokens, until `usable_until` when it has been retired.
struct VerifyingKey {
    public: [u8; 32],
    decoding: DecodingKey,
    usable_until: Option<i64>,
}

pub struct TokenIssuer {
    kid: String,
    encoding: EncodingKey,
    keys: ArcSwap<BTreeMap<String, VerifyingKey>>,
    /// Where the public halves live; `None` for a process-local key ring.
    db: Option<Database>,
    /// When the key ring was last read from the database (unix seconds).
    loaded_at: AtomicI64,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The key id, derived from the public key so that every replica with the same key agrees.
fn kid_of(public: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public)[..8])
}

fn parse_pem(pem: &str) -> anyhow::Result<SigningKey> {
    SigningKey::from_pkcs8_pem(pem)
        .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 PEM key: {e}"))
}

/// A new signing key as PKCS#8 PEM, for `USVC_JWT_SIGNING_KEY` (`usvc keys generate`).
pub use crate::runtime::keys::generate_pem;

impl TokenIssuer {
    /// A key ring of one, held by this process only: the configured key or a generated one.
    pub fn new(config: &TokenConfig) -> anyhow::Result<Self> {
        let key = match &config.signing_key_pem {
            Some(pem) => parse_pem(pem.expose_secret()).context("USVC_JWT_SIGNING_KEY")?,
            None => SigningKey::generate(&mut rand::rngs::OsRng),
        };
        Self::with_signer(config, &key, None)
    }

    /// The key ring persisted in `db`. The signer is the configured key or, in development, the
    /// key generated (and stored) by an earlier run. Any other key that was still signing is
    /// retired now: that is how a key is rotated by configuration.
    pub async fn load(config: &TokenConfig, db: &Database) -> anyhow::Result<Self> {
        let now = unix_now();
        let mut conn = db.acquire().await?;
        let stored = signing_keys::all(&mut conn).await?;
        let key = match &config.signing_key_pem {
            Some(pem) => parse_pem(pem.expose_secret()).context("USVC_JWT_SIGNING_KEY")?,
            None => match stored
                .iter()
                .rev()
                .find(|k| k.retired_at.is_none() && k.private_key.is_some())
            {
                Some(k) => parse_pem(k.private_key.as_deref().unwrap_or_default())
                    .context("the stored development signing key")?,
                None => SigningKey::generate(&mut rand::rngs::OsRng),
            },
        };
        let public = key.verifying_key().to_bytes();
        let kid = kid_of(&public);
        let private_key = match config.signing_key_pem {
            Some(_) => None,
            None => Some(key.to_pkcs8_pem(Default::default())?.to_string()),
        };
        let record = StoredKey {
            kid: kid.clone(),
            public_key: URL_SAFE_NO_PAD.encode(public),
            private_key,
            created_at: now,
            retired_at: None,
        };
        signing_keys::insert(&mut conn, &record).await?;
        let retired = signing_keys::retire_all_but(&mut conn, &kid, now).await?;
        if retired > 0 {
            tracing::info!(%kid, retired, "signing key rotated; the previous keys verify until their tokens expire");
        }
        drop(conn);
        let issuer = Self::with_signer(config, &key, Some(db.clone()))?;
        issuer.reload().await?;
        Ok(issuer)
    }

    fn with_signer(
        config: &TokenConfig,
        key: &SigningKey,
        db: Option<Database>,
    ) -> anyhow::Result<Self> {
        let der = key.to_pkcs8_der().context("encoding the signing key")?;
        let public = key.verifying_key().to_bytes();
        let kid = kid_of(&public);
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let keys = BTreeMap::from([(
            kid.clone(),
            VerifyingKey {
                public,
                decoding: DecodingKey::from_ed_der(&public),
                usable_until: None,
            },
        )]);
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            keys: ArcSwap::from_pointee(keys),
            db,
            loaded_at: AtomicI64::new(unix_now()),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
        })
    }

    /// Reads the verifying keys from the database: the signer, every other unretired key (a
    /// replica may sign with a newer one) and retired keys whose tokens may still be alive.
    async fn reload(&self) -> anyhow::Result<()> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let now = unix_now();
        self.loaded_at.store(now, Ordering::Relaxed);
        let mut conn = db.acquire().await?;
        let stored = signing_keys::all(&mut conn).await?;
        let lifetime = (self.access_ttl.as_secs() + LEEWAY_SECS) as i64;
        let mut keys = BTreeMap::new();
        for key in stored {
            let usable_until = key.retired_at.map(|at| at + lifetime);
            if usable_until.is_some_and(|until| until <= now) && key.kid != self.kid {
                continue;
            }
            let Ok(public) = <[u8; 32]>::try_from(
                URL_SAFE_NO_PAD
                    .decode(&key.public_key)
                    .unwrap_or_default()
                    .as_slice(),
            ) else {
                tracing::warn!(kid = %key.kid, "a stored public key is malformed; skipped");
                continue;
            };
            let usable_until = if key.kid == self.kid {
                None
            } else {
                usable_until
            };
            keys.insert(
                key.kid,
                VerifyingKey {
                    public,
                    decoding: DecodingKey::from_ed_der(&public),
                    usable_until,
                },
            );
        }
        self.keys.store(keys.into());
        Ok(())
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        amr: &[&str],
        roles: &[String],
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
            roles: roles.to_vec(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Every key that may verify a live token, as a JSON Web Key Set (RFC 7517, RFC 8037), for
    /// services that verify tokens on their own.
    pub fn jwks(&self) -> serde_json::Value {
        let now = unix_now();
        let keys: Vec<_> = self
            .keys
            .load()
            .iter()
            .filter(|(_, key)| key.usable_until.is_none_or(|until| until > now))
            .map(|(kid, key)| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(key.public),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and key id. A key id this
    /// process does not know makes it re-read the key ring (at most once a second): another
    /// replica may have started signing with a new key.
    pub async fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(ErrorKind::InvalidToken)?;
        if !self.keys.load().contains_key(&kid)
            && unix_now() > self.loaded_at.load(Ordering::Relaxed)
            && let Err(e) = self.reload().await
        {
            tracing::warn!(error = %e, "the signing keys could not be re-read");
        }
        let keys = self.keys.load();
        let key = keys.get(&kid).ok_or(ErrorKind::InvalidToken)?;
        if key.usable_until.is_some_and(|until| until <= unix_now()) {
            return Err(ErrorKind::InvalidToken.into());
        }
        Ok(jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)?.claims)
    }
}

/// How access and refresh tokens are issued.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// PKCS#8 PEM of the Ed25519 signing key; generated per process when absent (development only).
    pub signing_key_pem: Option<SecretString>,
}

impl Default for TokenConfig {
    /// Issued and accepted by `usvc`, access for 15 minutes, refresh for 30 days, signed with a
    /// key generated per process (development only).
    fn default() -> Self {
        Self {
            issuer: "usvc".to_owned(),
            audience: "usvc".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            signing_key_pem: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&TokenConfig::default()).unwrap()
    }

    fn customer() -> Vec<String> {
        vec!["customer".to_owned()]
    }

    #[tokio::test]
    async fn an_issued_token_verifies() {
        let issuer = issuer();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, claims) = issuer
            .issue("u1", "s1", &["pwd"], &customer(), now)
            .unwrap();
        assert_eq!(issuer.verify(&token).await.unwrap(), claims);
    }

    #[tokio::test]
    async fn a_token_from_another_key_is_refused() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, _) = issuer()
            .issue("u1", "s1", &["pwd"], &customer(), now)
            .unwrap();
        assert!(issuer().verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn an_expired_token_is_refused() {
        let issuer = issuer();
        let long_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
        let (token, _) = issuer
            .issue("u1", "s1", &["pwd"], &customer(), long_ago)
            .unwrap();
        assert!(issuer.verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn an_unsigned_token_is_refused() {
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let issuer = issuer();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (token, _) = issuer
            .issue("u1", "s1", &["pwd"], &customer(), now)
            .unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let forged = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
        assert!(issuer.verify(&forged).await.is_err());
    }
}
