//! The `preferences` table (language, time zone, notification channels, marketing consent;
//! versioned) and `consent_history`, the record of every change of marketing consent.

use sqlx::Row;

use super::Connection;

/// The channels a customer is told about one category of news by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSetting {
    pub category: String,
    pub channels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketingConsent {
    pub granted: bool,
    /// Where it was last given or withdrawn (`app`, `web`, `branch`…); `None` while never.
    pub source: Option<String>,
    /// When it last changed; `None` while never.
    pub updated_at: Option<i64>,
}

/// A customer's preferences. `version` 0 means the defaults (no row yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub language: String,
    pub time_zone: String,
    pub notifications: Vec<NotificationSetting>,
    pub marketing: MarketingConsent,
    pub version: i64,
}

/// One change of marketing consent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsentChange {
    pub id: String,
    pub user_id: String,
    pub granted: bool,
    pub source: String,
    pub changed_at: i64,
}

/// The stored preferences of `user_id`; `None` when they never changed them (or there is no
/// such customer).
pub async fn get(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<Preferences>> {
    let Some(row) = sqlx::query(
        "SELECT language, time_zone, notifications, marketing_consent, marketing_source, \
         marketing_updated_at, version FROM preferences WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let notifications: String = row.try_get("notifications")?;
    let notifications: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&notifications).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let notifications = notifications
        .into_iter()
        .map(|(category, channels)| {
            let channels = serde_json::from_value(channels)?;
            Ok(NotificationSetting { category, channels })
        })
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(Some(Preferences {
        language: row.try_get("language")?,
        time_zone: row.try_get("time_zone")?,
        notifications,
        marketing: MarketingConsent {
            granted: row.try_get::<i64, _>("marketing_consent")? == 1,
            source: row.try_get("marketing_source")?,
            updated_at: row.try_get("marketing_updated_at")?,
        },
        version: row.try_get("version")?,
    }))
}

/// Writes `preferences` when the stored version is still `expected_version` (0: no row yet), as
/// one conditional statement; answers the new version, or `None` when it has moved on.
pub async fn save(
    conn: &mut Connection,
    user_id: &str,
    preferences: &Preferences,
    expected_version: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let notifications: serde_json::Map<String, serde_json::Value> = preferences
        .notifications
        .iter()
        .map(|n| (n.category.clone(), serde_json::json!(n.channels)))
        .collect();
    let query = if expected_version == 0 {
        // `ON CONFLICT DO NOTHING`: a row someone else inserted meanwhile makes this one stale.
        "INSERT INTO preferences (language, time_zone, notifications, marketing_consent, \
         marketing_source, marketing_updated_at, user_id, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) \
         ON CONFLICT (user_id) DO NOTHING RETURNING version"
    } else {
        "UPDATE preferences SET language = $1, time_zone = $2, notifications = $3, \
         marketing_consent = $4, marketing_source = $5, marketing_updated_at = $6, \
         updated_at = $8, version = version + 1 \
         WHERE user_id = $7 AND version = $9 RETURNING version"
    };
    let mut query = sqlx::query(query)
        .bind(&preferences.language)
        .bind(&preferences.time_zone)
        .bind(serde_json::Value::Object(notifications).to_string())
        .bind(i64::from(preferences.marketing.granted))
        .bind(preferences.marketing.source.as_deref())
        .bind(preferences.marketing.updated_at)
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

/// Records a change of marketing consent.
pub async fn record_consent(
    conn: &mut Connection,
    user_id: &str,
    granted: bool,
    source: &str,
    now: i64,
) -> sqlx::Result<ConsentChange> {
    let change = ConsentChange {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        granted,
        source: source.to_owned(),
        changed_at: now,
    };
    sqlx::query(
        "INSERT INTO consent_history (id, user_id, granted, source, changed_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&change.id)
    .bind(user_id)
    .bind(i64::from(granted))
    .bind(source)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(change)
}

/// Every change of `user_id`'s marketing consent, oldest first.
pub async fn consent_history(
    conn: &mut Connection,
    user_id: &str,
) -> sqlx::Result<Vec<ConsentChange>> {
    sqlx::query(
        "SELECT id, user_id, granted, source, changed_at FROM consent_history \
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|row| {
        Ok(ConsentChange {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            granted: row.try_get::<i64, _>("granted")? == 1,
            source: row.try_get("source")?,
            changed_at: row.try_get("changed_at")?,
        })
    })
    .collect()
}
