//! The `audit_events` table: the authentication trail, kept beside the outbox. With an audit
//! service configured it is also that service's outbox (`forwarded_at`).

use sqlx::Row;

use super::Connection;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub event_type: String,
    pub user_id: String,
    pub data: serde_json::Value,
    pub occurred_at: i64,
}

pub async fn insert(conn: &mut Connection, event: &AuditEvent) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, event_type, user_id, data, occurred_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&event.id)
    .bind(&event.event_type)
    .bind(&event.user_id)
    .bind(event.data.to_string())
    .bind(event.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

fn from_row(row: sqlx::any::AnyRow) -> sqlx::Result<AuditEvent> {
    let data: String = row.try_get("data")?;
    Ok(AuditEvent {
        id: row.try_get("id")?,
        event_type: row.try_get("event_type")?,
        user_id: row.try_get("user_id")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(e.into()))?,
        occurred_at: row.try_get("occurred_at")?,
    })
}

/// A customer's trail, oldest first.
pub async fn for_user(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<AuditEvent>> {
    sqlx::query(
        "SELECT id, event_type, user_id, data, occurred_at FROM audit_events \
         WHERE user_id = $1 ORDER BY occurred_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Up to `limit` rows not yet forwarded to the audit service, oldest first (ids are UUIDv7).
pub async fn unforwarded(conn: &mut Connection, limit: i64) -> sqlx::Result<Vec<AuditEvent>> {
    sqlx::query(
        "SELECT id, event_type, user_id, data, occurred_at FROM audit_events \
         WHERE forwarded_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Notes that the audit service has the row `id`.
pub async fn mark_forwarded(conn: &mut Connection, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE audit_events SET forwarded_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
