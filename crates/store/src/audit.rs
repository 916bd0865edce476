//! The `audit_events` table: the authentication trail, kept beside the outbox. With an audit
//! service configured it is also that service's outbox (`forwarded_at`).

use super::{Connection, columns::JsonText};

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

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    event_type: String,
    user_id: String,
    data: JsonText<serde_json::Value>,
    occurred_at: i64,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        Self {
            id: row.id,
            event_type: row.event_type,
            user_id: row.user_id,
            data: row.data.0,
            occurred_at: row.occurred_at,
        }
    }
}

/// A customer's trail, oldest first.
pub async fn for_user(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<AuditEvent>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, event_type, user_id, data, occurred_at FROM audit_events \
         WHERE user_id = $1 ORDER BY occurred_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

/// Up to `limit` rows not yet forwarded to the audit service, oldest first (ids are UUIDv7).
pub async fn unforwarded(conn: &mut Connection, limit: i64) -> sqlx::Result<Vec<AuditEvent>> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, event_type, user_id, data, occurred_at FROM audit_events \
         WHERE forwarded_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
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
