//! The applicant's legal name, as on their identity document, which KYC will compare it with.
//!
//! Names come in every script and shape, so the rule does not judge letters, spaces or
//! punctuation; it refuses only what cannot be a name on a document: nothing at all, an
//! unreasonable length, and invisible characters that would corrupt statements, letters and
//! exports (control characters, and bidirectional overrides that can make a name display as
//! something else).

use super::Violations;

const FIELD: &str = "legal_name";

/// Comfortably above the longest names on passports, which allow far fewer characters.
pub const MAX_LENGTH: usize = 200;

pub fn check(raw: &str, violations: &mut Violations) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() {
        violations.add(FIELD, "legal_name.missing", "Enter your full legal name.");
        return None;
    }
    let mut valid = true;
    if name.chars().count() > MAX_LENGTH {
        violations.add(
            FIELD,
            "legal_name.too_long",
            format!("Use at most {MAX_LENGTH} characters for your name."),
        );
        valid = false;
    }
    if name.chars().any(is_hidden_control) {
        violations.add(
            FIELD,
            "legal_name.invalid",
            "Your name contains characters that cannot be printed.",
        );
        valid = false;
    }
    valid.then(|| name.to_owned())
}

pub(crate) fn is_hidden_control(c: char) -> bool {
    // U+202A..U+202E are the bidirectional embeddings and overrides, U+2066..U+2069 the isolates.
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(raw: &str) -> (Option<String>, Vec<String>) {
        let mut violations = Violations::default();
        let name = check(raw, &mut violations);
        (
            name,
            violations.into_vec().into_iter().map(|v| v.code).collect(),
        )
    }

    #[test]
    fn names_in_any_script_are_accepted_trimmed() {
        for name in [
            "Ada King",
            "Zoë O'Brien-Łukasiewicz",
            "李小龍",
            "José María de la Cruz",
            "X",
        ] {
            assert_eq!(
                outcome(&format!("  {name}\n")),
                (Some(name.to_owned()), vec![])
            );
        }
    }

    #[test]
    fn a_blank_name_is_missing() {
        assert_eq!(outcome("").1, ["legal_name.missing"]);
        assert_eq!(outcome(" \t ").1, ["legal_name.missing"]);
    }

    #[test]
    fn names_longer_than_200_characters_are_refused() {
        assert_eq!(outcome(&"é".repeat(200)).1, Vec::<String>::new());
        assert_eq!(outcome(&"é".repeat(201)).1, ["legal_name.too_long"]);
    }

    #[test]
    fn control_characters_and_direction_overrides_are_invalid() {
        for name in [
            "Ada\nKing",
            "Ada\u{0}King",
            "Ada\tKing",
            "Ada\u{7f}",
            "Ada \u{202E}gniK",
        ] {
            assert_eq!(outcome(name).1, ["legal_name.invalid"], "{name:?}");
        }
    }
}
