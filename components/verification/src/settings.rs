//! The policy's settings from `wasi:config`: the currency and, per tier, the daily transfer limit
//! and the balance cap in minor units (`tier-<n>-daily-transfer-limit`, `tier-<n>-balance-cap`).
//! A setting that does not parse keeps its default and is logged.

use crate::log;
use crate::policy::{Settings, TierLimits};
use crate::wasi::config::store;

/// The defaults a bank would start from, in pence: nothing unverified; £500 a day and £1,000
/// held with a complete profile; £5,000 and £25,000 once identity is checked; £25,000 and
/// £250,000 fully verified.
const DEFAULTS: [TierLimits; 4] = [
    TierLimits {
        daily_transfer_limit: 0,
        balance_cap: 0,
    },
    TierLimits {
        daily_transfer_limit: 50_000,
        balance_cap: 100_000,
    },
    TierLimits {
        daily_transfer_limit: 500_000,
        balance_cap: 2_500_000,
    },
    TierLimits {
        daily_transfer_limit: 2_500_000,
        balance_cap: 25_000_000,
    },
];

pub fn load() -> Settings {
    let mut tiers = DEFAULTS;
    for (tier, limits) in tiers.iter_mut().enumerate() {
        limits.daily_transfer_limit = read(
            &format!("tier-{tier}-daily-transfer-limit"),
            limits.daily_transfer_limit,
        );
        limits.balance_cap = read(&format!("tier-{tier}-balance-cap"), limits.balance_cap);
    }
    let currency: String = read("currency", "GBP".to_owned());
    let currency = if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        currency
    } else {
        log::warn("setting currency is not an ISO 4217 code; using GBP");
        "GBP".to_owned()
    };
    Settings { currency, tiers }
}

fn read<T: std::str::FromStr>(key: &str, default: T) -> T {
    match store::get(key) {
        Ok(None) => default,
        Ok(Some(value)) => value.trim().parse().unwrap_or_else(|_| {
            log::warn(&format!(
                "setting {key} = {value:?} does not parse; using the default"
            ));
            default
        }),
        Err(error) => {
            log::warn(&format!(
                "cannot read setting {key}: {error:?}; using the default"
            ));
            default
        }
    }
}
