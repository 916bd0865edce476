//! The bank's services usvc calls over gRPC: the real application (or the real clients) against
//! test servers that implement the client protos over gRPC on loopback (`support/bank.rs`).
//! Notifications and audit forwarding go through the app's front door on SQLite and PostgreSQL;
//! the KYC round trip and the deadline, retry and breaker behaviour through the clients.

mod audit;
mod kyc;
mod notify;
mod resilience;
mod verification;

use std::time::Duration;

use usvc::config::ClientPolicy;

/// A policy quick enough for tests: short deadline, waits and cool-down.
pub fn quick_policy() -> ClientPolicy {
    ClientPolicy {
        deadline: Duration::from_millis(1500),
        max_attempts: 3,
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(500),
    }
}
