//! Abuse protection shared by every replica: rate limits, login delay and lockout, and the
//! session revocation cache. State lives in Redis when it is configured and reachable, and in
//! this process's memory otherwise, so Redis going down never takes login down.

pub mod limits;
pub mod revocation;

pub use crate::runtime::kv::Shared;
pub use limits::{Action, Guard, Refusal};
pub use revocation::SessionGate;
