//! What a profile change may carry. The facts registration also asks for keep registration's
//! rules (a legal name as on a document, an adult's date of birth); the rest are checked as a
//! document shows them: a postal address, and a national id number.
//!
//! Codes are `<field>.<problem>` with the field as the change names it (`address.city`), so a
//! client can point at the field and a test at the rule.

use usvc_types::{CalendarDate, CountryCode, Violations};

use super::{birth_date, legal_name};
use crate::{PostalAddress, ProfileChange};

/// One line of an address, a city or a region.
pub const MAX_ADDRESS_LINE_CHARS: usize = 100;
/// Longer than any country's postal code.
pub const MAX_POSTAL_CODE_CHARS: usize = 16;
/// A national id number: the shortest and longest any issuing country uses, with room.
pub const MIN_NATIONAL_ID_CHARS: usize = 4;
pub const MAX_NATIONAL_ID_CHARS: usize = 32;
/// Older than any verified human: an earlier birth date is a typing mistake.
const OLDEST_PLAUSIBLE_AGE: u32 = 130;

/// Checks a change made on `today`; answers it with every present field normalised.
pub fn check_change(
    change: &ProfileChange,
    today: CalendarDate,
) -> Result<ProfileChange, Vec<usvc_types::Violation>> {
    let mut v = Violations::default();
    let legal_name = change
        .legal_name
        .as_deref()
        .map(|name| legal_name::check(name, &mut v).unwrap_or_default());
    let date_of_birth = change
        .date_of_birth
        .as_deref()
        .map(|date| date_of_birth(date, today, &mut v).unwrap_or_default());
    let nationality = change
        .nationality
        .as_deref()
        .map(|code| country("nationality", code, &mut v).unwrap_or_default());
    let address = change.address.as_ref().map(|a| address(a, &mut v));
    let national_id = change
        .national_id
        .as_deref()
        .map(|id| national_id(id, &mut v).unwrap_or_default());
    v.into_result(ProfileChange {
        legal_name,
        date_of_birth,
        nationality,
        address,
        national_id,
    })
}

/// A real date, not in the future, not absurdly long ago, and an adult's: the age rule of
/// registration holds for a corrected date of birth too.
fn date_of_birth(raw: &str, today: CalendarDate, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "date_of_birth";
    let born = v.check(FIELD, CalendarDate::parse(raw))?;
    let Some(age) = born.years_until(today) else {
        v.add(
            FIELD,
            "date_of_birth.in_future",
            "A date of birth cannot be in the future.",
        );
        return None;
    };
    if age > OLDEST_PLAUSIBLE_AGE {
        v.add(
            FIELD,
            "date_of_birth.implausible",
            format!("A date of birth more than {OLDEST_PLAUSIBLE_AGE} years ago is a mistake."),
        );
        return None;
    }
    if age < birth_date::ADULT_AGE {
        v.add(
            FIELD,
            "date_of_birth.underage",
            format!(
                "A customer is at least {} years old; check the date.",
                birth_date::ADULT_AGE
            ),
        );
        return None;
    }
    Some(born.to_string())
}

fn country(field: &str, raw: &str, v: &mut Violations) -> Option<String> {
    v.check(field, CountryCode::parse(raw))
        .map(|code| code.as_str().to_owned())
}

