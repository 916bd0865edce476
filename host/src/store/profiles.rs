//! The `profiles` table: a customer's nationality and postal address, versioned, read together
//! with the identity fields `users` keeps (legal name, date of birth, phone).

use sqlx::Row;

use super::Connection;

/// A postal address; `line2` and `region` are optional.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    pub phone: Option<String>,
    pub version: i64,
    /// When the profile last changed; the registration time while it never has.
    pub updated_at: i64,
}

/// What the `profiles` row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFields<'a> {
    pub nationality: Option<&'a str>,
    pub address: Option<&'a Address>,
}

/// The profile of `user_id`; `None` when there is no such customer.
pub async fn get(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<Profile>> {
    let Some(row) = sqlx::query(
        "SELECT u.id, u.legal_name, u.date_of_birth, u.phone, u.created_at, p.nationality, \
         p.address_line1, p.address_line2, p.address_city, p.address_postal_code, \
         p.address_region, p.address_country, p.version, p.updated_at \
         FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let line1: Option<String> = row.try_get("address_line1")?;
    let address = match line1 {
        Some(line1) => Some(Address {
            line1,
            line2: row.try_get("address_line2")?,
            city: row
                .try_get::<Option<String>, _>("address_city")?
                .unwrap_or_default(),
            postal_code: row
                .try_get::<Option<String>, _>("address_postal_code")?
                .unwrap_or_default(),
            region: row.try_get("address_region")?,
            country: row
                .try_get::<Option<String>, _>("address_country")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    let version: Option<i64> = row.try_get("version")?;
    let updated_at: Option<i64> = row.try_get("updated_at")?;
    Ok(Some(Profile {
        user_id: row.try_get("id")?,
        legal_name: row.try_get("legal_name")?,
        date_of_birth: row.try_get("date_of_birth")?,
        nationality: row.try_get("nationality")?,
        address,
        phone: row.try_get("phone")?,
        version: version.unwrap_or(0),
        updated_at: match updated_at {
            Some(at) => at,
            None => row.try_get("created_at")?,
        },
    }))
}

/// Writes the row when its version is still `expected_version` (0: no row yet), as one
/// conditional statement; answers the new version, or `None` when the version has moved on.
pub async fn save(
    conn: &mut Connection,
    user_id: &str,
    fields: &ProfileFields<'_>,
    expected_version: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let address = fields.address;
    let query = if expected_version == 0 {
        // `ON CONFLICT DO NOTHING`: a row someone else inserted meanwhile makes this one stale.
        "INSERT INTO profiles (nationality, address_line1, address_line2, address_city, \
         address_postal_code, address_region, address_country, user_id, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) \
         ON CONFLICT (user_id) DO NOTHING RETURNING version"
    } else {
        "UPDATE profiles SET nationality = $1, address_line1 = $2, address_line2 = $3, \
         address_city = $4, address_postal_code = $5, address_region = $6, \
         address_country = $7, version = version + 1, updated_at = $9 \
         WHERE user_id = $8 AND version = $10 RETURNING version"
    };
    let mut query = sqlx::query(query)
        .bind(fields.nationality)
        .bind(address.map(|a| a.line1.as_str()))
        .bind(address.and_then(|a| a.line2.as_deref()))
        .bind(address.map(|a| a.city.as_str()))
        .bind(address.map(|a| a.postal_code.as_str()))
        .bind(address.and_then(|a| a.region.as_deref()))
        .bind(address.map(|a| a.country.as_str()))
        .bind(user_id)
        .bind(now);
    if expected_version != 0 {
        query = query.bind(expected_version);
    }
    query
        .fetch_optional(conn)
        .await?
        .map(|row| row.try_get("version"))
        .transpose()
}
