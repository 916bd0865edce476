//! Messages to customers. What a notice says and the notifier port are the runtime's (a
//! component's `notify` capability sends them); the bank's notification service is a notifier in
//! `usvc-adapters`.

pub use crate::runtime::notify::*;
