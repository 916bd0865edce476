//! The policy's settings from `wasi:config`, with the defaults a bank would start from. A
//! setting that does not parse keeps its default and is logged.

use crate::log;
use crate::policy::Settings;
use crate::wasi::config::store;

pub fn load() -> Settings {
    Settings {
        // The variant build (feature `known-devices`) starts from the relaxed policy.
        ask_on_known_device: read("ask-on-known-device", !cfg!(feature = "known-devices")),
        risk_threshold: read("risk-threshold", 70),
        reset_window_secs: read("reset-window-secs", 7 * 86_400),
        max_attempts: read("max-attempts", 5),
        lock_after_failures: read("lock-after-failures", 10),
        lock_secs: read("lock-secs", 900),
        step_up_window_secs: read("step-up-window-secs", 300),
        reauth_window_secs: read("reauth-window-secs", 300),
        recovery_codes: read("recovery-codes", 10),
        code_ttl_secs: read("code-ttl-secs", 300),
        resend_interval_secs: read("resend-interval-secs", 30),
        codes_per_hour: read("codes-per-hour", 5),
    }
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
