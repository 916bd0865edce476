//! `usvc:host/events`: domain events into the transactional outbox.

use wasmtime::component::HasData;

use crate::store::outbox;
use crate::{bindings::usvc::host::events::Host, clock::Clock, trace::Trace};

use super::{Tx, failed};

/// The `events` capability: the outbox in the call's unit of work, and the clock.
pub struct Outbox<'a> {
    pub clock: &'a dyn Clock,
    pub tx: Tx<'a>,
}

impl HasData for Outbox<'static> {
    type Data<'a> = Outbox<'a>;
}

/// `user.registered`, `auth.login_succeeded`: dotted, lower case, underscores within a word.
pub(super) fn is_event_type(s: &str) -> bool {
    let mut parts = s.split('.');
    s.len() <= 100
        && parts.clone().count() >= 2
        && parts.all(|p| {
            !p.is_empty()
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

impl Host for Outbox<'_> {
    async fn publish(
        &mut self,
        event_type: String,
        subject: String,
        data: String,
    ) -> wasmtime::Result<()> {
        if !is_event_type(&event_type) {
            wasmtime::bail!("events.publish: {event_type:?} is not a valid event type");
        }
        let data: serde_json::Value = serde_json::from_str(&data)
            .map_err(|e| wasmtime::format_err!("events.publish: data is not JSON: {e}"))?;
        if !data.is_object() {
            wasmtime::bail!("events.publish: data must be a JSON object");
        }
        let now = self.clock.unix();
        let conn = self.tx.conn().await.map_err(failed("events.publish"))?;
        let trace = Trace::current().map(|t| t.traceparent());
        outbox::append(conn, &event_type, &subject, &data, now, trace.as_deref())
            .await
            .map_err(failed("events.publish"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_event_type;

    #[test]
    fn event_types_are_dotted_lower_case() {
        assert!(is_event_type("user.registered"));
        assert!(is_event_type("auth.login_succeeded"));
        assert!(!is_event_type("registered"));
        assert!(!is_event_type("User.Registered"));
        assert!(!is_event_type("user..registered"));
        assert!(!is_event_type("user.registered!"));
    }
}
