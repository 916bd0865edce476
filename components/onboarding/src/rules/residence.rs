//! The applicant's country of residence, and the countries the bank is licensed to serve.
//!
//! Which countries are open is an operational fact that changes with licences, so it is a
//! setting (`allowed-countries`), not code. Fail closed: with no allow-list, nobody is admitted.

use usvc_types::CountryCode;

use super::Violations;

const FIELD: &str = "country_of_residence";

/// The countries open to new customers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AllowedCountries {
    countries: Vec<CountryCode>,
    ignored: Vec<String>,
}

impl AllowedCountries {
    /// Parses a comma-separated list such as `GB, DE,fr`. Entries that are not country codes
    /// are kept aside (see `ignored`) rather than failing the whole list.
    pub fn parse(setting: &str) -> Self {
        let mut allowed = Self::default();
        for entry in setting
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            match CountryCode::parse(entry) {
                Ok(country) => allowed.countries.push(country),
                Err(_) => allowed.ignored.push(entry.to_owned()),
            }
        }
        allowed
    }

    pub fn is_empty(&self) -> bool {
        self.countries.is_empty()
    }

    pub fn contains(&self, country: CountryCode) -> bool {
        self.countries.contains(&country)
    }

    /// Entries of the setting that were not two-letter codes: a configuration mistake.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }
}

pub fn check(
    raw: &str,
    allowed: &AllowedCountries,
    violations: &mut Violations,
) -> Option<CountryCode> {
    let country = violations.check(FIELD, CountryCode::parse(raw))?;
    if !allowed.contains(country) {
        violations.add(
            FIELD,
            "country_of_residence.not_supported",
            "We cannot open accounts for residents of this country yet.",
        );
        return None;
    }
    Some(country)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &str, allowed: &str) -> Vec<String> {
        let mut violations = Violations::default();
        check(raw, &AllowedCountries::parse(allowed), &mut violations);
        violations.into_vec().into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn the_allow_list_tolerates_spaces_case_and_stray_commas() {
        let allowed = AllowedCountries::parse(" gb, DE ,,fr,");
        for country in ["GB", "DE", "FR"] {
            assert!(
                allowed.contains(CountryCode::parse(country).unwrap()),
                "{country}"
            );
        }
        assert!(!allowed.contains(CountryCode::parse("IE").unwrap()));
        assert!(allowed.ignored().is_empty());
    }

    #[test]
    fn malformed_allow_list_entries_are_set_aside() {
        let allowed = AllowedCountries::parse("GB,Germany,D");
        assert!(allowed.contains(CountryCode::parse("GB").unwrap()));
        assert_eq!(allowed.ignored(), ["Germany", "D"]);
    }

    #[test]
    fn residence_must_be_a_code_on_the_allow_list() {
        assert_eq!(codes("gb", "GB,DE"), Vec::<String>::new());
        assert_eq!(codes("FR", "GB,DE"), ["country_of_residence.not_supported"]);
        assert_eq!(
            codes("United Kingdom", "GB,DE"),
            ["country_of_residence.invalid"]
        );
        assert_eq!(codes("GB", ""), ["country_of_residence.not_supported"]);
    }
}
