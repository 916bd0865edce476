//! Broker integration tests against the local RabbitMQ: the KYC results consumer (inbox,
//! dead-letter queue, bounded retries) on both backends, and a real broker outage during a burst
//! of registrations. Every test has exchanges and queues of its own, deleted when it ends. The
//! outage test stops the broker, so it runs alone: it takes [`BROKER`] exclusively, every other
//! test here shares it.

mod dashboard;
mod fixture;
mod forged;
mod kyc_results;
mod outage;
mod verification;

/// Taken shared by every test that needs the broker up, exclusively by the one that stops it.
pub static BROKER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
