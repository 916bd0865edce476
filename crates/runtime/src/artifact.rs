//! Signed component artifacts, the unit a compliance team ships: a component, its manifest
//! (kind, semantic version, description, author, the world it implements, the component's
//! SHA-256) and an Ed25519 signature over the manifest by a named signer. Opening an artifact
//! checks everything that needs no runtime: size, form, version, world, digest and signature.
//! Compiling it against its kind's world is the registry's job.

use std::collections::BTreeMap;

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ComponentKind;

/// What the signature covers: this prefix, then the manifest as JSON.
const SIGNED_PREFIX: &[u8] = b"usvc-artifact-v1\n";
/// The WIT package every world lives in.
const WIT_PACKAGE: &str = "usvc:host";

/// What the policy author states about a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The component kind, e.g. `mfa`.
    pub kind: String,
    /// Semantic version, e.g. `1.4.0`.
    pub version: String,
    pub description: String,
    pub author: String,
    /// The world it implements, `usvc:host/<kind>`.
    pub world: String,
    /// Lowercase hex SHA-256 of the component's bytes.
    pub component_sha256: String,
}

/// A signed artifact as it travels (a JSON file, conventionally `*.usvc.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub manifest: Manifest,
    /// The name of the key that signed, as the host's trusted signers list it.
    pub signer: String,
    /// Base64url Ed25519 signature over [`SIGNED_PREFIX`] and the manifest's JSON.
    pub signature: String,
    /// The component, base64.
    pub component: String,
}

/// Why an artifact is refused. Each has a stable code an operator and a test can rely on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the artifact is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the artifact is not a signed usvc artifact: {0}")]
    Malformed(String),
    #[error("no component kind is called {0:?}")]
    UnknownKind(String),
    #[error("the artifact is for kind {found}, not {expected}")]
    WrongKind { expected: String, found: String },
    #[error("{0:?} is not a semantic version (like 1.4.0)")]
    BadVersion(String),
    #[error("the manifest names world {found:?}; kind {kind} implements {expected:?}")]
    WorldMismatch {
        kind: String,
        expected: String,
        found: String,
    },
    #[error("the component's SHA-256 is not the one the manifest names")]
    DigestMismatch,
    #[error("the component is not signed, and this host accepts signed artifacts only")]
    Unsigned,
    #[error("signer {0:?} is not trusted by this host")]
    UnknownSigner(String),
    #[error("the signature does not verify against signer {0:?}'s key")]
    BadSignature(String),
}

impl Rejection {
    /// The stable code of the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "artifact.too_large",
            Self::Malformed(_) => "artifact.malformed",
            Self::UnknownKind(_) => "artifact.unknown_kind",
            Self::WrongKind { .. } => "artifact.wrong_kind",
            Self::BadVersion(_) => "artifact.bad_version",
            Self::WorldMismatch { .. } => "artifact.world_mismatch",
            Self::DigestMismatch => "artifact.digest_mismatch",
            Self::Unsigned => "artifact.unsigned",
            Self::UnknownSigner(_) => "artifact.unknown_signer",
            Self::BadSignature(_) => "artifact.bad_signature",
        }
    }
}

/// The public keys this host trusts to sign components, by signer name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signers(BTreeMap<String, [u8; 32]>);

impl Signers {
    /// `name=<base64url public key>` pairs separated by commas (`USVC_COMPONENT_SIGNERS`).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys = BTreeMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, key) = entry
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("{entry:?} is not name=<base64url key>"))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(key.trim())
                .map_err(|_| anyhow::anyhow!("signer {name:?}: the key is not base64url"))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("signer {name:?}: an Ed25519 key is 32 bytes"))?;
            VerifyingKey::from_bytes(&key)
                .map_err(|_| anyhow::anyhow!("signer {name:?}: not an Ed25519 public key"))?;
            keys.insert(name.trim().to_owned(), key);
        }
        Ok(Self(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn key(&self, name: &str) -> Option<VerifyingKey> {
        self.0
            .get(name)
            .and_then(|k| VerifyingKey::from_bytes(k).ok())
    }
}

/// What an opened artifact holds, every check passed.
#[derive(Debug, Clone)]
pub struct Opened {
    pub kind: ComponentKind,
    pub component: Vec<u8>,
    /// `None` for a bare component accepted unsigned (development only).
    pub manifest: Option<Manifest>,
    pub signer: Option<String>,
}

/// How [`open`] treats what it is given.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub signers: &'a Signers,
    pub max_bytes: usize,
    /// Accept a bare `.wasm` component with no manifest or signature (development mode only).
    pub allow_unsigned: bool,
}

