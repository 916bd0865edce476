//! The development mailbox: keeps every message in memory so a developer or a test can read
//! what a customer would have received (`GET /dev/mailbox`, development mode only).

use std::sync::Mutex;

use super::{Notification, Notifier};

const CAPACITY: usize = 1000;

#[derive(Default)]
pub struct DevMailbox(Mutex<Vec<Notification>>);

impl DevMailbox {
    /// Messages, oldest first; only those to `to` when given.
    pub fn messages(&self, to: Option<&str>) -> Vec<Notification> {
        let to = to.map(|t| t.trim().to_lowercase());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|m| to.as_deref().is_none_or(|t| m.to == t))
            .cloned()
            .collect()
    }
}

#[async_trait::async_trait]
impl Notifier for DevMailbox {
    async fn deliver(&self, n: &Notification) -> anyhow::Result<()> {
        let mut messages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if messages.len() == CAPACITY {
            messages.remove(0);
        }
        messages.push(n.clone());
        Ok(())
    }
}
