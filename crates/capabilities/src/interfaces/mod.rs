//! One module per WIT interface: its context, and the generated `Host` trait implemented on it.

pub mod audit;
pub mod clock;
pub mod credentials;
pub mod events;
pub mod factors;
pub mod kv;
pub mod kyc;
pub mod logging;
pub mod notify;
pub mod users;

pub use self::kv::KvState;
use crate::{CapabilityFailure, Tx, failed};