/// The world a kind's components implement.
pub fn world_of(kind: ComponentKind) -> String {
    format!("{WIT_PACKAGE}/{}", kind.name())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn signed_message(manifest: &Manifest) -> Vec<u8> {
    let mut message = SIGNED_PREFIX.to_vec();
    message.extend(serde_json::to_vec(manifest).expect("a manifest serialises"));
    message
}

/// What the author says; [`sign`] adds the world and the digest.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub kind: ComponentKind,
    pub version: &'a str,
    pub description: &'a str,
    pub author: &'a str,
}

/// Signs `component` as `signer` with a PKCS#8 PEM Ed25519 key.
pub fn sign(
    component: &[u8],
    draft: Draft<'_>,
    signer: &str,
    key_pem: &str,
) -> anyhow::Result<Artifact> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    semver::Version::parse(draft.version)
        .map_err(|_| Rejection::BadVersion(draft.version.to_owned()))?;
    let key = SigningKey::from_pkcs8_pem(key_pem)
        .map_err(|e| anyhow::anyhow!("not a PKCS#8 PEM Ed25519 key: {e}"))?;
    let manifest = Manifest {
        kind: draft.kind.name().to_owned(),
        version: draft.version.to_owned(),
        description: draft.description.to_owned(),
        author: draft.author.to_owned(),
        world: world_of(draft.kind),
        component_sha256: sha256_hex(component),
    };
    let signature = key.sign(&signed_message(&manifest));
    Ok(Artifact {
        manifest,
        signer: signer.to_owned(),
        signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        component: STANDARD.encode(component),
    })
}

