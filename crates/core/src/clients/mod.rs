//! The bank's services usvc calls over gRPC (`proto/clients`): KYC checks, messages to
//! customers and the central audit log. Every call has a deadline, is retried with backoff when
//! it failed transiently (all of them are idempotent by a key usvc chooses), and goes through the
//! client's circuit breaker (`resilience`). Channels connect lazily, so start-up never waits for
//! another service. A service left unconfigured is replaced by an embedded default: the sandbox
//! KYC, the log notifier, the local audit table alone.

pub mod audit;
pub mod kyc;
pub mod notification;
pub mod resilience;

use tonic::{
    Code,
    transport::{Channel, ClientTlsConfig, Endpoint},
};

use crate::config::ClientPolicy;

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
pub fn channel(url: &str, policy: &ClientPolicy) -> anyhow::Result<Channel> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(policy.deadline)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        endpoint = endpoint.tls_config(ClientTlsConfig::new().with_native_roots())?;
    }
    Ok(endpoint.connect_lazy())
}
