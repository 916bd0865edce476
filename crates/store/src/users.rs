//! The `users` table: the customer directory. The date of birth is stored sealed
//! ([`crate::secrets`]) and opened only by the readers that show it.

use super::{Connection, columns::text_column};
use crate::secrets::{SecretBox, field_context};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

    /// The status a stored text names.
    pub fn parse(text: &str) -> Result<Self, UnknownStatus> {
        [
            Self::PendingVerification,
            Self::Active,
            Self::Locked,
            Self::Closed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

/// A `status` column holding none of [`UserStatus`]'s names.
#[derive(Debug, thiserror::Error)]
#[error("unknown user status {0:?}")]
pub struct UnknownStatus(String);

impl TryFrom<String> for UserStatus {
    type Error = UnknownStatus;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

text_column!(UserStatus);

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub email: String,
    pub legal_name: String,
    /// As stored: sealed, or in the clear when an earlier version wrote it. Read it with
    /// [`User::date_of_birth`].
    #[sqlx(rename = "date_of_birth")]
    pub stored_date_of_birth: String,
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

impl User {
    /// The date of birth (`YYYY-MM-DD`), opened; an error when it does not open with this key.
    pub fn date_of_birth(&self, secrets: &SecretBox) -> anyhow::Result<String> {
        open_date_of_birth(secrets, &self.id, &self.stored_date_of_birth)
    }
}

/// Length of a date of birth in the clear (`YYYY-MM-DD`); a sealed one is over 50 characters.
pub const CLEAR_DATE_LEN: usize = 10;

/// A stored date of birth, opened. A clear one was written by a version before sealing (an old
/// replica during a rolling deploy, or a row start-up has not sealed yet) and is read as it is.
pub fn open_date_of_birth(
    secrets: &SecretBox,
    user_id: &str,
    stored: &str,
) -> anyhow::Result<String> {
    if stored.len() == CLEAR_DATE_LEN {
        return Ok(stored.to_owned());
    }
    secrets.open_text(stored, &field_context("user", user_id, "date_of_birth"))
}

/// A date of birth sealed for its customer's row.
pub fn seal_date_of_birth(secrets: &SecretBox, user_id: &str, date: &str) -> String {
    secrets.seal_text(date, &field_context("user", user_id, "date_of_birth"))
}

const COLUMNS: &str =
    "id, email, legal_name, date_of_birth, country_of_residence, phone, status, created_at";

pub async fn find_by_email(conn: &mut Connection, email: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await
}

/// A customer with their password hash.
#[derive(sqlx::FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: User,
    password_hash: Option<String>,
}

/// The customer holding `email` and their password hash (none for an account without one), in
/// one query: a login costs the same round trips whether or not the address is known.
pub async fn find_for_login(
    conn: &mut Connection,
    email: &str,
) -> sqlx::Result<Option<(User, Option<String>)>> {
    let row: Option<LoginRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, (SELECT password_hash FROM password_credentials \
         WHERE password_credentials.user_id = users.id) AS password_hash \
         FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.user, row.password_hash)))
}

pub async fn get(conn: &mut Connection, id: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn list(conn: &mut Connection) -> sqlx::Result<Vec<User>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await
}

/// Inserts a pending customer, the date of birth sealed; `None` when the email is already taken.
/// `ON CONFLICT DO NOTHING` keeps a PostgreSQL transaction usable after the clash.
pub async fn create(
    conn: &mut Connection,
    secrets: &SecretBox,
    new: &NewUser,
    now: i64,
) -> sqlx::Result<Option<User>> {
    let id = uuid::Uuid::now_v7().to_string();
    let sealed_date = seal_date_of_birth(secrets, &id, &new.date_of_birth);
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, legal_name, date_of_birth, country_of_residence, phone, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(&id)
    .bind(&new.email)
    .bind(&new.legal_name)
    .bind(&sealed_date)
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
        stored_date_of_birth: sealed_date,
        country_of_residence: new.country_of_residence.clone(),
        phone: new.phone.clone(),
        status: UserStatus::PendingVerification,
        created_at: now,
    }))
}

/// Replaces what a customer still waiting for their address to be confirmed registered with:
/// the newest registration of a pending address wins, so a confirmed account carries only what
/// its address's owner submitted last. `false` (and nothing written) unless the customer exists
/// and is pending.
pub async fn replace_pending(
    conn: &mut Connection,
    secrets: &SecretBox,
    id: &str,
    new: &NewUser,
    now: i64,
) -> sqlx::Result<bool> {
    let sealed_date = seal_date_of_birth(secrets, id, &new.date_of_birth);
    let updated = sqlx::query(
        "UPDATE users SET legal_name = $1, date_of_birth = $2, country_of_residence = $3, \
         phone = $4, updated_at = $5 WHERE id = $6 AND status = $7",
    )
    .bind(&new.legal_name)
    .bind(&sealed_date)
    .bind(&new.country_of_residence)
    .bind(new.phone.as_deref())
    .bind(now)
    .bind(id)
    .bind(UserStatus::PendingVerification.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
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

/// Sets the identity fields a customer may correct in their profile (the date sealed).
pub async fn set_identity(
    conn: &mut Connection,
    secrets: &SecretBox,
    id: &str,
    legal_name: &str,
    date_of_birth: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE users SET legal_name = $1, date_of_birth = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(legal_name)
    .bind(seal_date_of_birth(secrets, id, date_of_birth))
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Sets a phone number the customer just proved they receive messages at.
pub async fn set_verified_phone(
    conn: &mut Connection,
    id: &str,
    phone: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE users SET phone = $1, phone_verified_at = $2, updated_at = $2 WHERE id = $3",
    )
    .bind(phone)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Whether the customer proved they receive messages at their phone number.
pub async fn phone_verified(conn: &mut Connection, id: &str) -> sqlx::Result<bool> {
    let verified_at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT phone_verified_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(verified_at.flatten().is_some())
}

/// Changes the customer's email address; false when another customer has it (checked in the
/// same statement, so nothing half-written remains either way).
pub async fn set_email(
    conn: &mut Connection,
    id: &str,
    email: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE users SET email = $1, updated_at = $2 WHERE id = $3 \
         AND NOT EXISTS (SELECT 1 FROM users other WHERE other.email = $1)",
    )
    .bind(email)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Whether a customer has this (normalised) address.
pub async fn email_taken(conn: &mut Connection, email: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
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
    let mut query = sqlx::query_as(&query)
        .bind(after_at)
        .bind(after_id)
        .bind(limit);
    if let Some(status) = status {
        query = query.bind(status.as_str());
    }
    query.fetch_all(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_back_what_it_writes() {
        for status in [
            UserStatus::PendingVerification,
            UserStatus::Active,
            UserStatus::Locked,
            UserStatus::Closed,
        ] {
            assert_eq!(
                UserStatus::try_from(status.as_str().to_owned()).unwrap(),
                status
            );
        }
        let unknown = UserStatus::try_from("suspended".to_owned()).unwrap_err();
        assert_eq!(unknown.to_string(), "unknown user status \"suspended\"");
    }
}