/// Checks an uploaded or dropped artifact for `expected` kind (any kind when `None`): size,
/// form, kind, version, world, digest, then the signature against the trusted signers. A bare
/// Wasm component passes only when the policy allows unsigned components.
pub fn open(
    bytes: &[u8],
    expected: Option<ComponentKind>,
    policy: &Policy<'_>,
) -> Result<Opened, Rejection> {
    if bytes.len() > policy.max_bytes {
        return Err(Rejection::TooLarge {
            size: bytes.len(),
            limit: policy.max_bytes,
        });
    }
    if bytes.starts_with(b"\0asm") {
        if !policy.allow_unsigned {
            return Err(Rejection::Unsigned);
        }
        let kind = expected.ok_or_else(|| {
            Rejection::Malformed("a bare component does not say its kind".to_owned())
        })?;
        return Ok(Opened {
            kind,
            component: bytes.to_vec(),
            manifest: None,
            signer: None,
        });
    }
    let artifact: Artifact =
        serde_json::from_slice(bytes).map_err(|e| Rejection::Malformed(e.to_string()))?;
    let manifest = &artifact.manifest;
    let kind = ComponentKind::from_name(&manifest.kind)
        .ok_or_else(|| Rejection::UnknownKind(manifest.kind.clone()))?;
    if let Some(expected) = expected.filter(|e| *e != kind) {
        return Err(Rejection::WrongKind {
            expected: expected.name().to_owned(),
            found: kind.name().to_owned(),
        });
    }
    if semver::Version::parse(&manifest.version).is_err() {
        return Err(Rejection::BadVersion(manifest.version.clone()));
    }
    if manifest.world != world_of(kind) {
        return Err(Rejection::WorldMismatch {
            kind: kind.name().to_owned(),
            expected: world_of(kind),
            found: manifest.world.clone(),
        });
    }
    let component = STANDARD
        .decode(&artifact.component)
        .map_err(|_| Rejection::Malformed("the component is not base64".to_owned()))?;
    if sha256_hex(&component) != manifest.component_sha256.to_ascii_lowercase() {
        return Err(Rejection::DigestMismatch);
    }
    let key = policy
        .signers
        .key(&artifact.signer)
        .ok_or_else(|| Rejection::UnknownSigner(artifact.signer.clone()))?;
    let signature = URL_SAFE_NO_PAD
        .decode(&artifact.signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| Rejection::BadSignature(artifact.signer.clone()))?;
    key.verify(&signed_message(manifest), &signature)
        .map_err(|_| Rejection::BadSignature(artifact.signer.clone()))?;
    Ok(Opened {
        kind,
        component,
        manifest: Some(artifact.manifest),
        signer: Some(artifact.signer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0 pretend component";

    use crate::keys::{generate_pem, public_key};

    fn key() -> (String, Signers) {
        let pem = generate_pem().unwrap();
        let public = public_key(&pem).unwrap();
        let signers = Signers::parse(&format!("compliance={public}")).unwrap();
        (pem, signers)
    }

    fn draft() -> Draft<'static> {
        Draft {
            kind: ComponentKind::Mfa,
            version: "1.2.0",
            description: "never ask on a known device",
            author: "security team",
        }
    }

    fn policy(signers: &Signers) -> Policy<'_> {
        Policy {
            signers,
            max_bytes: 1 << 20,
            allow_unsigned: false,
        }
    }

    fn bytes(artifact: &Artifact) -> Vec<u8> {
        serde_json::to_vec(artifact).unwrap()
    }

    #[test]
    fn a_signed_artifact_opens_with_its_manifest() {
        let (pem, signers) = key();
        let artifact = sign(COMPONENT, draft(), "compliance", &pem).unwrap();
        assert_eq!(artifact.manifest.world, "usvc:host/mfa");
        let opened = open(
            &bytes(&artifact),
            Some(ComponentKind::Mfa),
            &policy(&signers),
        )
        .unwrap();
        assert_eq!(opened.kind, ComponentKind::Mfa);
        assert_eq!(opened.component, COMPONENT);
        assert_eq!(opened.signer.as_deref(), Some("compliance"));
        assert_eq!(opened.manifest.unwrap().version, "1.2.0");
    }

    #[test]
    fn every_tampering_is_refused_with_its_reason() {
        let (pem, signers) = key();
        let good = sign(COMPONENT, draft(), "compliance", &pem).unwrap();
        let refused = |artifact: Artifact| {
            open(&bytes(&artifact), None, &policy(&signers))
                .unwrap_err()
                .code()
        };

        let mut other_component = good.clone();
        other_component.component = STANDARD.encode(b"\0asm another component");
        assert_eq!(refused(other_component), "artifact.digest_mismatch");

        let mut newer = good.clone();
        newer.manifest.version = "1.3.0".to_owned();
        assert_eq!(refused(newer), "artifact.bad_signature");

        let mut swapped = good.clone();
        swapped.manifest.component_sha256 = sha256_hex(b"\0asm another component");
        swapped.component = STANDARD.encode(b"\0asm another component");
        assert_eq!(refused(swapped), "artifact.bad_signature");

        let mut stranger = good.clone();
        stranger.signer = "someone".to_owned();
        assert_eq!(refused(stranger), "artifact.unknown_signer");

        let mut garbled = good.clone();
        garbled.signature = "not-a-signature".to_owned();
        assert_eq!(refused(garbled), "artifact.bad_signature");

        let mut world = good.clone();
        world.manifest.world = "usvc:host/onboarding".to_owned();
        assert_eq!(refused(world), "artifact.world_mismatch");

        let mut kind = good.clone();
        kind.manifest.kind = "payments".to_owned();
        assert_eq!(refused(kind), "artifact.unknown_kind");

        let mut version = good.clone();
        version.manifest.version = "latest".to_owned();
        assert_eq!(refused(version), "artifact.bad_version");
    }

    #[test]
    fn another_key_under_a_trusted_name_does_not_verify() {
        let (_, signers) = key();
        let (other_pem, _) = key();
        let forged = sign(COMPONENT, draft(), "compliance", &other_pem).unwrap();
        assert_eq!(
            open(&bytes(&forged), None, &policy(&signers))
                .unwrap_err()
                .code(),
            "artifact.bad_signature"
        );
    }

    #[test]
    fn size_kind_and_form_are_checked_first() {
        let (pem, signers) = key();
        let artifact = bytes(&sign(COMPONENT, draft(), "compliance", &pem).unwrap());
        let small = Policy {
            max_bytes: 100,
            ..policy(&signers)
        };
        assert_eq!(
            open(&artifact, None, &small).unwrap_err().code(),
            "artifact.too_large"
        );
        assert_eq!(
            open(
                &artifact,
                Some(ComponentKind::Onboarding),
                &policy(&signers)
            )
            .unwrap_err()
            .code(),
            "artifact.wrong_kind"
        );
        assert_eq!(
            open(b"{\"manifest\": 1}", None, &policy(&signers))
                .unwrap_err()
                .code(),
            "artifact.malformed"
        );
    }

    #[test]
    fn a_bare_component_is_accepted_only_when_unsigned_ones_are_allowed() {
        let signers = Signers::default();
        assert_eq!(
            open(COMPONENT, Some(ComponentKind::Mfa), &policy(&signers))
                .unwrap_err()
                .code(),
            "artifact.unsigned"
        );
        let development = Policy {
            allow_unsigned: true,
            ..policy(&signers)
        };
        let opened = open(COMPONENT, Some(ComponentKind::Mfa), &development).unwrap();
        assert!(opened.manifest.is_none() && opened.signer.is_none());
    }

    #[test]
    fn signers_are_parsed_strictly() {
        let (pem, _) = key();
        let public = public_key(&pem).unwrap();
        let signers = Signers::parse(&format!(" a={public}, b={public} ,")).unwrap();
        assert!(signers.key("a").is_some() && signers.key("b").is_some());
        assert!(Signers::parse("a").is_err());
        assert!(Signers::parse("a=!!!").is_err());
        assert!(Signers::parse("a=AAAA").is_err());
        assert!(Signers::parse("").unwrap().is_empty());
    }
}
