//! The transactional outbox: events written beside the change they describe.

use sqlx::Row;

use super::Connection;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub data: serde_json::Value,
    pub occurred_at: i64,
}

pub async fn append(
    conn: &mut Connection,
    event_type: &str,
    subject: &str,
    data: &serde_json::Value,
    now: i64,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox (id, event_type, subject, data, occurred_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(event_type)
    .bind(subject)
    .bind(data.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

fn from_row(row: sqlx::any::AnyRow) -> sqlx::Result<Event> {
    let data: String = row.try_get("data")?;
    Ok(Event {
        id: row.try_get("id")?,
        event_type: row.try_get("event_type")?,
        subject: row.try_get("subject")?,
        data: serde_json::from_str(&data).map_err(|e| sqlx::Error::Decode(e.into()))?,
        occurred_at: row.try_get("occurred_at")?,
    })
}

/// Every event, oldest first.
pub async fn all(conn: &mut Connection) -> sqlx::Result<Vec<Event>> {
    sqlx::query("SELECT id, event_type, subject, data, occurred_at FROM outbox ORDER BY id")
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// Up to `limit` undelivered events, oldest first.
pub async fn pending(conn: &mut Connection, limit: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query(
        "SELECT id, event_type, subject, data, occurred_at FROM outbox \
         WHERE published_at IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

pub async fn mark_published(conn: &mut Connection, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE outbox SET published_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
