//! The applicant's date of birth: a real calendar date, and an adult on the host's today.
//!
//! Ages are computed on calendar dates, never on seconds, so that the answer is exact on a
//! birthday whatever the time of day: an applicant who turns 18 today may open an account today.
//! "Today" comes from the host's clock (`usvc:host/clock`), not from WASI time, so that the
//! policy is deterministic and testable.

use usvc_types::CalendarDate;

use super::Violations;

const FIELD: &str = "date_of_birth";

/// The age of majority in every country the bank serves.
pub const ADULT_AGE: u32 = 18;
/// Older than any verified human; a date before that is a typing mistake.
const OLDEST_PLAUSIBLE_AGE: u32 = 130;

pub fn check(raw: &str, today: CalendarDate, violations: &mut Violations) -> Option<CalendarDate> {
    let age = CalendarDate::parse(raw)
        .ok()
        .and_then(|born| Some((born, born.years_until(today)?)))
        .filter(|&(_, age)| age <= OLDEST_PLAUSIBLE_AGE);
    let Some((born, age)) = age else {
        violations.add(
            FIELD,
            "date_of_birth.invalid",
            "Enter your date of birth as YYYY-MM-DD.",
        );
        return None;
    };
    if age < ADULT_AGE {
        violations.add(
            FIELD,
            "date_of_birth.underage",
            format!("You must be at least {ADULT_AGE} years old to open an account."),
        );
        return None;
    }
    Some(born)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> CalendarDate {
        CalendarDate::new(year, month, day).unwrap()
    }

    fn codes(raw: &str, today: CalendarDate) -> Vec<String> {
        let mut violations = Violations::default();
        check(raw, today, &mut violations);
        violations.into_vec().into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn applicants_must_be_adults_and_plausibly_alive() {
        let today = date(2026, 6, 15);
        assert_eq!(codes("2008-06-15", today), Vec::<String>::new());
        assert_eq!(codes("2008-06-16", today), ["date_of_birth.underage"]);
        assert_eq!(codes("2026-06-15", today), ["date_of_birth.underage"]);
        assert_eq!(codes("2026-06-16", today), ["date_of_birth.invalid"]);
        // 130 is the oldest age believed.
        assert_eq!(codes("1895-06-16", today), Vec::<String>::new());
        assert_eq!(codes("1895-06-15", today), ["date_of_birth.invalid"]);
        assert_eq!(codes("1990-02-30", today), ["date_of_birth.invalid"]);
    }
}
