//! Logging: structured `tracing` output, JSON in production, readable text in development.
//! `RUST_LOG` filters; nothing here logs personal data by itself.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::Mode;

pub fn init(mode: Mode) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,usvc=info,tower_http=info,sqlx=warn,wasmtime=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    let result = match mode {
        Mode::Production => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        Mode::Development => registry.with(fmt::layer().compact()).try_init(),
    };
    // A second initialisation (tests start several apps in one process) keeps the first.
    let _ = result;
}
