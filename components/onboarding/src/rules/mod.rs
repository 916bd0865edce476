//! The onboarding rules: what a valid applicant is.
//!
//! Every rule is pure (the clock's date and the allow-list are passed in) so that it can be
//! unit-tested natively, and every rule reports into one `Violations` list so that an applicant
//! hears about everything wrong with an application at once, never one problem per attempt.
//! Past `check_application`, the flows handle only normalised values and never re-check them.

pub mod birth_date;
pub mod document;
pub mod email;
pub mod legal_name;
pub mod password;
pub mod phone;
pub mod profile;
pub mod residence;
mod sorted_lines;

use usvc_types::{PhoneE164, Violation};

use crate::Application;

pub use residence::AllowedCountries;
pub use usvc_types::{CalendarDate, CountryCode, Email, Violations};

/// An application that keeps every rule, with each field in the form the directory stores.
#[derive(Debug)]
pub struct Applicant {
    pub email: Email,
    pub password: String,
    pub legal_name: String,
    pub date_of_birth: CalendarDate,
    pub country_of_residence: CountryCode,
    pub phone: Option<PhoneE164>,
}

/// Checks every rule against `application` and returns either the normalised applicant or
/// every violation found.
pub fn check_application(
    application: &Application,
    today: CalendarDate,
    allowed_countries: &AllowedCountries,
) -> Result<Applicant, Vec<Violation>> {
    let mut violations = Violations::default();

    let email = email::check(&application.email, &mut violations);
    password::check(&application.password, &application.email, &mut violations);
    let legal_name = legal_name::check(&application.legal_name, &mut violations);
    let date_of_birth = birth_date::check(&application.date_of_birth, today, &mut violations);
    let country_of_residence = residence::check(
        &application.country_of_residence,
        allowed_countries,
        &mut violations,
    );
    let phone = phone::check(application.phone.as_deref(), &mut violations);

    match (
        email,
        legal_name,
        date_of_birth,
        country_of_residence,
        phone,
    ) {
        (
            Some(email),
            Some(legal_name),
            Some(date_of_birth),
            Some(country_of_residence),
            Some(phone),
        ) if violations.is_empty() => Ok(Applicant {
            email,
            password: application.password.clone(),
            legal_name,
            date_of_birth,
            country_of_residence,
            phone,
        }),
        _ => Err(violations.into_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application() -> Application {
        Application {
            email: "  Ada.Lovelace@Example.COM ".to_owned(),
            password: "plum orchard velvet 42".to_owned(),
            legal_name: " Ada King ".to_owned(),
            date_of_birth: "1990-12-10".to_owned(),
            country_of_residence: " gb".to_owned(),
            phone: Some(" +447700900123 ".to_owned()),
        }
    }

    fn today() -> CalendarDate {
        CalendarDate::new(2026, 6, 15).unwrap()
    }

    #[test]
    fn a_valid_application_comes_back_normalised() {
        let applicant =
            check_application(&application(), today(), &AllowedCountries::parse("GB,DE")).unwrap();
        assert_eq!(applicant.email.as_str(), "ada.lovelace@example.com");
        assert_eq!(applicant.legal_name, "Ada King");
        assert_eq!(applicant.date_of_birth.to_string(), "1990-12-10");
        assert_eq!(applicant.country_of_residence.as_str(), "GB");
        assert_eq!(
            applicant.phone.as_ref().map(PhoneE164::as_str),
            Some("+447700900123")
        );
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let broken = Application {
            email: "not-an-address".to_owned(),
            password: "short".to_owned(),
            legal_name: "   ".to_owned(),
            date_of_birth: "2010-01-01".to_owned(),
            country_of_residence: "USA".to_owned(),
            phone: Some("0044 7700".to_owned()),
        };
        let codes: Vec<String> =
            check_application(&broken, today(), &AllowedCountries::parse("GB"))
                .unwrap_err()
                .into_iter()
                .map(|violation| violation.code)
                .collect();
        assert_eq!(
            codes,
            [
                "email.invalid",
                "password.too_short",
                "legal_name.missing",
                "date_of_birth.underage",
                "country_of_residence.invalid",
                "phone.invalid",
            ]
        );
    }
}
