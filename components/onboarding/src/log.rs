//! The policy's voice in the host's log, under the context `onboarding`.
//!
//! Messages name rule codes, outcomes and user ids only: never an email address, a name, a birth
//! date, a phone number or a password, because logs travel further than the customer directory.

use crate::wasi::logging::logging::{Level, log};

const CONTEXT: &str = "onboarding";

pub fn debug(message: &str) {
    log(Level::Debug, CONTEXT, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, CONTEXT, message);
}

pub fn error(message: &str) {
    log(Level::Error, CONTEXT, message);
}
