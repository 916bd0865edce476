//! The applicant's phone number, which is optional: when given it must be in E.164 form, the
//! only form every SMS and voice provider the bank might use accepts unambiguously.

use super::Violations;

const FIELD: &str = "phone";

/// Returns `Some(number)` for an acceptable (trimmed) number or no number at all, `None` when the
/// rule is broken. A blank field counts as no number: web forms send empty optional fields.
pub fn check(raw: Option<&str>, violations: &mut Violations) -> Option<Option<String>> {
    let Some(number) = raw.map(str::trim).filter(|number| !number.is_empty()) else {
        return Some(None);
    };
    if !is_e164(number) {
        violations.add(
            FIELD,
            "phone.invalid",
            "Enter your phone number in international form, such as +447700900123.",
        );
        return None;
    }
    Some(Some(number.to_owned()))
}

/// `+`, then a country code that cannot start with 0, then up to 15 digits in all. Two digits is
/// the shortest the syntax allows; which numbers are really reachable is the SMS provider's call.
fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(raw: Option<&str>) -> (Option<Option<String>>, Vec<String>) {
        let mut violations = Violations::default();
        let number = check(raw, &mut violations);
        (
            number,
            violations.into_vec().into_iter().map(|v| v.code).collect(),
        )
    }

    #[test]
    fn no_number_or_a_blank_one_is_fine() {
        assert_eq!(outcome(None), (Some(None), vec![]));
        assert_eq!(outcome(Some("  ")), (Some(None), vec![]));
    }

    #[test]
    fn e164_numbers_are_accepted_trimmed() {
        assert_eq!(
            outcome(Some(" +447700900123 ")),
            (Some(Some("+447700900123".to_owned())), vec![])
        );
        assert_eq!(outcome(Some("+12")).1, Vec::<String>::new());
        assert_eq!(outcome(Some("+123456789012345")).1, Vec::<String>::new());
    }

    #[test]
    fn anything_else_is_invalid() {
        for number in [
            "447700900123",
            "+",
            "+1",
            "+0447700900123",
            "+1234567890123456",
            "+44 7700 900123",
            "+44-7700-900123",
            "++447700900123",
            "+44770090012a",
            "+４４７７００９００１２３",
        ] {
            assert_eq!(
                outcome(Some(number)),
                (None, vec!["phone.invalid".to_owned()]),
                "{number}"
            );
        }
    }
}
