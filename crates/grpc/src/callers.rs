//! Service-to-service authentication and authorization: each calling service signs a
//! short-lived JWT (EdDSA) with its own key; usvc trusts the public keys configured in
//! `USVC_GRPC_CALLERS` and lets each caller call the RPCs `USVC_GRPC_GRANTS` grants it. An RPC
//! that acts for a customer also carries the customer's access token in `x-user-token`.

use std::{collections::BTreeMap, sync::Arc};

use anyhow::Context;

use axum::{extract::State, middleware::Next, response::Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tonic::Status;

/// The audience every caller token must name, so no other token of the bank's is accepted.
pub const AUDIENCE: &str = "usvc-grpc";
/// Longest lifetime a caller token may claim (exp - iat), and longest it may still have left
/// from now: a leaked one is soon worthless.
const MAX_LIFETIME_SECS: i64 = 3600;
/// How far the caller's clock may run ahead of ours.
const CLOCK_SKEW_SECS: i64 = 60;

pub use usvc_core::grants::{Grants, PERSONAL_DATA, RPCS, parse_grants};

/// The authenticated calling service, put in the request's extensions before any handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    /// Granted `personal-data`: it reads customers' records unmasked.
    pub personal_data: bool,
}

#[derive(Deserialize)]
struct CallerClaims {
    iss: String,
    iat: i64,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
}

/// The trusted callers' verification keys and grants.
pub struct CallerKeys {
    keys: BTreeMap<String, (DecodingKey, Grants)>,
}

impl CallerKeys {
    pub fn new(callers: &BTreeMap<String, [u8; 32]>, grants: &BTreeMap<String, Grants>) -> Self {
        let keys = callers
            .iter()
            .map(|(name, public)| {
                let granted = grants
                    .get(name)
                    .cloned()
                    .unwrap_or_else(Grants::acting_for_customers);
                (name.clone(), (DecodingKey::from_ed_der(public), granted))
            })
            .collect();
        Self { keys }
    }

    /// The service a caller token names, when its signature, audience and times hold at `now`
    /// (Unix seconds): issued and valid by now (within the skew), and neither its lifetime nor
    /// what is left of it longer than an hour — an `iat` in the future buys no extra life.
    pub fn verify(&self, token: &str, now: i64) -> Option<Caller> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let name = header.kid?;
        let (key, grants) = self.keys.get(&name)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[&name]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<CallerClaims>(token, key, &validation)
            .ok()?
            .claims;
        let timely = claims.iat <= now + CLOCK_SKEW_SECS
            && claims.nbf.is_none_or(|nbf| nbf <= now + CLOCK_SKEW_SECS)
            && claims.exp - claims.iat <= MAX_LIFETIME_SECS
            && claims.exp - now <= MAX_LIFETIME_SECS + CLOCK_SKEW_SECS;
        (claims.iss == name && timely).then_some(Caller {
            personal_data: grants.personal_data,
            name,
        })
    }

    /// The caller of `rpc` (`Service/Method`), when its token in `authorization: Bearer …` is
    /// valid at `now` and its grants include the RPC.
    pub fn admit(
        &self,
        rpc: &str,
        authorization: Option<&str>,
        now: i64,
    ) -> Result<Caller, Status> {
        let token = authorization
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                Status::unauthenticated(
                    "a caller token is required: `authorization: Bearer <token>`",
                )
            })?;
        let caller = self
            .verify(token.trim(), now)
            .ok_or_else(|| Status::unauthenticated("the caller token is invalid or expired"))?;
        let granted = self
            .keys
            .get(&caller.name)
            .is_some_and(|(_, g)| g.allows(rpc));
        if !granted {
            metrics::counter!("usvc_grpc_calls_refused_total", "caller" => caller.name.clone())
                .increment(1);
            tracing::warn!(caller = %caller.name, rpc, "a gRPC caller called an RPC it is not granted");
            return Err(Status::permission_denied(format!(
                "caller {} is not granted {rpc} (USVC_GRPC_GRANTS)",
                caller.name
            )));
        }
        Ok(caller)
    }
}

/// Authenticates and authorizes every `usvc.v1` call before any handler runs, and puts its
/// [`Caller`] in the request's extensions; health and reflection pass.
pub async fn admit(
    State(keys): State<Arc<CallerKeys>>,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    let Some(rpc) = request.uri().path().strip_prefix("/usvc.v1.") else {
        return next.run(request).await;
    };
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match keys.admit(rpc, authorization, now) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(status) => status.into_http(),
    }
}

