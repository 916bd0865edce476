//! Customer records as the front doors read them: by id, by address, a page at a time, with
//! their roles, and the date of birth opened. Reading only; what changes a record is a flow of
//! its own (`profile`, `admin`, `auth`). The front doors reach the database through here, never
//! themselves.

use crate::{
    capabilities::Capabilities,
    store::users::{self, User, UserStatus},
};

/// The customer with id `id`.
pub async fn get(caps: &Capabilities, id: &str) -> sqlx::Result<Option<User>> {
    let mut conn = caps.db.acquire().await?;
    users::get(&mut conn, id).await
}

/// The customer whose login address is `email` (already normalised).
pub async fn find_by_email(caps: &Capabilities, email: &str) -> sqlx::Result<Option<User>> {
    let mut conn = caps.db.acquire().await?;
    users::find_by_email(&mut conn, email).await
}

/// Up to `limit` customers created after `after` (creation time and id), oldest first,
/// optionally of one status.
pub async fn page(
    caps: &Capabilities,
    after: Option<(i64, &str)>,
    status: Option<UserStatus>,
    limit: i64,
) -> sqlx::Result<Vec<User>> {
    let mut conn = caps.db.acquire().await?;
    users::page(&mut conn, after, status, limit).await
}

/// The customer's roles, `customer` first.
pub async fn roles(caps: &Capabilities, id: &str) -> sqlx::Result<Vec<String>> {
    let mut conn = caps.db.acquire().await?;
    users::roles(&mut conn, id).await
}

/// The customer's date of birth (`YYYY-MM-DD`), opened; an error when it does not open.
pub fn date_of_birth(caps: &Capabilities, user: &User) -> anyhow::Result<String> {
    user.date_of_birth(&caps.secrets)
}
