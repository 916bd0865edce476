//! What a customer may declare before uploading an identity document: which kinds are accepted,
//! in which file types, and which carry a printed number and an issuing country. The host checks
//! the declared size and digest (mechanisms it enforces on the upload itself); the rest is here.
//!
//! Codes are `<field>.<problem>`, as the host's own checks name theirs.

use usvc_types::{Violation, Violations};

use crate::DocumentDeclaration;

const JPEG: &str = "image/jpeg";
const PNG: &str = "image/png";
const PDF: &str = "application/pdf";

/// Passport and identity card numbers: letters and digits, within these lengths.
const NUMBER_CHARS: std::ops::RangeInclusive<usize> = 4..=20;

/// The kinds of document accepted, and the file types each may come in: a selfie is a photo,
/// never a PDF.
const KINDS: [(&str, &[&str]); 4] = [
    ("passport", &[JPEG, PNG, PDF]),
    ("id_card", &[JPEG, PNG, PDF]),
    ("proof_of_address", &[JPEG, PNG, PDF]),
    ("selfie", &[JPEG, PNG]),
];

/// Identity documents carry a printed number and an issuing country.
fn is_identity(kind: &str) -> bool {
    matches!(kind, "passport" | "id_card")
}

/// The declaration with every present field normalised, or every rule it breaks.
pub fn check(raw: &DocumentDeclaration) -> Result<DocumentDeclaration, Vec<Violation>> {
    let mut v = Violations::default();
    let kind = match raw.kind.as_deref().map(str::trim) {
        None => {
            v.add(
                "kind",
                "kind.missing",
                "Say which kind of document this is.",
            );
            None
        }
        Some(text) => KINDS.iter().find(|(name, _)| *name == text).or_else(|| {
            v.add(
                "kind",
                "kind.unknown",
                "Use passport, id_card, proof_of_address or selfie.",
            );
            None
        }),
    };
    let content_type = match raw.content_type.as_deref().map(str::trim) {
        None => {
            v.add(
                "content_type",
                "content_type.missing",
                "Give the file's content type.",
            );
            None
        }
        Some(text) => {
            let known = [JPEG, PNG, PDF].into_iter().find(|t| *t == text);
            match known {
                Some(t) if kind.is_none_or(|(_, types)| types.contains(&t)) => Some(t),
                _ => {
                    v.add(
                        "content_type",
                        "content_type.unsupported",
                        "Upload image/jpeg, image/png or application/pdf (a selfie is a JPEG or PNG).",
                    );
                    None
                }
            }
        }
    };
    let identity = kind.map(|(name, _)| is_identity(name));
    let number = match (identity, raw.number.as_deref().map(str::trim)) {
        (Some(true), None) => {
            v.add(
                "number",
                "number.missing",
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
                    "number.invalid",
                    "A document number is 4 to 20 letters and digits.",
                );
                None
            }
        }
        (Some(false), Some(_)) => {
            v.add(
                "number",
                "number.not_allowed",
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
                "issuing_country.missing",
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
                    "issuing_country.invalid",
                    "Give an ISO 3166-1 alpha-2 country code in capitals, such as GB.",
                );
                None
            }
        }
        (Some(false), Some(_)) => {
            v.add(
                "issuing_country",
                "issuing_country.not_allowed",
                "Only a passport or an identity card has an issuing country.",
            );
            None
        }
        _ => None,
    };
    v.into_result(DocumentDeclaration {
        kind: kind.map(|(name, _)| (*name).to_owned()),
        content_type: content_type.map(str::to_owned),
        number,
        issuing_country,
    })
}
