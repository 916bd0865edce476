//! The bank's services usvc calls over gRPC (`proto/clients`): KYC checks, messages to
//! customers and the central audit log. Every call has a deadline, is retried with backoff when
//! it failed transiently (all of them are idempotent by a key usvc chooses), and goes through the
//! client's circuit breaker (`resilience`). Channels connect lazily, so start-up never waits for
//! another service. A service left unconfigured is replaced by an embedded default: the sandbox
//! KYC, the log notifier, the local audit table alone. Calls made for a request carry its W3C
//! trace (`traceparent` metadata).

pub mod audit;
pub mod kyc;
pub mod notification;
pub mod resilience;

use std::time::Duration;

use tonic::{
    Code, Request, Status,
    metadata::MetadataValue,
    service::interceptor::InterceptedService,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use usvc_core::trace::{TRACEPARENT, Trace};

/// A channel whose calls carry the running request's trace.
pub type Traced = InterceptedService<Channel, fn(Request<()>) -> Result<Request<()>, Status>>;

/// Why a call to a bank service did not succeed. Carries no request content.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "the {client} service's circuit breaker is open: calls fail at once until the cool-down ends"
    )]
    BreakerOpen { client: &'static str },
    #[error("{client} {rpc} failed: {code:?}: {message}")]
    Failed {
        client: &'static str,
        rpc: &'static str,
        code: Code,
        /// The status message (the service's, or the transport's).
        message: String,
    },
}

impl ClientError {
    /// The gRPC status code the call ended with; `None` when it was never made.
    pub fn code(&self) -> Option<Code> {
        match self {
            Self::BreakerOpen { .. } => None,
            Self::Failed { code, .. } => Some(*code),
        }
    }
}

/// A channel to `url` that connects on first use (and reconnects after a failure); `https://`
/// URLs use TLS with the system's trusted roots.
pub fn channel(url: &str, policy: &ClientPolicy) -> anyhow::Result<Traced> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(policy.deadline)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        endpoint = endpoint.tls_config(ClientTlsConfig::new().with_native_roots())?;
    }
    let carry: fn(Request<()>) -> Result<Request<()>, Status> = carry_trace;
    Ok(InterceptedService::new(endpoint.connect_lazy(), carry))
}

/// Adds `traceparent` naming the running request's span, when a front door started a trace.
fn carry_trace(mut request: Request<()>) -> Result<Request<()>, Status> {
    if let Some(trace) = Trace::current()
        && let Ok(value) = MetadataValue::try_from(trace.traceparent())
    {
        request.metadata_mut().insert(TRACEPARENT, value);
    }
    Ok(request)
}

/// Deadlines, retries and the circuit breaker of every client call. Only the deadline is read
/// from the environment (`USVC_CLIENT_DEADLINE_MS`); the rest are fixed defaults that tests
/// shorten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientPolicy {
    /// The whole budget of one call, retries and waits included.
    pub deadline: Duration,
    /// Attempts of one call at most (the first included), for transient failures only.
    pub max_attempts: u32,
    /// The wait before the first retry; each further wait doubles (with jitter) up to
    /// `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Consecutive failed attempts after which the breaker opens and calls fail at once.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_cooldown: Duration,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            max_attempts: 3,
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(10),
        }
    }
}
