//! What a customer may declare before uploading a document. Each rule names its field and a
//! stable code (`<field>.<problem>`), as the profile rules do.

use super::sniff::{JPEG, PDF, PNG};
use crate::runtime::onboarding::Violation;

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

    /// The content types accepted for this kind: a selfie is a photo, never a PDF.
    fn accepts(self, content_type: &str) -> bool {
        match self {
            Self::Selfie => [JPEG, PNG].contains(&content_type),
            _ => [JPEG, PNG, PDF].contains(&content_type),
        }
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

/// A declaration that keeps every rule, normalised.
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

/// Passport and identity card numbers: letters and digits, within these lengths.
const NUMBER_CHARS: std::ops::RangeInclusive<usize> = 4..=20;

#[derive(Default)]
struct Violations(Vec<Violation>);

impl Violations {
    fn add(&mut self, field: &str, problem: &str, message: &str) {
        self.0.push(Violation {
            code: format!("{field}.{problem}"),
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// Checks a declaration against the rules and a size limit of `max_bytes`.
pub fn check(raw: Declaration, max_bytes: u64) -> Result<Declared, Vec<Violation>> {
    let mut v = Violations::default();
    let kind = match raw.kind.as_deref() {
        None => {
            v.add("kind", "missing", "Say which kind of document this is.");
            None
        }
        Some(text) => Kind::parse(text).or_else(|| {
            v.add(
                "kind",
                "unknown",
                "Use passport, id_card, proof_of_address or selfie.",
            );
            None
        }),
    };
    let content_type = match raw.content_type.as_deref() {
        None => {
            v.add("content_type", "missing", "Give the file's content type.");
            None
        }
        Some(text) => {
            let known = [JPEG, PNG, PDF].into_iter().find(|t| *t == text);
            match known {
                Some(t) if kind.is_none_or(|k| k.accepts(t)) => Some(t),
                _ => {
                    v.add(
                        "content_type",
                        "unsupported",
                        "Upload image/jpeg, image/png or application/pdf (a selfie is a JPEG or PNG).",
                    );
                    None
                }
            }
        }
    };
    let size_bytes = match raw.size_bytes {
        None => {
            v.add("size_bytes", "missing", "Give the file's size in bytes.");
            None
        }
        Some(size) if size >= 1 && size as u64 <= max_bytes => Some(size as u64),
        Some(_) => {
            v.add(
                "size_bytes",
                "out_of_range",
                &format!("A document is 1 to {max_bytes} bytes."),
            );
            None
        }
    };
    let sha256 = match raw.sha256.as_deref().map(str::trim) {
        None => {
            v.add("sha256", "missing", "Give the file's SHA-256 in hex.");
            None
        }
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(hex.to_ascii_lowercase())
        }
        Some(_) => {
            v.add("sha256", "invalid", "A SHA-256 is 64 hexadecimal digits.");
            None
        }
    };
    let identity = kind.map(Kind::is_identity);
    let number = match (identity, raw.number.as_deref().map(str::trim)) {
        (Some(true), None) => {
            v.add(
                "number",
                "missing",
                "Give the number printed on the document.",
            );
            None
        }
        (Some(true), Some(number)) => {
            if NUMBER_CHARS.contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                Some(number.to_ascii_uppercase())
            } else {
                v.add(
                    "number",
                    "invalid",
                    "A document number is 4 to 20 letters and digits.",
                );
                None
            }
        }
        (Some(false), Some(_)) => {
            v.add(
                "number",
                "not_allowed",
                "Only a passport or an identity card has a number.",
            );
            None
        }
        _ => None,
    };
    let issuing_country = match (identity, raw.issuing_country.as_deref().map(str::trim)) {
        (Some(true), None) => {
            v.add(
                "issuing_country",
                "missing",
                "Give the country that issued the document.",
            );
            None
        }
        (Some(true), Some(code)) => {
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(code.to_owned())
            } else {
                v.add(
                    "issuing_country",
                    "invalid",
                    "Give an ISO 3166-1 alpha-2 country code in capitals, such as GB.",
                );
                None
            }
        }
        (Some(false), Some(_)) => {
            v.add(
                "issuing_country",
                "not_allowed",
                "Only a passport or an identity card has an issuing country.",
            );
            None
        }
        _ => None,
    };
    match (kind, content_type, size_bytes, sha256) {
        (Some(kind), Some(content_type), Some(size_bytes), Some(sha256)) if v.0.is_empty() => {
            Ok(Declared {
                kind,
                content_type,
                size_bytes,
                sha256,
                number,
                issuing_country,
            })
        }
        _ => Err(v.0),
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
            number: Some(" x1234567 ".into()),
            issuing_country: Some("GB".into()),
        }
    }

    fn codes(raw: Declaration) -> Vec<String> {
        check(raw, 10 << 20)
            .unwrap_err()
            .into_iter()
            .map(|v| v.code)
            .collect()
    }

    #[test]
    fn a_passport_is_normalised() {
        let declared = check(passport(), 10 << 20).unwrap();
        assert_eq!(declared.kind, Kind::Passport);
        assert_eq!(declared.sha256, "ab".repeat(32));
        assert_eq!(declared.number.as_deref(), Some("X1234567"));
        assert_eq!(declared.issuing_country.as_deref(), Some("GB"));
    }

    #[test]
    fn every_missing_field_is_named() {
        assert_eq!(
            codes(Declaration::default()),
            [
                "kind.missing",
                "content_type.missing",
                "size_bytes.missing",
                "sha256.missing"
            ]
        );
        let bare = Declaration {
            number: None,
            issuing_country: None,
            ..passport()
        };
        assert_eq!(codes(bare), ["number.missing", "issuing_country.missing"]);
    }

    #[test]
    fn every_rule_has_its_code() {
        let cases = [
            (
                Declaration {
                    kind: Some("visa".into()),
                    ..passport()
                },
                "kind.unknown",
            ),
            (
                Declaration {
                    content_type: Some("image/gif".into()),
                    ..passport()
                },
                "content_type.unsupported",
            ),
            (
                Declaration {
                    size_bytes: Some(0),
                    ..passport()
                },
                "size_bytes.out_of_range",
            ),
            (
                Declaration {
                    size_bytes: Some((10 << 20) + 1),
                    ..passport()
                },
                "size_bytes.out_of_range",
            ),
            (
                Declaration {
                    sha256: Some("ab".repeat(31)),
                    ..passport()
                },
                "sha256.invalid",
            ),
            (
                Declaration {
                    sha256: Some("zz".repeat(32)),
                    ..passport()
                },
                "sha256.invalid",
            ),
            (
                Declaration {
                    number: Some("12-34".into()),
                    ..passport()
                },
                "number.invalid",
            ),
            (
                Declaration {
                    number: Some("123".into()),
                    ..passport()
                },
                "number.invalid",
            ),
            (
                Declaration {
                    issuing_country: Some("gb".into()),
                    ..passport()
                },
                "issuing_country.invalid",
            ),
        ];
        for (raw, code) in cases {
            assert_eq!(codes(raw.clone()), [code], "{raw:?}");
        }
        let selfie = Declaration {
            kind: Some("selfie".into()),
            content_type: Some("application/pdf".into()),
            ..passport()
        };
        assert_eq!(
            codes(selfie),
            [
                "content_type.unsupported",
                "number.not_allowed",
                "issuing_country.not_allowed"
            ]
        );
    }

    #[test]
    fn a_number_shows_only_its_last_four_characters() {
        assert_eq!(mask("X1234567"), "••••4567");
        assert_eq!(mask("1234"), "1234");
    }
}
