//! Devices customers log in from: recognised by the hash of a token the client keeps, with
//! user agent, address and when the device was first and last seen.

use super::Connection;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: String,
    pub name: String,
    pub user_agent: String,
    pub ip: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

const COLUMNS: &str = "id, name, user_agent, ip, first_seen_at, last_seen_at";

/// The customer's device whose token hashes to `token_hash`, seen again now.
pub async fn touch_known(
    conn: &mut Connection,
    user_id: &str,
    token_hash: &str,
    user_agent: &str,
    ip: &str,
    now: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE devices SET last_seen_at = $1, user_agent = $2, ip = $3 \
         WHERE user_id = $4 AND token_hash = $5 RETURNING id",
    )
    .bind(now)
    .bind(user_agent)
    .bind(ip)
    .bind(user_id)
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

pub struct NewDevice<'a> {
    pub user_id: &'a str,
    pub token_hash: &'a str,
    pub name: &'a str,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

pub async fn create(
    conn: &mut Connection,
    device: NewDevice<'_>,
    now: i64,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO devices (id, user_id, token_hash, name, user_agent, ip, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(device.user_id)
    .bind(device.token_hash)
    .bind(device.name)
    .bind(device.user_agent)
    .bind(device.ip)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Marks the device of a session as seen now (on refresh).
pub async fn touch_by_session(
    conn: &mut Connection,
    session_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE devices SET last_seen_at = $1 \
         WHERE id = (SELECT device_id FROM sessions WHERE id = $2)",
    )
    .bind(now)
    .bind(session_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer's devices, most recently seen first.
pub async fn list(conn: &mut Connection, user_id: &str) -> sqlx::Result<Vec<Device>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Renames one of the customer's devices; `None` when it is not theirs.
pub async fn rename(
    conn: &mut Connection,
    user_id: &str,
    device_id: &str,
    name: &str,
) -> sqlx::Result<Option<Device>> {
    sqlx::query_as(&format!(
        "UPDATE devices SET name = $1 WHERE id = $2 AND user_id = $3 RETURNING {COLUMNS}"
    ))
    .bind(name)
    .bind(device_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Forgets one of the customer's devices; false when it is not theirs.
pub async fn delete(conn: &mut Connection, user_id: &str, device_id: &str) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM devices WHERE id = $1 AND user_id = $2")
        .bind(device_id)
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// A readable default name from a user agent, such as "Firefox on Linux".
pub fn name_from_user_agent(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("okhttp", "Android app"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| user_agent.contains(needle))
            .map(|(_, name)| *name)
    };
    match (find(&BROWSERS), find(&SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => "Unknown device".to_owned(),
    }
}

/// Whether the customer has a device whose token hashes to `token_hash` (nothing is touched).
pub async fn is_known(
    conn: &mut Connection,
    user_id: &str,
    token_hash: &str,
) -> sqlx::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM devices WHERE user_id = $1 AND token_hash = $2")
            .bind(user_id)
            .bind(token_hash)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::name_from_user_agent;

    #[test]
    fn devices_get_readable_names() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(name_from_user_agent(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(name_from_user_agent(chrome), "Chrome on Windows");
        assert_eq!(name_from_user_agent(""), "Unknown device");
    }
}
