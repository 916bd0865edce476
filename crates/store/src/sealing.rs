//! Seals the personal data earlier versions stored in the clear: dates of birth in `users` and
//! postal addresses in the clear `profiles` columns. Runs at start-up, after the migrations
//! (SQL cannot seal); each row is one conditional statement, so replicas starting together or an
//! old replica still writing in the clear never lose a value. Until a row is sealed, readers
//! take its clear value as it is.

use super::{
    Database,
    profiles::{ClearAddress, seal_address},
    users::{CLEAR_DATE_LEN, seal_date_of_birth},
};
use crate::secrets::SecretBox;

/// How many rows of each kind were sealed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    pub dates_of_birth: u64,
    pub addresses: u64,
}

/// A profile row with its address in the clear.
#[derive(sqlx::FromRow)]
struct ClearProfile {
    user_id: String,
    version: i64,
    #[sqlx(flatten)]
    address: ClearAddress,
}

pub async fn seal_clear_personal_data(db: &Database, secrets: &SecretBox) -> sqlx::Result<Sealed> {
    let mut sealed = Sealed::default();
    let mut conn = db.acquire().await?;
    let clear_dates: Vec<(String, String)> =
        sqlx::query_as("SELECT id, date_of_birth FROM users WHERE LENGTH(date_of_birth) = $1")
            .bind(CLEAR_DATE_LEN as i64)
            .fetch_all(&mut *conn)
            .await?;
    for (id, date) in clear_dates {
        sealed.dates_of_birth +=
            sqlx::query("UPDATE users SET date_of_birth = $1 WHERE id = $2 AND date_of_birth = $3")
                .bind(seal_date_of_birth(secrets, &id, &date))
                .bind(&id)
                .bind(&date)
                .execute(&mut *conn)
                .await?
                .rows_affected();
    }

    let clear_profiles: Vec<ClearProfile> = sqlx::query_as(
        "SELECT user_id, version, address_line1, address_line2, address_city, \
         address_postal_code, address_region, address_country \
         FROM profiles WHERE address_line1 IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for profile in clear_profiles {
        // Selected for its `address_line1`, so there is one.
        let Some(address) = profile.address.into_address() else {
            continue;
        };
        // The same content, so the version stays; it only guards against a change meanwhile.
        sealed.addresses += sqlx::query(
            "UPDATE profiles SET address_sealed = $1, address_line1 = NULL, \
             address_line2 = NULL, address_city = NULL, address_postal_code = NULL, \
             address_region = NULL, address_country = NULL \
             WHERE user_id = $2 AND version = $3 AND address_line1 IS NOT NULL",
        )
        .bind(seal_address(secrets, &profile.user_id, &address))
        .bind(&profile.user_id)
        .bind(profile.version)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(sealed)
}
