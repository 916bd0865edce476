//! The policy's settings, read from the host through `wasi:config/store` on every call (an
//! instance lives for one call, so there is nothing to cache), and the safe answer when one is
//! missing.

use crate::log;
use crate::rules::AllowedCountries;
use crate::wasi::config::store;

const ALLOWED_COUNTRIES: &str = "allowed-countries";

/// The countries open to new customers. A missing, empty or unreadable setting closes every
/// country: admitting residents of a country the bank is not licensed in is the worse mistake,
/// and an operator sees the error in the log.
pub fn allowed_countries() -> AllowedCountries {
    let setting = match store::get(ALLOWED_COUNTRIES) {
        Ok(setting) => setting.unwrap_or_default(),
        Err(error) => {
            log::error(&format!(
                "cannot read setting {ALLOWED_COUNTRIES}: {error:?}; refusing every country"
            ));
            return AllowedCountries::default();
        }
    };
    let allowed = AllowedCountries::parse(&setting);
    if !allowed.ignored().is_empty() {
        log::warn(&format!(
            "setting {ALLOWED_COUNTRIES} has entries that are not ISO 3166-1 alpha-2 codes, \
             ignored: {:?}",
            allowed.ignored()
        ));
    }
    if allowed.is_empty() {
        log::error(&format!(
            "setting {ALLOWED_COUNTRIES} is missing or empty; refusing every country"
        ));
    }
    allowed
}
