//! The one way an event about a customer's access or identity (authentication, a KYC result) is
//! recorded: published through the outbox and kept in the audit table, both in the caller's
//! transaction, so neither exists without the other.

use crate::{
    capabilities::Capabilities,
    store::{Connection, Transaction, audit, outbox},
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
    let id = outbox::append(conn, event_type, user_id, &data, now).await?;
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
