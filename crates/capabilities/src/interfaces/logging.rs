//! `wasi:logging/logging`: a component's log lines, into the host's log under the component's
//! kind. Components must not log personal data; the host cannot tell, so it caps the length,
//! and the lines of one call (`USVC_COMPONENT_LOG_LINES_PER_CALL`): further ones are dropped
//! and counted (`usvc_component_log_lines_dropped_total`).

use wasmtime::component::HasData;

use crate::{
    ComponentKind,
    bindings::wasi::logging::logging::{Host, Level},
};

/// The `wasi:logging` capability: the call's kind, and its count of lines against their bound.
pub struct Log<'a> {
    pub kind: ComponentKind,
    pub lines: &'a mut u32,
    pub bound: u32,
}

impl HasData for Log<'static> {
    type Data<'a> = Log<'a>;
}

const MAX_MESSAGE: usize = 2048;

impl Host for Log<'_> {
    async fn log(
        &mut self,
        level: Level,
        context: String,
        message: String,
    ) -> wasmtime::Result<()> {
        let kind = self.kind.name();
        *self.lines += 1;
        if *self.lines > self.bound {
            if *self.lines == self.bound + 1 {
                crate::exceeded(self.kind, "log-lines");
                tracing::warn!(
                    component = kind,
                    "a component call wrote more log lines than its bound; dropping the rest"
                );
            }
            metrics::counter!("usvc_component_log_lines_dropped_total", "kind" => kind)
                .increment(1);
            return Ok(());
        }
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
