//! The policy's voice in the host's log, under the context `mfa`: user ids, factor ids and
//! outcomes only, never a code.

use crate::wasi::logging::logging::{Level, log};

const CONTEXT: &str = "mfa";

pub fn info(message: &str) {
    log(Level::Info, CONTEXT, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, CONTEXT, message);
}
