//! A country, as ISO 3166-1 alpha-2.

use std::fmt;

use crate::FormatError;

const INVALID: FormatError =
    FormatError::invalid("Give an ISO 3166-1 alpha-2 country code, such as GB.");

/// Two ASCII letters in upper case. Shape only: whether a country is served, or a code still
/// assigned, is a policy's list to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Trims and upper-cases `raw`, and accepts it when it is two ASCII letters.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        match raw.trim().as_bytes() {
            &[first, second] if first.is_ascii_alphabetic() && second.is_ascii_alphabetic() => {
                Ok(Self([
                    first.to_ascii_uppercase(),
                    second.to_ascii_uppercase(),
                ]))
            }
            _ => Err(INVALID),
        }
    }

    pub fn as_str(&self) -> &str {
        // Two ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_letters_in_either_case_are_a_code() {
        for (raw, code) in [("GB", "GB"), (" gb", "GB"), ("De ", "DE")] {
            assert_eq!(CountryCode::parse(raw).unwrap().as_str(), code);
        }
        for bad in ["GBR", "G", "", "G1", "ÉU", "G B"] {
            assert_eq!(CountryCode::parse(bad), Err(INVALID), "{bad:?}");
        }
    }
}
