//! A document declaration as the host handles it. What a customer may declare (kinds, file
//! types, numbers, issuing countries) is the onboarding policy's to decide
//! (`changes.check-document`); the host checks only what it enforces itself on the upload (a
//! size it will store, a SHA-256 it can verify) and reads the policy's answer into the kinds and
//! media types it knows how to keep and inspect.

use super::sniff::{JPEG, PDF, PNG};
use crate::runtime::onboarding::{DocumentDeclaration, Violation};

/// The kinds of identity document usvc keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Passport,
    IdCard,
    ProofOfAddress,
    Selfie,
}

impl Kind {
    pub const ALL: [Self; 4] = [
        Self::Passport,
        Self::IdCard,
        Self::ProofOfAddress,
        Self::Selfie,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::IdCard => "id_card",
            Self::ProofOfAddress => "proof_of_address",
            Self::Selfie => "selfie",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Identity documents carry a printed number and an issuing country.
    pub fn is_identity(self) -> bool {
        matches!(self, Self::Passport | Self::IdCard)
    }
}

/// A declaration as the client sent it; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declaration {
    pub kind: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub number: Option<String>,
    pub issuing_country: Option<String>,
}

/// A declaration the policy accepted, with the facts the host enforces, in the host's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub kind: Kind,
    pub content_type: &'static str,
    pub size_bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
    /// Upper-case letters and digits; identity documents only.
    pub number: Option<String>,
    pub issuing_country: Option<String>,
}

impl Declaration {
    /// The fields the onboarding policy judges.
    pub fn for_policy(&self) -> DocumentDeclaration {
        DocumentDeclaration {
            kind: self.kind.clone(),
            content_type: self.content_type.clone(),
            number: self.number.clone(),
            issuing_country: self.issuing_country.clone(),
        }
    }
}

/// The size and digest of a declaration, as the host will enforce them on the upload: a size of
/// 1 to `max_bytes` bytes, and a SHA-256 in hex (lower-cased).
pub fn file_facts(raw: &Declaration, max_bytes: u64) -> Result<(u64, String), Vec<Violation>> {
    let mut violations = Vec::new();
    let mut add = |field: &str, problem: &str, message: String| {
        violations.push(Violation::new(
            field,
            &format!("{field}.{problem}"),
            message,
        ));
    };
    let size = match raw.size_bytes {
        None => {
            add(
                "size_bytes",
                "missing",
                "Give the file's size in bytes.".into(),
            );
            None
        }
        Some(size) if size >= 1 && size as u64 <= max_bytes => Some(size as u64),
        Some(_) => {
            add(
                "size_bytes",
                "out_of_range",
                format!("A document is 1 to {max_bytes} bytes."),
            );
            None
        }
    };
    let sha256 = match raw.sha256.as_deref().map(str::trim) {
        None => {
            add(
                "sha256",
                "missing",
                "Give the file's SHA-256 in hex.".into(),
            );
            None
        }
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(hex.to_ascii_lowercase())
        }
        Some(_) => {
            add(
                "sha256",
                "invalid",
                "A SHA-256 is 64 hexadecimal digits.".into(),
            );
            None
        }
    };
    match (size, sha256) {
        (Some(size), Some(sha256)) if violations.is_empty() => Ok((size, sha256)),
        _ => Err(violations),
    }
}

/// The policy's accepted declaration with the file's facts. A kind the host does not keep, or a
/// media type whose magic bytes it cannot inspect, is refused even when the policy accepts it.
pub fn declared(
    accepted: DocumentDeclaration,
    (size_bytes, sha256): (u64, String),
) -> Result<Declared, Vec<Violation>> {
    let kind = accepted.kind.as_deref().and_then(Kind::parse);
    let content_type = accepted
        .content_type
        .as_deref()
        .and_then(|text| [JPEG, PNG, PDF].into_iter().find(|t| *t == text));
    let mut violations = Vec::new();
    if kind.is_none() {
        violations.push(Violation::new(
            "kind",
            "kind.unknown",
            "Use passport, id_card, proof_of_address or selfie.",
        ));
    }
    if content_type.is_none() {
        violations.push(Violation::new(
            "content_type",
            "content_type.unsupported",
            "Upload image/jpeg, image/png or application/pdf.",
        ));
    }
    match (kind, content_type) {
        (Some(kind), Some(content_type)) => Ok(Declared {
            kind,
            content_type,
            size_bytes,
            sha256,
            number: accepted.number,
            issuing_country: accepted.issuing_country,
        }),
        _ => Err(violations),
    }
}

/// Masks a document number for display: all but its last four characters.
pub fn mask(number: &str) -> String {
    let count = number.chars().count();
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < count { '•' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passport() -> Declaration {
        Declaration {
            kind: Some("passport".into()),
            content_type: Some("image/jpeg".into()),
            size_bytes: Some(1000),
            sha256: Some("AB".repeat(32)),
            number: Some("X1234567".into()),
            issuing_country: Some("GB".into()),
        }
    }

    fn codes(raw: Declaration) -> Vec<String> {
        file_facts(&raw, 10 << 20)
            .unwrap_err()
            .into_iter()
            .map(|v| v.code)
            .collect()
    }

    #[test]
    fn the_digest_is_lower_cased() {
        assert_eq!(
            file_facts(&passport(), 10 << 20).unwrap(),
            (1000, "ab".repeat(32))
        );
    }

    #[test]
    fn the_size_and_digest_are_the_hosts_to_check() {
        let missing = Declaration {
            size_bytes: None,
            sha256: None,
            ..passport()
        };
        assert_eq!(codes(missing), ["size_bytes.missing", "sha256.missing"]);
        for size in [0, (10 << 20) + 1] {
            let raw = Declaration {
                size_bytes: Some(size),
                ..passport()
            };
            assert_eq!(codes(raw), ["size_bytes.out_of_range"]);
        }
        for digest in ["ab".repeat(31), "zz".repeat(32)] {
            let raw = Declaration {
                sha256: Some(digest),
                ..passport()
            };
            assert_eq!(codes(raw), ["sha256.invalid"]);
        }
    }

    #[test]
    fn a_kind_or_type_the_host_cannot_keep_is_refused_even_when_the_policy_accepts_it() {
        let facts = (1000, "ab".repeat(32));
        let accepted = |kind: &str, content_type: &str| DocumentDeclaration {
            kind: Some(kind.into()),
            content_type: Some(content_type.into()),
            number: None,
            issuing_country: None,
        };
        let codes = |answer| -> Vec<String> {
            declared(answer, facts.clone())
                .unwrap_err()
                .into_iter()
                .map(|v| v.code)
                .collect()
        };
        assert_eq!(codes(accepted("visa", "image/png")), ["kind.unknown"]);
        assert_eq!(
            codes(accepted("passport", "image/gif")),
            ["content_type.unsupported"]
        );
        let kept = declared(accepted("selfie", "image/png"), facts.clone()).unwrap();
        assert_eq!((kept.kind, kept.content_type), (Kind::Selfie, "image/png"));
    }

    #[test]
    fn a_number_shows_only_its_last_four_characters() {
        assert_eq!(mask("X1234567"), "••••4567");
        assert_eq!(mask("1234"), "1234");
    }
}
