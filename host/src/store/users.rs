//! The `users` table: the customer directory.

use sqlx::Row;

use super::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    PendingVerification,
    Active,
    Locked,
    Closed,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingVerification => "pending_verification",
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Closed => "closed",
        }
    }

    fn parse(s: &str) -> sqlx::Result<Self> {
        Ok(match s {
            "pending_verification" => Self::PendingVerification,
            "active" => Self::Active,
            "locked" => Self::Locked,
            "closed" => Self::Closed,
            other => {
                return Err(sqlx::Error::Decode(
                    format!("unknown user status {other:?}").into(),
                ));
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub legal_name: String,
    pub date_of_birth: String,
    pub country_of_residence: String,
    pub phone: Option<String>,
    pub status: UserStatus,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub legal_name: String,
    pub date_of_birth: String,
    pub country_of_residence: String,
    pub phone: Option<String>,
}

const COLUMNS: &str =
    "id, email, legal_name, date_of_birth, country_of_residence, phone, status, created_at";

fn from_row(row: sqlx::any::AnyRow) -> sqlx::Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        legal_name: row.try_get("legal_name")?,
        date_of_birth: row.try_get("date_of_birth")?,
        country_of_residence: row.try_get("country_of_residence")?,
        phone: row.try_get("phone")?,
        status: UserStatus::parse(row.try_get::<String, _>("status")?.as_str())?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn find_by_email(conn: &mut Connection, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await?
        .map(from_row)
        .transpose()
}

pub async fn get(conn: &mut Connection, id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(from_row)
        .transpose()
}

pub async fn list(conn: &mut Connection) -> sqlx::Result<Vec<User>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(from_row)
    .collect()
}

/// Inserts a pending customer; `None` when the email is already taken. `ON CONFLICT DO NOTHING`
/// keeps a PostgreSQL transaction usable after the clash.
pub async fn create(conn: &mut Connection, new: &NewUser, now: i64) -> sqlx::Result<Option<User>> {
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, legal_name, date_of_birth, country_of_residence, phone, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(&id)
    .bind(&new.email)
    .bind(&new.legal_name)
    .bind(&new.date_of_birth)
    .bind(&new.country_of_residence)
    .bind(new.phone.as_deref())
    .bind(UserStatus::PendingVerification.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok((inserted == 1).then(|| User {
        id,
        email: new.email.clone(),
        legal_name: new.legal_name.clone(),
        date_of_birth: new.date_of_birth.clone(),
        country_of_residence: new.country_of_residence.clone(),
        phone: new.phone.clone(),
        status: UserStatus::PendingVerification,
        created_at: now,
    }))
}

pub async fn set_status(
    conn: &mut Connection,
    id: &str,
    status: UserStatus,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(updated == 1)
}

/// Sets the identity fields a customer may correct in their profile.
pub async fn set_identity(
    conn: &mut Connection,
    id: &str,
    legal_name: &str,
    date_of_birth: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE users SET legal_name = $1, date_of_birth = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(legal_name)
    .bind(date_of_birth)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Every role the user holds: `customer`, then any granted staff roles in name order.
pub async fn roles(conn: &mut Connection, id: &str) -> sqlx::Result<Vec<String>> {
    let granted: Vec<String> =
        sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(conn)
            .await?;
    Ok(std::iter::once("customer".to_owned())
        .chain(granted)
        .collect())
}

/// Grants a staff role; false when the user already held it.
pub async fn grant_role(
    conn: &mut Connection,
    id: &str,
    role: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(id)
    .bind(role)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Up to `limit` customers after the `(created_at, id)` cursor, in creation order; only those in
/// `status` when given.
pub async fn page(
    conn: &mut Connection,
    after: Option<(i64, &str)>,
    status: Option<UserStatus>,
    limit: i64,
) -> sqlx::Result<Vec<User>> {
    let (after_at, after_id) = after.unwrap_or((i64::MIN, ""));
    let status_filter = if status.is_some() {
        "AND status = $4"
    } else {
        ""
    };
    let query = format!(
        "SELECT {COLUMNS} FROM users \
         WHERE (created_at > $1 OR (created_at = $1 AND id > $2)) {status_filter} \
         ORDER BY created_at, id LIMIT $3"
    );
    let mut query = sqlx::query(&query)
        .bind(after_at)
        .bind(after_id)
        .bind(limit);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}
