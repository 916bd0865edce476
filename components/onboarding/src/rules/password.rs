//! The password an applicant chooses, judged the way NIST SP 800-63B asks: long enough, not a
//! password attackers try first, not derived from the address. No composition rules (a digit,
//! a symbol...), which only push people towards `Password1!`.
//!
//! The password itself is never stored, logged or changed here: the host hashes it.

use super::Violations;
use super::email;
use super::sorted_lines::SortedLines;

const FIELD: &str = "password";

/// Counted in characters, not bytes, so that a passphrase in any script is judged by what the
/// person typed.
pub const MIN_LENGTH: usize = 12;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_LENGTH: usize = 128;

/// Passwords from breach corpora and keyboard or number patterns, all of them long enough to
/// pass the length rule (shorter ones are refused by it anyway). Lower case.
static COMMON_PASSWORDS: SortedLines =
    SortedLines::new(include_str!("../../data/common-passwords.txt"));

/// Shorter mailbox names ("me", "jo") occur in too many honest passwords to be a signal.
const MIN_MAILBOX_NAME: usize = 3;

/// Checks `password`; `raw_email` is the address as submitted, whatever its validity.
pub fn check(password: &str, raw_email: &str, violations: &mut Violations) {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        violations.add(
            FIELD,
            "password.too_short",
            format!("Use at least {MIN_LENGTH} characters."),
        );
    }
    if length > MAX_LENGTH {
        violations.add(
            FIELD,
            "password.too_long",
            format!("Use at most {MAX_LENGTH} characters."),
        );
    }

    let lowered = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lowered) {
        violations.add(
            FIELD,
            "password.common",
            "This password is too common; choose one that is hard to guess.",
        );
    }

    let address = email::normalise(raw_email);
    if let Some(name) = email::mailbox_name(&address)
        && name.chars().count() >= MIN_MAILBOX_NAME
        && lowered.contains(name)
    {
        violations.add(
            FIELD,
            "password.contains_email",
            "The password must not contain your email address.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sorted_lines::assert_is_a_sorted_list;

    fn codes(password: &str, email: &str) -> Vec<String> {
        let mut violations = Violations::default();
        check(password, email, &mut violations);
        violations.into_vec().into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn the_common_password_list_is_sorted_lower_case_and_long_enough() {
        assert_is_a_sorted_list(&COMMON_PASSWORDS);
        for password in COMMON_PASSWORDS.lines() {
            assert!(
                password.chars().count() >= MIN_LENGTH,
                "{password:?} is too short to list"
            );
        }
        assert!(COMMON_PASSWORDS.lines().count() >= 200);
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(
            codes("elevenchars", "ada@example.com"),
            ["password.too_short"]
        );
        assert_eq!(
            codes("twelve chars", "ada@example.com"),
            Vec::<String>::new()
        );
        // Eleven characters but 22 bytes.
        assert_eq!(
            codes("ééééééééééé", "ada@example.com"),
            ["password.too_short"]
        );
        assert_eq!(
            codes(&"x".repeat(128), "ada@example.com"),
            Vec::<String>::new()
        );
        assert_eq!(
            codes(&"x".repeat(129), "ada@example.com"),
            ["password.too_long"]
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(
            codes("password1234", "ada@example.com"),
            ["password.common"]
        );
        assert_eq!(
            codes("PassWord1234", "ada@example.com"),
            ["password.common"]
        );
        assert_eq!(
            codes("qwertyuiopasdf", "ada@example.com"),
            ["password.common"]
        );
        assert_eq!(
            codes("123456789012", "ada@example.com"),
            ["password.common"]
        );
    }

    #[test]
    fn the_mailbox_name_must_not_appear_in_the_password() {
        assert_eq!(
            codes("my-Lovelace-secret", "lovelace+bank@example.com"),
            ["password.contains_email"]
        );
        assert_eq!(
            codes("my-lovelace-secret", " LOVELACE@example.com"),
            ["password.contains_email"]
        );
        // Too short a name to tell anything.
        assert_eq!(
            codes("a long secret jo", "jo@example.com"),
            Vec::<String>::new()
        );
        assert_eq!(
            codes("a long secret jo", "jo+banking@example.com"),
            Vec::<String>::new()
        );
        // An address without a local part gives nothing to compare.
        assert_eq!(
            codes("a long secret", "not an address"),
            Vec::<String>::new()
        );
    }
}
