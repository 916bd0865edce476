//! The applicant's email address: the customer's login and the only channel the bank writes to
//! before the account is open.
//!
//! The syntax is `usvc_types::Email`'s, shared with the host. The policy here: throwaway-mail
//! domains are refused because an account must stay reachable for the years a bank relationship
//! lasts.

use usvc_types::Email;

use super::Violations;
use super::sorted_lines::SortedLines;

const FIELD: &str = "email";

/// Domains of well-known disposable-mail services; a subdomain of one is disposable too.
static DISPOSABLE_DOMAINS: SortedLines =
    SortedLines::new(include_str!("../../data/disposable-domains.txt"));

/// Trims and lower-cases an address, as `Email::parse` does: for looking up an address that
/// need not be valid (a confirmation, a password check).
pub fn normalise(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The local part of an address without any `+tag` sub-address, when the address has one.
pub fn mailbox_name(address: &str) -> Option<&str> {
    let (local, _domain) = address.rsplit_once('@')?;
    Some(local.split('+').next().unwrap_or(local))
}

/// A valid address (`usvc_types::Email`, as at a contact change) that is not disposable.
pub fn check(raw: &str, violations: &mut Violations) -> Option<Email> {
    let email = violations.check(FIELD, Email::parse(raw))?;
    if is_disposable(email.domain()) {
        violations.add(
            FIELD,
            "email.disposable",
            "Disposable email addresses cannot be used; enter an address you will keep.",
        );
        return None;
    }
    Some(email)
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
            assert!(
                Email::parse(&format!("someone@{domain}")).is_ok(),
                "{domain:?} is not a domain"
            );
        }
        assert!(DISPOSABLE_DOMAINS.lines().count() >= 90);
    }

    #[test]
    fn ordinary_addresses_are_accepted_and_normalised() {
        for address in ["ada@example.com", "ada.lovelace+bank@mail.example.co.uk"] {
            assert_eq!(codes(address), Vec::<String>::new(), "{address}");
        }
        let mut violations = Violations::default();
        let email = check("  Ada@Example.COM\t", &mut violations).unwrap();
        assert_eq!(email.as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_addresses_are_invalid() {
        for address in ["", "ada", "ada@localhost", "ada@example.c0m"] {
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
