//! The `profiles` table: a customer's nationality, postal address and national id number,
//! versioned, read together with the identity fields `users` keeps (legal name, date of birth,
//! phone). The address (as JSON), the national id number and the date of birth are sealed at rest
//! ([`crate::secrets`]): written sealed, opened here on the way out.

use anyhow::Context;

use super::{Connection, users::open_date_of_birth};
use crate::secrets::{SecretBox, field_context};

/// A postal address; `line2` and `region` are optional.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A customer's profile. `version` 0 means nothing was changed since registration (no row yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user_id: String,
    pub legal_name: String,
    pub date_of_birth: String,
    pub nationality: Option<String>,
    pub address: Option<Address>,
    /// Trimmed, upper-case; shown whole only to its owner.
    pub national_id: Option<String>,
    pub phone: Option<String>,
    /// Whether the customer proved they receive messages at `phone`.
    pub phone_verified: bool,
    pub version: i64,
    /// When the profile last changed; the registration time while it never has.
    pub updated_at: i64,
}

/// What the `profiles` row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFields<'a> {
    pub nationality: Option<&'a str>,
    pub address: Option<&'a Address>,
    pub national_id: Option<&'a str>,
}

pub fn address_context(user_id: &str) -> String {
    field_context("profile", user_id, "address")
}

pub fn national_id_context(user_id: &str) -> String {
    field_context("profile", user_id, "national_id")
}

/// An address sealed for its customer's row.
pub fn seal_address(secrets: &SecretBox, user_id: &str, address: &Address) -> String {
    let json = serde_json::to_string(address).expect("an address serialises");
    secrets.seal_text(&json, &address_context(user_id))
}

/// The address columns versions before sealing wrote in the clear; start-up seals them
/// ([`crate::sealing`]).
#[derive(sqlx::FromRow)]
pub(crate) struct ClearAddress {
    address_line1: Option<String>,
    address_line2: Option<String>,
    address_city: Option<String>,
    address_postal_code: Option<String>,
    address_region: Option<String>,
    address_country: Option<String>,
}

impl ClearAddress {
    /// The address, when one was written (`address_line1` is set).
    pub(crate) fn into_address(self) -> Option<Address> {
        Some(Address {
            line1: self.address_line1?,
            line2: self.address_line2,
            city: self.address_city.unwrap_or_default(),
            postal_code: self.address_postal_code.unwrap_or_default(),
            region: self.address_region,
            country: self.address_country.unwrap_or_default(),
        })
    }
}

/// Why a stored profile could not be read: the database failed, or a sealed field does not open
/// (another key, or altered).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a sealed profile field does not open: {0:#}")]
    Sealed(anyhow::Error),
}

/// A customer with their profile row, if any, as stored: sealed fields still sealed.
#[derive(sqlx::FromRow)]
struct ProfileRow {
    id: String,
    legal_name: String,
    date_of_birth: String,
    phone: Option<String>,
    phone_verified_at: Option<i64>,
    created_at: i64,
    nationality: Option<String>,
    address_sealed: Option<String>,
    national_id_sealed: Option<String>,
    #[sqlx(flatten)]
    clear_address: ClearAddress,
    version: Option<i64>,
    updated_at: Option<i64>,
}

/// The profile of `user_id`, its sealed fields opened; `None` when there is no such customer.
pub async fn get(
    conn: &mut Connection,
    secrets: &SecretBox,
    user_id: &str,
) -> Result<Option<Profile>, ReadError> {
    let row: Option<ProfileRow> = sqlx::query_as(
        "SELECT u.id, u.legal_name, u.date_of_birth, u.phone, u.phone_verified_at, \
         u.created_at, p.nationality, p.address_sealed, p.national_id_sealed, \
         p.address_line1, p.address_line2, p.address_city, p.address_postal_code, \
         p.address_region, p.address_country, p.version, p.updated_at \
         FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| open(secrets, row))
        .transpose()
        .map_err(ReadError::Sealed)
}

/// A stored profile with its sealed fields opened.
fn open(secrets: &SecretBox, row: ProfileRow) -> anyhow::Result<Profile> {
    let address = match row.address_sealed {
        Some(sealed) => {
            let json = secrets.open_text(&sealed, &address_context(&row.id))?;
            Some(serde_json::from_str(&json).context("a sealed address")?)
        }
        // Written in the clear by a version before sealing; start-up seals it.
        None => row.clear_address.into_address(),
    };
    let national_id = row
        .national_id_sealed
        .map(|sealed| secrets.open_text(&sealed, &national_id_context(&row.id)))
        .transpose()?;
    let date_of_birth = open_date_of_birth(secrets, &row.id, &row.date_of_birth)?;
    Ok(Profile {
        user_id: row.id,
        legal_name: row.legal_name,
        date_of_birth,
        nationality: row.nationality,
        address,
        national_id,
        phone: row.phone,
        phone_verified: row.phone_verified_at.is_some(),
        version: row.version.unwrap_or(0),
        updated_at: row.updated_at.unwrap_or(row.created_at),
    })
}

/// Writes the row, its address and national id sealed (and the clear address columns of earlier
/// versions emptied), when its version is still `expected_version` (0: no row yet), as one
/// conditional statement; answers the new version, or `None` when the version has moved on.
pub async fn save(
    conn: &mut Connection,
    secrets: &SecretBox,
    user_id: &str,
    fields: &ProfileFields<'_>,
    expected_version: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let address = fields.address.map(|a| seal_address(secrets, user_id, a));
    let national_id = fields
        .national_id
        .map(|n| secrets.seal_text(n, &national_id_context(user_id)));
    let query = if expected_version == 0 {
        // `ON CONFLICT DO NOTHING`: a row someone else inserted meanwhile makes this one stale.
        "INSERT INTO profiles (nationality, address_sealed, national_id_sealed, user_id, \
         version, updated_at) VALUES ($1, $2, $3, $4, 1, $5) \
         ON CONFLICT (user_id) DO NOTHING RETURNING version"
    } else {
        "UPDATE profiles SET nationality = $1, address_sealed = $2, national_id_sealed = $3, \
         address_line1 = NULL, address_line2 = NULL, address_city = NULL, \
         address_postal_code = NULL, address_region = NULL, address_country = NULL, \
         version = version + 1, updated_at = $5 \
         WHERE user_id = $4 AND version = $6 RETURNING version"
    };
    let mut query = sqlx::query_scalar(query)
        .bind(fields.nationality)
        .bind(address)
        .bind(national_id)
        .bind(user_id)
        .bind(now);
    if expected_version != 0 {
        query = query.bind(expected_version);
    }
    query.fetch_optional(conn).await
}
