//! The `preferences` table (language, time zone, notification channels, marketing consent;
//! versioned) and `consent_history`, the record of every change of marketing consent.

use super::{Connection, columns::text_column};

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

/// The `notifications` column: a JSON object from each category to its list of channels.
struct Notifications(Vec<NotificationSetting>);

impl TryFrom<String> for Notifications {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let by_category: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)?;
        by_category
            .into_iter()
            .map(|(category, channels)| {
                let channels = serde_json::from_value(channels)?;
                Ok(NotificationSetting { category, channels })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

text_column!(Notifications);

#[derive(sqlx::FromRow)]
struct PreferencesRow {
    language: String,
    time_zone: String,
    notifications: Notifications,
    marketing_consent: i64,
    marketing_source: Option<String>,
    marketing_updated_at: Option<i64>,
    version: i64,
}

impl From<PreferencesRow> for Preferences {
    fn from(row: PreferencesRow) -> Self {
        Self {
            language: row.language,
            time_zone: row.time_zone,
            notifications: row.notifications.0,
            marketing: MarketingConsent {
                granted: row.marketing_consent == 1,
                source: row.marketing_source,
                updated_at: row.marketing_updated_at,
            },
            version: row.version,
        }
    }
}

/// The stored preferences of `user_id`; `None` when they never changed them (or there is no
/// such customer).
pub async fn get(conn: &mut Connection, user_id: &str) -> sqlx::Result<Option<Preferences>> {
    let row: Option<PreferencesRow> = sqlx::query_as(
        "SELECT language, time_zone, notifications, marketing_consent, marketing_source, \
         marketing_updated_at, version FROM preferences WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Preferences::from))
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
    let mut query = sqlx::query_scalar(query)
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
    query.fetch_optional(conn).await
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

#[derive(sqlx::FromRow)]
struct ConsentRow {
    id: String,
    user_id: String,
    granted: i64,
    source: String,
    changed_at: i64,
}

impl From<ConsentRow> for ConsentChange {
    fn from(row: ConsentRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            granted: row.granted == 1,
            source: row.source,
            changed_at: row.changed_at,
        }
    }
}

/// Every change of `user_id`'s marketing consent, oldest first.
pub async fn consent_history(
    conn: &mut Connection,
    user_id: &str,
) -> sqlx::Result<Vec<ConsentChange>> {
    let rows: Vec<ConsentRow> = sqlx::query_as(
        "SELECT id, user_id, granted, source, changed_at FROM consent_history \
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(ConsentChange::from).collect())
}
