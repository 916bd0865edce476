//! Logging and metrics: structured `tracing` output (JSON in production, readable text in
//! development, `RUST_LOG` filters) and the Prometheus recorder behind `GET /metrics`. Nothing
//! here records personal data by itself; metric labels are routes, kinds and outcomes only.
//! With `USVC_SENTRY_DSN`, errors also go to Sentry ([`crate::tracking`]).

use std::{io::IsTerminal, sync::OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Mode, SentrySettings};

/// Installs the log output and, with `sentry`, error tracking; the guard, kept until the process
/// ends, flushes what is still to be sent.
pub fn init(mode: Mode, sentry: Option<&SentrySettings>) -> Option<sentry::ClientInitGuard> {
    let guard = sentry.map(crate::tracking::init);
    init_logs(mode, guard.is_some());
    guard
}

fn init_logs(mode: Mode, reporting: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,usvc=info,tower_http=info,sqlx=warn,wasmtime=warn")
    });
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(reporting.then_some(crate::tracking::Reporter));
    let result = match mode {
        Mode::Production => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        // Colours only for a terminal: a file or a pipe gets plain `key=value` text.
        Mode::Development => registry
            .with(
                fmt::layer()
                    .compact()
                    .with_ansi(std::io::stdout().is_terminal()),
            )
            .try_init(),
    };
    // A second initialisation (tests start several apps in one process) keeps the first.
    let _ = result;
}

/// Histogram buckets (seconds): from a cached token check to a queue of password hashes.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed on first use. Several apps in one process (the
/// tests) share it.
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .expect("the buckets are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}
