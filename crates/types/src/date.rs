//! A calendar date as customers write it (`YYYY-MM-DD`), and ages computed on it.

use std::fmt;

use crate::FormatError;

const INVALID: FormatError = FormatError::invalid("Give a real calendar date as YYYY-MM-DD.");

/// A proleptic Gregorian calendar date with a four-digit year. Ages are computed on calendar
/// dates, never on seconds, so an answer is exact on a birthday whatever the time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CalendarDate {
    // Field order makes the derived ordering chronological.
    year: i32,
    month: u8,
    day: u8,
}

impl CalendarDate {
    /// The date, when it exists on the calendar (and has a year from 1 to 9999).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let exists = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day);
        exists.then_some(Self { year, month, day })
    }

    /// Exactly `YYYY-MM-DD` after trimming: no signs, no missing zero padding, no times.
    pub fn parse(raw: &str) -> Result<Self, FormatError> {
        let bytes = raw.trim().as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(INVALID);
        }
        let field = |range: std::ops::Range<usize>| digits(&bytes[range]).ok_or(INVALID);
        let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
        let month = u8::try_from(month).map_err(|_| INVALID)?;
        let day = u8::try_from(day).map_err(|_| INVALID)?;
        Self::new(i32::from(year), month, day).ok_or(INVALID)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Completed years from `self` to `on`, `None` when `on` is earlier. Someone born on
    /// 29 February comes of age on 1 March in a common year, as in English law (and most others).
    pub fn years_until(self, on: CalendarDate) -> Option<u32> {
        if on < self {
            return None;
        }
        let whole_years = u32::try_from(on.year - self.year).ok()?;
        let anniversary_reached = (on.month, on.day) >= (self.month, self.day);
        Some(if anniversary_reached {
            whole_years
        } else {
            whole_years - 1
        })
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The value of up to four ASCII digits.
fn digits(bytes: &[u8]) -> Option<u16> {
    bytes.iter().try_fold(0, |value: u16, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u16::from(byte - b'0'))
    })
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u8, day: u8) -> CalendarDate {
        CalendarDate::new(year, month, day).unwrap()
    }

    #[test]
    fn only_strict_iso_calendar_dates_parse() {
        assert_eq!(CalendarDate::parse("1990-12-10"), Ok(date(1990, 12, 10)));
        assert_eq!(CalendarDate::parse(" 1990-12-10 "), Ok(date(1990, 12, 10)));
        for text in [
            "",
            "1990-1-10",
            "1990-01-1",
            "90-01-10",
            "1990/01/10",
            "10-01-1990",
            "1990-01-10T00:00",
            "+990-01-10",
            "1990-00-10",
            "1990-13-10",
            "1990-01-00",
            "1990-01-32",
            "1990-04-31",
            "0000-01-01",
            "199O-01-10",
            "1990-01-1\u{0661}",
        ] {
            assert_eq!(CalendarDate::parse(text), Err(INVALID), "{text:?}");
        }
    }

    #[test]
    fn leap_days_exist_only_in_leap_years() {
        assert!(CalendarDate::parse("2000-02-29").is_ok());
        assert!(CalendarDate::parse("2004-02-29").is_ok());
        assert!(CalendarDate::parse("1900-02-29").is_err());
        assert!(CalendarDate::parse("2007-02-29").is_err());
        assert!(CalendarDate::parse("2007-02-28").is_ok());
    }

    #[test]
    fn ages_turn_on_the_birthday_itself() {
        let born = date(2008, 6, 15);
        assert_eq!(born.years_until(date(2026, 6, 14)), Some(17));
        assert_eq!(born.years_until(date(2026, 6, 15)), Some(18));
        assert_eq!(born.years_until(date(2008, 6, 15)), Some(0));
        assert_eq!(born.years_until(date(2008, 6, 14)), None);
    }

    #[test]
    fn a_leap_day_birthday_comes_round_on_the_first_of_march_in_common_years() {
        let born = date(2008, 2, 29);
        assert_eq!(born.years_until(date(2026, 2, 28)), Some(17));
        assert_eq!(born.years_until(date(2026, 3, 1)), Some(18));
        assert_eq!(born.years_until(date(2028, 2, 29)), Some(20));
    }

    #[test]
    fn dates_print_in_iso_form() {
        assert_eq!(date(7, 3, 9).to_string(), "0007-03-09");
    }
}
