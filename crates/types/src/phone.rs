//! A phone number in E.164, the only form every SMS and voice provider the bank might use
//! accepts unambiguously.

use std::fmt;

use crate::FormatError;

/// E.164 allows at most 15 digits after the `+`; fewer than 7 is no real subscriber number.
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 15;

const INVALID: FormatError =
    FormatError::invalid("Give the number in international format (E.164), such as +447700900123.");

/// `+`, a country code that cannot start with 0, and 7 to 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Trims `raw` and drops the spaces, hyphens and parentheses people type between digits
    /// (`+44 7700 900123`, `+1 (415) 555-0100`); anything else must be the number itself.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or(INVALID)?;
        let ok = (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok { Ok(Self(compact)) } else { Err(INVALID) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compacted_to_e164() {
        let parse = |raw: &str| PhoneE164::parse(raw).unwrap().into_string();
        assert_eq!(parse(" +447700900123 "), "+447700900123");
        assert_eq!(parse(" +44 7700 900123 "), "+447700900123");
        assert_eq!(parse("+44-7700-900123"), "+447700900123");
        assert_eq!(parse("+1 (415) 555-0100"), "+14155550100");
        assert_eq!(parse("+1234567"), "+1234567");
        assert_eq!(parse("+123456789012345"), "+123456789012345");
    }

    #[test]
    fn anything_else_is_invalid() {
        for bad in [
            "",
            "+",
            "+1",
            "+12",
            "+44",
            "+123456",
            "447700900123",
            "07700900123",
            "+0447700900123",
            "+1234567890123456",
            "+44 7700 9001x3",
            "+44770090012a",
            "++447700900123",
            "+４４７７００９００１２３",
        ] {
            assert_eq!(PhoneE164::parse(bad), Err(INVALID), "{bad:?}");
        }
    }
}