/// A caller token for `name`, signed with its PKCS#8 PEM key and valid for `ttl_secs`: what a
/// calling service sends (and what `usvc callers token` prints for grpcurl).
pub fn mint(name: &str, key_pem: &str, ttl_secs: i64, now: i64) -> anyhow::Result<String> {
    anyhow::ensure!(
        (1..=MAX_LIFETIME_SECS).contains(&ttl_secs),
        "a caller token lives 1 to {MAX_LIFETIME_SECS} seconds"
    );
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let der = ed25519_dalek::SigningKey::from_pkcs8_pem(key_pem)?.to_pkcs8_der()?;
    let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
    header.kid = Some(name.to_owned());
    let claims = serde_json::json!({
        "iss": name, "aud": AUDIENCE, "iat": now, "exp": now + ttl_secs,
    });
    Ok(jsonwebtoken::encode(&header, &claims, &key)?)
}

/// The `USVC_GRPC_CALLERS` value naming the public half of a PKCS#8 PEM key.
pub use usvc_core::runtime::keys::public_key;

/// `name=<base64url Ed25519 public key>` pairs, comma-separated.
pub fn parse_callers(value: &str) -> anyhow::Result<BTreeMap<String, [u8; 32]>> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut callers = BTreeMap::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, key) = entry
            .split_once('=')
            .context("expected `name=<base64url public key>`")?;
        let name = name.trim();
        anyhow::ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "caller name {name:?}: use lower-case letters, digits and `-`"
        );
        let key = URL_SAFE_NO_PAD
            .decode(key.trim().trim_end_matches('='))
            .with_context(|| format!("caller {name}: the key is not base64url"))?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| anyhow::anyhow!("caller {name}: an Ed25519 public key is 32 bytes"))?;
        callers.insert(name.to_owned(), key);
    }
    Ok(callers)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn a_minted_token_verifies_for_its_caller_only() {
        let pem = usvc_core::auth::tokens::generate_pem().unwrap();
        let public = public_key(&pem).unwrap();
        let callers = parse_callers(&format!("ledger={public}")).unwrap();
        let keys = CallerKeys::new(&callers, &BTreeMap::new());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = mint("ledger", &pem, 60, now).unwrap();
        assert_eq!(
            keys.verify(&token, now).map(|c| c.name),
            Some("ledger".to_owned())
        );
        assert_eq!(
            keys.verify(&mint("gateway", &pem, 60, now).unwrap(), now),
            None
        );
        assert_eq!(
            keys.verify(&mint("ledger", &pem, 60, now - 600).unwrap(), now),
            None
        );
        let next_year = now + 365 * 86_400;
        assert_eq!(
            keys.verify(&mint("ledger", &pem, 60, next_year).unwrap(), now),
            None
        );
        assert!(mint("ledger", &pem, 7200, now).is_err());
    }

    #[test]
    fn grants_name_every_rpc_of_the_api_and_nothing_else() {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(usvc_proto::FILE_DESCRIPTOR_SET).unwrap();
        let served: BTreeSet<String> = set
            .file
            .iter()
            .filter(|f| f.package() == "usvc.v1")
            .flat_map(|f| &f.service)
            .flat_map(|s| {
                s.method
                    .iter()
                    .map(move |m| format!("{}/{}", s.name(), m.name()))
            })
            .collect();
        let granted: BTreeSet<String> = RPCS.iter().map(|r| r.to_string()).collect();
        assert_eq!(served, granted);

        let grants = Grants::parse("AuthService/*, UserService/ListUsers, personal-data").unwrap();
        assert!(grants.allows("AuthService/RevokeSession"));
        assert!(grants.allows("UserService/ListUsers"));
        assert!(!grants.allows("UserService/GetUser"));
        assert!(grants.personal_data);
        assert!(Grants::parse("UserService/ListUser").is_err());
        assert!(Grants::parse("Users/*").is_err());
        let default = Grants::acting_for_customers();
        assert!(default.allows("ProfileService/UpdateProfile"));
        assert!(!default.allows("UserService/ListUsers"));
        assert!(!default.allows("UserService/GetUserByEmail"));
        assert!(!default.personal_data);
    }
}
