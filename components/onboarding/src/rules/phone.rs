//! The applicant's phone number, which is optional: when given it must be a number in E.164
//! (parsed by `usvc_types::PhoneE164`, as at a contact change).

use usvc_types::PhoneE164;

use super::Violations;

const FIELD: &str = "phone";

/// Returns `Some(number)` for an acceptable number or no number at all, `None` when the rule is
/// broken. A blank field counts as no number: web forms send empty optional fields.
pub fn check(raw: Option<&str>, violations: &mut Violations) -> Option<Option<PhoneE164>> {
    let Some(number) = raw.map(str::trim).filter(|number| !number.is_empty()) else {
        return Some(None);
    };
    violations.check(FIELD, PhoneE164::parse(number)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(raw: Option<&str>) -> (Option<Option<String>>, Vec<String>) {
        let mut violations = Violations::default();
        let number = check(raw, &mut violations).map(|n| n.map(PhoneE164::into_string));
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
        assert_eq!(outcome(Some("+1234567")).1, Vec::<String>::new());
        assert_eq!(outcome(Some("+123456789012345")).1, Vec::<String>::new());
    }

    #[test]
    fn separators_people_type_are_dropped_as_at_a_contact_change() {
        for typed in ["+44 7700 900123", "+44-7700-900123", "+44 (7700) 900-123"] {
            assert_eq!(
                outcome(Some(typed)),
                (Some(Some("+447700900123".to_owned())), vec![]),
                "{typed}"
            );
        }
    }

    #[test]
    fn anything_else_is_invalid() {
        for number in [
            "447700900123",
            "+",
            "+1",
            "+12",
            "+123456",
            "+0447700900123",
            "+1234567890123456",
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
