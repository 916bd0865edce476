//! Messages to customers. What a notice says and the notifier port are the runtime's (a
//! component's `notify` capability sends them); this module adds the bank's notification
//! service as a notifier.

mod grpc;

pub use crate::runtime::notify::*;
pub use grpc::GrpcNotifier;
