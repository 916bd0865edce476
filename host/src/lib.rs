//! usvc, the bank's user service: a native host that runs the business rules as sandboxed
//! WebAssembly components. See `docs/architecture.md` for the map.

pub mod admin;
pub mod app;
pub mod auth;
pub mod capabilities;
pub mod clients;
pub mod clock;
pub mod config;
pub mod documents;
pub mod events;
pub mod grpc;
pub mod guard;
pub mod http;
pub mod kyc;
pub mod lifecycle;
pub mod notify;
pub mod profile;
pub mod runtime;
pub mod telemetry;
pub mod verification;

// The layers below the host, under the names the host has always used for them.
pub use usvc_store::{self as store, secrets};
