//! What every front door serves requests with: the runtime and capabilities, token issuing,
//! the guards, and the domain services, built once by the composition root and shared.

use std::sync::Arc;

use crate::{
    auth::Authenticator,
    documents::{self, files::FilesystemObjects},
    lifecycle::Lifecycle,
    notify::DevMailbox,
    profile::Profiles,
    verification::Verifier,
    verification::provider::KycProvider,
};

/// What every front door (HTTP, gRPC) serves requests with: one instance, shared. It derefs to
/// its [`Authenticator`] (`state.caps`, `state.tokens`, ...), which is all the authentication
/// flows are given.
#[derive(Clone)]
pub struct AppState {
    pub auth: Authenticator,
    pub mailbox: Option<Arc<DevMailbox>>,
    /// Identity checks: the bank's KYC service, or the sandbox when none is configured.
    pub kyc: Arc<dyn KycProvider>,
    /// The verification flow around the verification policy component.
    pub verifier: Verifier,
    /// The profile, preferences and contact-change flows.
    pub profiles: Profiles,
    pub trust_forwarded_for: bool,
    /// Trusted proxies appending to `X-Forwarded-For`.
    pub forwarded_for_hops: usize,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// KYC documents and avatars: the object store and the limits of its URLs.
    pub documents: Arc<documents::Documents>,
    /// The embedded object store, whose presigned URLs this host serves (`/v1/objects/…`);
    /// `None` when objects live in S3.
    pub object_files: Option<Arc<FilesystemObjects>>,
    /// Deploys, rollbacks and the fleet's active component versions.
    pub lifecycle: Arc<Lifecycle>,
}

impl std::ops::Deref for AppState {
    type Target = Authenticator;

    fn deref(&self) -> &Authenticator {
        &self.auth
    }
}

/// Whether the service runs for a developer (dev mailbox, generated keys) or for customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}
