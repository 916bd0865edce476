//! usvc, the bank's user service: a native host that runs the business rules as sandboxed
//! WebAssembly components. This crate is the composition root: it reads the configuration
//! ([`config::Config`]), builds the service from it ([`app::Application`]), sets up telemetry,
//! pins the release's baseline components and scaffolds new ones. See `docs/architecture.md`.

pub mod app;
pub mod baseline;
pub mod config;
pub mod scaffold;
pub mod telemetry;

// Every layer, under the names the service has always used for them.
pub use usvc_core::{
    admin, auth, capabilities, clients, clock, documents, events, grants, guard, kyc, lifecycle,
    notify, profile, runtime, secrets, state, store, trail, verification,
};
pub use usvc_grpc as grpc;
pub use usvc_http as http;
