//! HTTP integration tests: the real application on a random port, against SQLite and against
//! PostgreSQL, through its front door.

mod admin;
mod components;
mod contact;
mod devices;
mod documents;
mod error_tracking;
mod errors;
mod events;
mod fleet;
mod guard;
mod keys;
mod mfa;
mod onboarding;
mod operations;
mod parsing;
mod password;
mod profile;
mod reset;
mod sandbox;
mod sessions;
mod swap;
mod takeover;
mod trials;
mod unit_of_work;
mod verification;