/// A national id number: trimmed, upper-cased, 4 to 32 of `A-Z`, `0-9` and `-`.
fn national_id(raw: &str, v: &mut Violations) -> Option<String> {
    const FIELD: &str = "national_id";
    let id = raw.trim().to_uppercase();
    let length = id.chars().count();
    if !(MIN_NATIONAL_ID_CHARS..=MAX_NATIONAL_ID_CHARS).contains(&length) {
        v.add(
            FIELD,
            "national_id.length",
            format!(
                "Give {MIN_NATIONAL_ID_CHARS} to {MAX_NATIONAL_ID_CHARS} characters, as on the document."
            ),
        );
        return None;
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
    {
        v.add(
            FIELD,
            "national_id.invalid",
            "Use only letters, digits and hyphens, as on the document.",
        );
        return None;
    }
    Some(id)
}

fn address(raw: &PostalAddress, v: &mut Violations) -> PostalAddress {
    let line = |field, raw: &str, required, v: &mut Violations| {
        text(field, raw, MAX_ADDRESS_LINE_CHARS, required, v)
    };
    let line1 = line("address.line1", &raw.line1, true, v);
    let line2 = raw
        .line2
        .as_deref()
        .and_then(|l| line("address.line2", l, false, v));
    let city = line("address.city", &raw.city, true, v);
    let region = raw
        .region
        .as_deref()
        .and_then(|r| line("address.region", r, false, v));
    let postal_code = text(
        "address.postal_code",
        &raw.postal_code,
        MAX_POSTAL_CODE_CHARS,
        true,
        v,
    )
    .filter(|code| {
        let ok = code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
        if !ok {
            v.add(
                "address.postal_code",
                "address.postal_code.invalid",
                "A postal code has letters, digits, spaces and hyphens only.",
            );
        }
        ok
    });
    let country = if raw.country.trim().is_empty() {
        v.add(
            "address.country",
            "address.country.missing",
            "This field is required.",
        );
        None
    } else {
        country("address.country", &raw.country, v)
    };
    PostalAddress {
        line1: line1.unwrap_or_default(),
        line2,
        city: city.unwrap_or_default(),
        postal_code: postal_code.unwrap_or_default(),
        region,
        country: country.unwrap_or_default(),
    }
}

/// A trimmed line of text: `<field>.missing` when blank and required, `<field>.too_long`,
/// `<field>.invalid` for hidden characters (as in a legal name). A blank optional line is `None`.
fn text(field: &str, raw: &str, max: usize, required: bool, v: &mut Violations) -> Option<String> {
    let text = raw.trim();
    if text.is_empty() {
        if required {
            v.add(
                field,
                &format!("{field}.missing"),
                "This field is required.",
            );
        }
        return None;
    }
    let mut ok = true;
    if text.chars().count() > max {
        v.add(
            field,
            &format!("{field}.too_long"),
            format!("Use at most {max} characters."),
        );
        ok = false;
    }
    if text.chars().any(legal_name::is_hidden_control) {
        v.add(
            field,
            &format!("{field}.invalid"),
            "This contains characters that cannot be printed.",
        );
        ok = false;
    }
    ok.then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> CalendarDate {
        CalendarDate::new(2026, 6, 15).unwrap()
    }

    fn check(
        change: ProfileChange,
        today: CalendarDate,
    ) -> Result<ProfileChange, Vec<usvc_types::Violation>> {
        check_change(&change, today)
    }

    fn empty() -> ProfileChange {
        ProfileChange {
            legal_name: None,
            date_of_birth: None,
            nationality: None,
            address: None,
            national_id: None,
        }
    }

    fn address() -> PostalAddress {
        PostalAddress {
            line1: "12 St James's Square".to_owned(),
            line2: None,
            city: "London".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            region: None,
            country: "GB".to_owned(),
        }
    }

    fn change_codes(change: ProfileChange) -> Vec<String> {
        let mut codes: Vec<String> = check(change, today())
            .expect_err("the change must be refused")
            .into_iter()
            .map(|v| v.code)
            .collect();
        codes.sort();
        codes
    }

    #[test]
    fn a_valid_change_is_trimmed_and_kept() {
        let change = ProfileChange {
            legal_name: Some("  Ada King  ".to_owned()),
            date_of_birth: Some("1990-12-10".to_owned()),
            nationality: Some("GB".to_owned()),
            address: Some(PostalAddress {
                line1: " 12 St James's Square ".to_owned(),
                line2: Some("  ".to_owned()),
                region: Some(" Greater London ".to_owned()),
                ..address()
            }),
            national_id: Some(" ab-123456 ".to_owned()),
        };
        let checked = check(change, today()).unwrap();
        assert_eq!(checked.national_id.as_deref(), Some("AB-123456"));
        assert_eq!(checked.legal_name.as_deref(), Some("Ada King"));
        assert_eq!(checked.date_of_birth.as_deref(), Some("1990-12-10"));
        let address = checked.address.unwrap();
        assert_eq!(address.line1, "12 St James's Square");
        assert_eq!(address.line2, None);
        assert_eq!(address.region.as_deref(), Some("Greater London"));
        let unchanged = check(empty(), today()).unwrap();
        assert_eq!(format!("{unchanged:?}"), format!("{:?}", empty()));
    }

    #[test]
    fn national_id_rules() {
        let id = |n: &str| ProfileChange {
            national_id: Some(n.to_owned()),
            ..empty()
        };
        for ok in [
            "AB12",
            " qq 12 34 56 c ".replace(' ', "").as_str(),
            &"9".repeat(32),
        ] {
            assert!(check(id(ok), today()).is_ok(), "{ok}");
        }
        for short_or_long in ["", "  ", "AB1", " AB1 ", &"9".repeat(33)] {
            assert_eq!(change_codes(id(short_or_long)), ["national_id.length"]);
        }
        for bad in ["AB 1234", "AB_1234", "AB.1234", "ÄB12345", "AB12\u{202E}34"] {
            assert_eq!(change_codes(id(bad)), ["national_id.invalid"], "{bad}");
        }
    }

    #[test]
    fn legal_name_rules() {
        let name = |n: &str| ProfileChange {
            legal_name: Some(n.to_owned()),
            ..empty()
        };
        assert_eq!(change_codes(name(" ")), ["legal_name.missing"]);
        assert_eq!(
            change_codes(name(&"é".repeat(201))),
            ["legal_name.too_long"]
        );
        assert!(check(name(&"é".repeat(200)), today()).is_ok());
        for bad in ["Ada\nKing", "Ada\u{0}", "Ada \u{202E}gniK"] {
            assert_eq!(change_codes(name(bad)), ["legal_name.invalid"], "{bad:?}");
        }
        assert!(check(name("李小龍"), today()).is_ok());
    }

    #[test]
    fn date_of_birth_rules() {
        let born = |d: &str| ProfileChange {
            date_of_birth: Some(d.to_owned()),
            ..empty()
        };
        for bad in [
            "1990-02-30",
            "1990-13-01",
            "90-01-01",
            "1990-1-01",
            "+1990-01-01",
            "1990/01/01",
            "",
            "1990-01-01T00:00",
        ] {
            assert_eq!(
                change_codes(born(bad)),
                ["date_of_birth.invalid"],
                "{bad:?}"
            );
        }
        assert_eq!(
            change_codes(born("2026-06-16")),
            ["date_of_birth.in_future"]
        );
        // Registration's age rule holds for a corrected date too (it did not in the host).
        assert_eq!(change_codes(born("2026-06-15")), ["date_of_birth.underage"]);
        assert_eq!(change_codes(born("2008-06-16")), ["date_of_birth.underage"]);
        assert!(check(born("2008-06-15"), today()).is_ok());
        assert!(check(born("2000-02-29"), today()).is_ok());
        assert_eq!(
            change_codes(born("1890-01-01")),
            ["date_of_birth.implausible"]
        );
    }

    #[test]
    fn country_codes_are_two_capital_letters() {
        let nationality = |n: &str| ProfileChange {
            nationality: Some(n.to_owned()),
            ..empty()
        };
        assert!(check(nationality("DE"), today()).is_ok());
        // Trimmed and upper-cased as at registration (usvc_types::CountryCode).
        let checked = check(nationality(" gb"), today()).unwrap();
        assert_eq!(checked.nationality.as_deref(), Some("GB"));
        for bad in ["GBR", "G", "", "G1", "ÉU"] {
            assert_eq!(
                change_codes(nationality(bad)),
                ["nationality.invalid"],
                "{bad:?}"
            );
        }
        let in_address = |country: &str| ProfileChange {
            address: Some(PostalAddress {
                country: country.to_owned(),
                ..address()
            }),
            ..empty()
        };
        assert_eq!(
            change_codes(in_address("U.K.")),
            ["address.country.invalid"]
        );
        assert_eq!(change_codes(in_address(" ")), ["address.country.missing"]);
    }

    #[test]
    fn an_address_needs_line1_city_postal_code_and_country() {
        let blank = PostalAddress {
            line1: String::new(),
            line2: None,
            city: " ".to_owned(),
            postal_code: String::new(),
            region: None,
            country: String::new(),
        };
        let change = ProfileChange {
            address: Some(blank),
            ..empty()
        };
        assert_eq!(
            change_codes(change),
            [
                "address.city.missing",
                "address.country.missing",
                "address.line1.missing",
                "address.postal_code.missing",
            ]
        );
    }

    #[test]
    fn address_lengths_and_characters() {
        let change = ProfileChange {
            address: Some(PostalAddress {
                line1: "x".repeat(101),
                line2: Some("Flat\t2".to_owned()),
                city: "y".repeat(101),
                postal_code: "SW1Y_4JH".to_owned(),
                region: Some("z".repeat(101)),
                country: "GB".to_owned(),
            }),
            ..empty()
        };
        assert_eq!(
            change_codes(change),
            [
                "address.city.too_long",
                "address.line1.too_long",
                "address.line2.invalid",
                "address.postal_code.invalid",
                "address.region.too_long",
            ]
        );
        let long_code = ProfileChange {
            address: Some(PostalAddress {
                postal_code: "1".repeat(17),
                ..address()
            }),
            ..empty()
        };
        assert_eq!(change_codes(long_code), ["address.postal_code.too_long"]);
    }
}
