//! The transactional outbox: events written beside the change they describe.

use super::{Connection, columns::JsonText};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub data: serde_json::Value,
    pub occurred_at: i64,
    /// The W3C `traceparent` of the request that caused the event, carried to its consumers.
    pub traceparent: Option<String>,
}

/// Appends an event in the caller's transaction; `traceparent` names the trace it belongs to.
pub async fn append(
    conn: &mut Connection,
    event_type: &str,
    subject: &str,
    data: &serde_json::Value,
    now: i64,
    traceparent: Option<&str>,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox (id, event_type, subject, data, occurred_at, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(event_type)
    .bind(subject)
    .bind(data.to_string())
    .bind(now)
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    event_type: String,
    subject: String,
    data: JsonText<serde_json::Value>,
    occurred_at: i64,
    traceparent: Option<String>,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            event_type: row.event_type,
            subject: row.subject,
            data: row.data.0,
            occurred_at: row.occurred_at,
            traceparent: row.traceparent,
        }
    }
}

/// Every event, oldest first.
pub async fn all(conn: &mut Connection) -> sqlx::Result<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, event_type, subject, data, occurred_at, traceparent FROM outbox ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// Up to `limit` undelivered events, oldest first.
pub async fn pending(conn: &mut Connection, limit: i64) -> sqlx::Result<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, event_type, subject, data, occurred_at, traceparent FROM outbox \
         WHERE published_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

pub async fn mark_published(conn: &mut Connection, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE outbox SET published_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many events wait for the relay, and when the oldest of them occurred.
pub async fn backlog(conn: &mut Connection) -> sqlx::Result<(i64, Option<i64>)> {
    sqlx::query_as("SELECT COUNT(*), MIN(occurred_at) FROM outbox WHERE published_at IS NULL")
        .fetch_one(conn)
        .await
}
