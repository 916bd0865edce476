//! RabbitMQ (lapin): [`publisher`] is the outbox relay's broker, [`consumer`] reads other
//! services' events into a core [`Handler`](usvc_core::events::inbound::Handler).

pub mod consumer;
pub mod publisher;

pub use consumer::{AmqpConsumer, Subscription};
pub use publisher::AmqpPublisher;
