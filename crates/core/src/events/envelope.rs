//! The stable JSON envelope every published event travels in. Consumers rely on its shape:
//! change it only by raising `schema_version`.

use serde::Serialize;

use crate::store::outbox::Event;

/// The envelope's shape; consumers check it before reading `data`.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<'a> {
    /// The event id (UUID v7): consumers deduplicate by it.
    pub id: &'a str,
    /// `user.registered`, `auth.login_succeeded`, …; also the routing key.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// RFC 3339, UTC.
    pub occurred_at: String,
    /// Whom the event is about: a customer id.
    pub subject: &'a str,
    pub data: &'a serde_json::Value,
    pub schema_version: u32,
    /// The W3C trace the event belongs to: a message header (`traceparent`), not in the body.
    #[serde(skip)]
    pub traceparent: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    pub fn of(event: &'a Event) -> Self {
        Self {
            id: &event.id,
            event_type: &event.event_type,
            occurred_at: crate::clock::rfc3339(event.occurred_at),
            subject: &event.subject,
            data: &event.data,
            schema_version: SCHEMA_VERSION,
            traceparent: event.traceparent.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_its_documented_shape() {
        let event = Event {
            id: "0193".into(),
            event_type: "user.registered".into(),
            subject: "u1".into(),
            data: serde_json::json!({"user_id": "u1"}),
            occurred_at: 1_790_000_000,
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        };
        let json = serde_json::to_value(Envelope::of(&event)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "0193",
                "type": "user.registered",
                "occurred_at": "2026-09-21T14:13:20Z",
                "subject": "u1",
                "data": {"user_id": "u1"},
                "schema_version": 1,
            })
        );
    }
}
