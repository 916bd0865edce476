//! An email address: the customer's login and the channel the bank writes to.
//!
//! The syntax accepted is a pragmatic subset of RFC 5321/5322 (no quoted local parts, no
//! comments, no IP literals, no internationalised addresses): what real mailbox providers hand
//! out and what every mail system downstream can deliver to.

use std::fmt;

use crate::FormatError;

/// RFC 5321's limits on a forward path (with its errata) and on a local part.
const MAX_CHARS: usize = 254;
const MAX_LOCAL_CHARS: usize = 64;

const INVALID: FormatError =
    FormatError::invalid("Give an email address such as name@example.com.");

/// A syntactically valid address, trimmed and lower-cased: mailbox providers treat local parts
/// case-insensitively in practice, so two spellings of one address must never be two customers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let address = raw.trim().to_lowercase();
        if address.len() > MAX_CHARS {
            return Err(INVALID);
        }
        let (local, domain) = address.split_once('@').ok_or(INVALID)?;
        if !(is_valid_local_part(local) && is_valid_domain(domain)) {
            return Err(INVALID);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// The local part without any `+tag` sub-address.
    pub fn mailbox_name(&self) -> &str {
        let local = self.0.rsplit_once('@').map_or("", |(local, _)| local);
        local.split('+').next().unwrap_or(local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    (1..=MAX_LOCAL_CHARS).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// Public DNS names only: a bare host name (`localhost`) is not a mailbox the bank can reach,
/// and a numeric top-level domain would make an IP address look like a host name.
pub(crate) fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(top_level) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|label| is_valid_label(label))
        && top_level.len() >= 2
        && top_level.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_valid_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_normalised() {
        for address in [
            "ada@example.com",
            "ada.lovelace+bank@mail.example.co.uk",
            "o'brien@example.ie",
            "x@a-b.io",
            "!#$%&'*+/=?^_`{|}~-@example.com",
        ] {
            assert!(Email::parse(address).is_ok(), "{address}");
        }
        assert_eq!(
            Email::parse("  Ada.King+bank@Example.CO.uk ")
                .unwrap()
                .as_str(),
            "ada.king+bank@example.co.uk"
        );
        assert_eq!(
            Email::parse("  Ada@Example.COM\t").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_addresses_are_invalid() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_address = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(60); 4].join(".")
        );
        for address in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "ada@bob@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "ada..lovelace@example.com",
            "ada lovelace@example.com",
            "ada king@example.com",
            "ada\"q\"@example.com",
            "ada@localhost",
            "ada@example",
            "ada@example.c",
            "ada@example.c0m",
            "ada@192.168.0.1",
            "ada@-example.com",
            "ada@example-.com",
            "ada@exa_mple.com",
            "ada@example..com",
            "ada@.example.com",
            "ada@example.com.",
            "ädä@example.com",
            "ada@exämple.com",
            long_local.as_str(),
            long_address.as_str(),
        ] {
            assert_eq!(Email::parse(address), Err(INVALID), "{address:?}");
        }
    }

    #[test]
    fn the_mailbox_name_drops_the_sub_address() {
        let name = |a: &str| Email::parse(a).unwrap().mailbox_name().to_owned();
        assert_eq!(name("ada+bank@example.com"), "ada");
        assert_eq!(name("ada@example.com"), "ada");
        assert_eq!(name("+bank@example.com"), "");
        assert_eq!(
            Email::parse("ada@eu.example.com").unwrap().domain(),
            "eu.example.com"
        );
    }
}
