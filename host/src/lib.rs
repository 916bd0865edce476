//! usvc, the bank's user service: a native host that runs the business rules as sandboxed
//! WebAssembly components. This crate is the composition root: it reads the configuration
//! ([`config::Config`]), builds the service from it ([`app::Application`]), sets up telemetry,
//! pins the release's baseline components, reports errors ([`tracking`]), scaffolds new ones and drives a running service's
//! admin API from the command line ([`admin_client`]). See `docs/architecture.md`.

pub mod admin_client;
pub mod app;
pub mod baseline;
pub mod config;
pub mod scaffold;
pub mod scrub;
pub mod telemetry;
pub mod tracking;

// Every layer, under the names the service has always used for them.
pub use usvc_adapters::{self as adapters, clients};
pub use usvc_core::{
    admin, auth, capabilities, clock, documents, events, grants, guard, kyc, lifecycle, notify,
    profile, runtime, secrets, state, store, trail, verification,
};
pub use usvc_grpc as grpc;
pub use usvc_http as http;
