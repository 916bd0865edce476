//! `wasi:logging/logging`: a component's log lines, into the host's log under the component's
//! kind. Components must not log personal data; the host cannot tell, so it caps the length.

use crate::runtime::{
    CallState,
    bindings::wasi::logging::logging::{Host, Level},
};

const MAX_MESSAGE: usize = 2048;

impl Host for CallState {
    async fn log(
        &mut self,
        level: Level,
        context: String,
        message: String,
    ) -> wasmtime::Result<()> {
        let kind = self.kind.name();
        let message = truncate(&message, MAX_MESSAGE);
        let context = truncate(&context, 100);
        match level {
            Level::Trace => tracing::trace!(component = kind, context, "{message}"),
            Level::Debug => tracing::debug!(component = kind, context, "{message}"),
            Level::Info => tracing::info!(component = kind, context, "{message}"),
            Level::Warn => tracing::warn!(component = kind, context, "{message}"),
            Level::Error | Level::Critical => {
                tracing::error!(component = kind, context, "{message}")
            }
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
