//! The policy's voice in the host's log, under the context `verification`: user ids, check ids
//! and rule codes only.

use crate::wasi::logging::logging::{Level, log};

const CONTEXT: &str = "verification";

pub fn info(message: &str) {
    log(Level::Info, CONTEXT, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, CONTEXT, message);
}
