//! The one way an event about a customer's access or identity (authentication, a KYC result) is
//! recorded: published through the outbox and kept in the audit table, both in the caller's
//! transaction, so neither exists without the other.

use std::{sync::Arc, time::Duration};

use tokio_util::task::TaskTracker;

use crate::{
    capabilities::{
        Capabilities,
        trace::{self, Trace},
    },
    store::{self, Connection, Transaction, audit, outbox},
};

/// Records `event_type` about `user_id`. `data` must hold identifiers and reasons only: never a
/// password, a token, a code or an address.
pub async fn record(
    conn: &mut Connection,
    event_type: &str,
    user_id: &str,
    data: serde_json::Value,
    now: i64,
) -> sqlx::Result<()> {
    let trace = Trace::current().map(|t| t.traceparent());
    let id = outbox::append(conn, event_type, user_id, &data, now, trace.as_deref()).await?;
    let event = audit::AuditEvent {
        id,
        event_type: event_type.to_owned(),
        user_id: user_id.to_owned(),
        data,
        occurred_at: now,
    };
    audit::insert(conn, &event).await
}

/// Records one `auth.session_revoked` per ended session, with why.
pub async fn sessions_revoked(
    conn: &mut Connection,
    user_id: &str,
    session_ids: &[String],
    reason: &str,
    now: i64,
) -> sqlx::Result<()> {
    for session_id in session_ids {
        let data =
            serde_json::json!({ "user_id": user_id, "session_id": session_id, "reason": reason });
        record(conn, "auth.session_revoked", user_id, data, now).await?;
    }
    Ok(())
}

/// Commits a transaction that recorded events and wakes the outbox relay, so they are published
/// at once rather than at its next poll.
pub async fn commit(tx: Transaction, caps: &Capabilities) -> sqlx::Result<()> {
    tx.commit().await?;
    caps.outbox_committed.notify_one();
    Ok(())
}

/// Records written a moment after the answer that caused them, so that the answer's timing does not
/// show whether one was written: a wrong password for a known address records
/// `auth.login_failed`, an unknown address nothing. A graceful stop waits for them; one that
/// cannot be written is logged and counted (`usvc_deferred_records_lost_total`).
#[derive(Clone, Default)]
pub struct AfterAnswer(TaskTracker);

impl AfterAnswer {
    /// Records `event_type` about `user_id` in a transaction of its own, soon.
    pub fn record(
        &self,
        caps: &Arc<Capabilities>,
        event_type: &'static str,
        user_id: &str,
        data: serde_json::Value,
        now: i64,
    ) {
        let (caps, user_id) = (caps.clone(), user_id.to_owned());
        self.0.spawn(trace::carried(async move {
            // Let the answer go out first: the write must not compete with it for the cores.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let written = async {
                let mut tx = store::begin(&caps.db).await?;
                record(&mut tx, event_type, &user_id, data, now).await?;
                commit(tx, &caps).await
            };
            if let Err(error) = written.await {
                metrics::counter!("usvc_deferred_records_lost_total", "event_type" => event_type)
                    .increment(1);
                tracing::error!(%user_id, event_type, %error, "a record due after an answer was lost");
            }
        }));
    }

    /// Waits, up to `within`, for the records still being written.
    pub async fn finish(&self, within: Duration) {
        self.0.close();
        if tokio::time::timeout(within, self.0.wait()).await.is_err() {
            tracing::error!(
                pending = self.0.len(),
                "records due after their answers were not all written before the stop"
            );
        }
    }
}
