//! HTTP integration tests: the real application on a random port, against SQLite and against
//! PostgreSQL, through its front door.

mod errors;
mod onboarding;
mod operations;
mod password;
mod sessions;
mod unit_of_work;
