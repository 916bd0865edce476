//! Other services' events as the core sees them, whatever bus carried them: a [`Message`] (body
//! and text headers) handed to a [`Handler`], which answers what became of it. The consumer that
//! reads them from RabbitMQ, with its retries and dead letters, is `usvc-adapters`'.

use std::{borrow::Cow, future::Future};

/// What became of one message.
#[derive(Debug)]
pub enum Disposition {
    /// Its effect was committed: acknowledge it.
    Processed,
    /// It had been processed before (the inbox knew its id): acknowledge it.
    Duplicate,
    /// It can never be processed (unreadable, breaks the contract, names something unknown):
    /// dead-letter it at once. The reason is a code that names no personal data.
    Poison(Cow<'static, str>),
    /// It failed for a reason that may pass (the database): retry it later, a bounded number of
    /// times, then dead-letter it.
    Transient(anyhow::Error),
}

/// A delivered message as a [`Handler`] sees it: its body and its text headers.
pub struct Message<'a> {
    pub body: &'a [u8],
    pub headers: Vec<(String, String)>,
}

impl Message<'_> {
    /// A text header; `None` when absent (or, on the wire, of another type than text).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// What a consumer does with a message. Processing must be idempotent by message id.
pub trait Handler: Send + Sync + 'static {
    /// The consumer's name in logs and metric labels, e.g. `kyc_results`.
    fn name(&self) -> &'static str;

    fn handle(&self, message: &Message<'_>) -> impl Future<Output = Disposition> + Send;
}
