//! usvc's core: the domain services (authentication and sessions, profile, documents,
//! verification and KYC, administration, the component lifecycle), the guards, and the ports its
//! adapters (`usvc-adapters`: the bank's services, RabbitMQ, Redis, S3) implement. The front
//! doors (`usvc-http`, `usvc-grpc`) call into it; it knows neither them, nor the adapters, nor
//! the composition root.

pub mod admin;
pub mod auth;
pub mod customers;
pub mod documents;
pub mod events;
pub mod failure;
pub mod grants;
pub mod guard;
pub mod kyc;
pub mod lifecycle;
pub mod notify;
pub mod profile;
pub mod state;
pub mod trail;
pub mod verification;

// The layers below, under the names the core has always used for them.
pub use usvc_runtime::{self as runtime, capabilities, capabilities::trace, clock};
pub use usvc_store::{self as store, secrets};
