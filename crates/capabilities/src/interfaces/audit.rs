//! `usvc:host/audit`: the audit trail, written in the call's unit of work.

use wasmtime::component::HasData;

use crate::store::audit::{self, AuditEvent};
use crate::{bindings::usvc::host::audit::Host, clock::Clock};

use super::{Tx, events::is_event_type, failed};

/// The `audit` capability: the trail in the call's unit of work, and the clock.
pub struct Trail<'a> {
    pub clock: &'a dyn Clock,
    pub tx: Tx<'a>,
}

impl HasData for Trail<'static> {
    type Data<'a> = Trail<'a>;
}

impl Host for Trail<'_> {
    async fn append(
        &mut self,
        event_type: String,
        subject: String,
        data: String,
    ) -> wasmtime::Result<()> {
        if !is_event_type(&event_type) {
            wasmtime::bail!("audit.append: {event_type:?} is not a valid event type");
        }
        let data: serde_json::Value = serde_json::from_str(&data)
            .map_err(|e| wasmtime::format_err!("audit.append: data is not JSON: {e}"))?;
        if !data.is_object() {
            wasmtime::bail!("audit.append: data must be a JSON object");
        }
        let event = AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            event_type,
            user_id: subject,
            data,
            occurred_at: self.clock.unix(),
        };
        let conn = self.tx.conn().await.map_err(failed("audit.append"))?;
        audit::insert(conn, &event)
            .await
            .map_err(failed("audit.append"))
    }
}
