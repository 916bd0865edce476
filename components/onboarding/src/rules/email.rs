//! The applicant's email address: the customer's login and the only channel the bank writes to
//! before the account is open.
//!
//! The syntax accepted is a pragmatic subset of RFC 5321/5322 (no quoted local parts, no
//! comments, no IP literals, no internationalised addresses): what real mailbox providers hand
//! out and what every mail system downstream can deliver to. Throwaway-mail domains are refused
//! because an account must stay reachable for the years a bank relationship lasts.

use super::Violations;
use super::sorted_lines::SortedLines;

const FIELD: &str = "email";

/// Domains of well-known disposable-mail services; a subdomain of one is disposable too.
static DISPOSABLE_DOMAINS: SortedLines =
    SortedLines::new(include_str!("../../data/disposable-domains.txt"));

/// A syntactically valid, normalised (trimmed, lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Trims and lower-cases an address. Mailbox providers treat local parts case-insensitively in
/// practice, so two spellings of one address must never become two customers.
pub fn normalise(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The local part of an address without any `+tag` sub-address, when the address has one.
pub fn mailbox_name(address: &str) -> Option<&str> {
    let (local, _domain) = address.rsplit_once('@')?;
    Some(local.split('+').next().unwrap_or(local))
}

pub fn check(raw: &str, violations: &mut Violations) -> Option<Email> {
    let address = normalise(raw);
    let Some(domain) = syntactically_valid_domain(&address) else {
        violations.add(FIELD, "email.invalid", "Enter a valid email address.");
        return None;
    };
    if is_disposable(domain) {
        violations.add(
            FIELD,
            "email.disposable",
            "Disposable email addresses cannot be used; enter an address you will keep.",
        );
        return None;
    }
    Some(Email(address))
}

/// Returns the domain of `address` when the whole address is acceptable.
fn syntactically_valid_domain(address: &str) -> Option<&str> {
    // 254 is the longest address that fits in an SMTP forward path (RFC 5321 and its errata).
    if address.len() > 254 {
        return None;
    }
    let (local, domain) = address.split_once('@')?;
    (is_valid_local_part(local) && is_valid_domain(domain)).then_some(domain)
}

fn is_valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(top_level) = labels.last() else {
        return false;
    };
    // A bare host name ("localhost") is not a mailbox the bank can reach from the Internet, and
    // a numeric top-level domain would make an IP address look like a host name.
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

/// True when `domain` or any domain above it is a disposable-mail service.
fn is_disposable(domain: &str) -> bool {
    let mut candidate = domain;
    loop {
        if DISPOSABLE_DOMAINS.contains(candidate) {
            return true;
        }
        match candidate.split_once('.') {
            Some((_, parent)) => candidate = parent,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sorted_lines::assert_is_a_sorted_list;

    fn codes(raw: &str) -> Vec<String> {
        let mut violations = Violations::default();
        check(raw, &mut violations);
        violations.into_vec().into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn the_disposable_domain_list_is_sorted_lower_case_and_plausible() {
        assert_is_a_sorted_list(&DISPOSABLE_DOMAINS);
        for domain in DISPOSABLE_DOMAINS.lines() {
            assert!(is_valid_domain(domain), "{domain:?} is not a domain");
        }
        assert!(DISPOSABLE_DOMAINS.lines().count() >= 90);
    }

    #[test]
    fn ordinary_addresses_are_accepted_and_normalised() {
        for address in [
            "ada@example.com",
            "ada.lovelace+bank@mail.example.co.uk",
            "o'brien@example.ie",
            "x@a-b.io",
            "!#$%&'*+/=?^_`{|}~-@example.com",
        ] {
            assert_eq!(codes(address), Vec::<String>::new(), "{address}");
        }
        let mut violations = Violations::default();
        let email = check("  Ada@Example.COM\t", &mut violations).unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
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
            assert_eq!(codes(address), ["email.invalid"], "{address:?}");
        }
    }

    #[test]
    fn disposable_domains_and_their_subdomains_are_refused() {
        assert_eq!(codes("someone@mailinator.com"), ["email.disposable"]);
        assert_eq!(codes("someone@MAILINATOR.com"), ["email.disposable"]);
        assert_eq!(codes("someone@eu.mailinator.com"), ["email.disposable"]);
        assert_eq!(codes("someone@notmailinator.com"), Vec::<String>::new());
        assert_eq!(
            codes("someone@mailinator.com.example.org"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_mailbox_name_drops_the_sub_address() {
        assert_eq!(mailbox_name("ada+bank@example.com"), Some("ada"));
        assert_eq!(mailbox_name("ada@example.com"), Some("ada"));
        assert_eq!(mailbox_name("+bank@example.com"), Some(""));
        assert_eq!(mailbox_name("no-at-sign"), None);
    }
}
