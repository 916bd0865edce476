//! The self-test the host runs before this policy goes live: the golden cases of the rules,
//! checked without touching any capability, so a build whose rules or bundled lists went wrong
//! is refused at deploy instead of deciding for customers.

use crate::Application;
use crate::rules::{AllowedCountries, CalendarDate, check_application};

/// One golden case: an application, and the violation codes it must produce (none = accepted).
struct Case {
    name: &'static str,
    application: Application,
    expected: &'static [&'static str],
}

fn application(password: &str, date_of_birth: &str) -> Application {
    Application {
        email: "ada.lovelace@example.com".to_owned(),
        password: password.to_owned(),
        legal_name: "Ada King".to_owned(),
        date_of_birth: date_of_birth.to_owned(),
        country_of_residence: "GB".to_owned(),
        phone: None,
    }
}

pub fn run() -> Result<(), String> {
    let today = CalendarDate::new(2026, 6, 1).ok_or("the self-test's date is not a date")?;
    let allowed = AllowedCountries::parse("GB");
    let cases = [
        Case {
            name: "an adult with a strong password is accepted",
            application: application("plum orchard velvet 42", "1990-12-10"),
            expected: &[],
        },
        Case {
            name: "a seventeen-year-old is refused",
            application: application("plum orchard velvet 42", "2009-06-02"),
            expected: &["date_of_birth.underage"],
        },
        Case {
            name: "a password from the breach lists is refused",
            application: application("000000000000", "1990-12-10"),
            expected: &["password.common"],
        },
    ];
    for case in cases {
        let codes: Vec<String> = match check_application(&case.application, today, &allowed) {
            Ok(_) => Vec::new(),
            Err(violations) => violations.into_iter().map(|v| v.code).collect(),
        };
        if codes != case.expected {
            return Err(format!(
                "{}: expected {:?}, got {codes:?}",
                case.name, case.expected
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_golden_cases_hold() {
        assert_eq!(super::run(), Ok(()));
    }
}
