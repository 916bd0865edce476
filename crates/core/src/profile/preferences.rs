//! Preferences: read them (the defaults until the customer changes anything) and replace them as
//! a whole, with marketing consent changes kept in `consent_history` and announced.

use serde_json::json;

use super::{ProfileError, Profiles, rules};
use crate::{
    store::{
        self, Connection,
        preferences::{self as stored, MarketingConsent, NotificationSetting, Preferences},
        users,
    },
    trail,
};

/// A whole preferences document as a client sends it. Categories and channels are checked by
/// [`rules`]; `marketing.source` is needed when the consent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferencesDocument {
    pub language: String,
    pub time_zone: String,
    pub notifications: Vec<NotificationSetting>,
    pub marketing: ConsentChoice,
}

/// Marketing consent as the customer chose it, and where they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChoice {
    pub granted: bool,
    pub source: Option<String>,
}

/// What a customer who never changed anything has: English, UTC, security and account news by
/// email, no marketing. Version 0, which the first replacement names.
pub fn default_preferences() -> Preferences {
    let channels = |category: rules::Category| match category {
        rules::Category::Security | rules::Category::Account => vec!["email".to_owned()],
        rules::Category::Marketing | rules::Category::Product => Vec::new(),
    };
    Preferences {
        language: "en".to_owned(),
        time_zone: "UTC".to_owned(),
        notifications: rules::Category::ALL
            .into_iter()
            .map(|category| NotificationSetting {
                category: category.as_str().to_owned(),
                channels: channels(category),
            })
            .collect(),
        marketing: MarketingConsent {
            granted: false,
            source: None,
            updated_at: None,
        },
        version: 0,
    }
}

impl Profiles {
    /// The customer's preferences.
    pub async fn preferences(&self, user_id: &str) -> Result<Preferences, ProfileError> {
        let caps = &self.caps;
        let mut conn = caps.db.acquire().await?;
        current(&mut conn, user_id).await
    }

    /// Replaces the preferences when they are still at `expected_version`. The change, a
    /// `user.preferences_updated` event (the names of what changed) and, when the marketing consent
    /// changed, its `consent_history` row and `user.marketing_consent_changed` event commit
    /// together, each event with its audit row. A document that changes nothing writes nothing; a
    /// `marketing.source` sent without a consent change is not recorded.
    pub async fn replace_preferences(
        &self,
        user_id: &str,
        document: PreferencesDocument,
        expected_version: i64,
    ) -> Result<Preferences, ProfileError> {
        let caps = &self.caps;
        let checked = rules::check_preferences(document).map_err(ProfileError::Invalid)?;
        let now = caps.clock.unix();
        let mut tx = store::begin(&caps.db).await?;
        let current = current(&mut tx, user_id).await?;
        if current.version != expected_version {
            return Err(ProfileError::Stale);
        }
        let consent_changed = checked.marketing.granted != current.marketing.granted;
        let marketing = if consent_changed {
            let Some(source) = checked.marketing.source.clone() else {
                return Err(ProfileError::Invalid(rules::source_required()));
            };
            MarketingConsent {
                granted: checked.marketing.granted,
                source: Some(source),
                updated_at: Some(now),
            }
        } else {
            current.marketing.clone()
        };
        let mut fields = Vec::new();
        if checked.language != current.language {
            fields.push("language");
        }
        if checked.time_zone != current.time_zone {
            fields.push("time_zone");
        }
        if checked.notifications != current.notifications {
            fields.push("notifications");
        }
        if consent_changed {
            fields.push("marketing");
        }
        if fields.is_empty() {
            return Ok(current);
        }

        let mut next = Preferences {
            language: checked.language,
            time_zone: checked.time_zone,
            notifications: checked.notifications,
            marketing,
            version: expected_version,
        };
        // The conditional write is what makes the version check hold against a concurrent change.
        next.version = stored::save(&mut tx, user_id, &next, expected_version, now)
            .await?
            .ok_or(ProfileError::Stale)?;
        let data = json!({ "user_id": user_id, "fields": fields, "version": next.version });
        trail::record(&mut tx, "user.preferences_updated", user_id, data, now).await?;
        if consent_changed {
            let source = next.marketing.source.as_deref().unwrap_or_default();
            let change =
                stored::record_consent(&mut tx, user_id, next.marketing.granted, source, now)
                    .await?;
            let data = json!({
                "user_id": user_id,
                "granted": change.granted,
                "source": change.source,
                "changed_at": change.changed_at,
            });
            trail::record(
                &mut tx,
                "user.marketing_consent_changed",
                user_id,
                data,
                now,
            )
            .await?;
        }
        trail::commit(tx, caps).await?;
        tracing::info!(
            user_id,
            ?fields,
            version = next.version,
            "preferences updated"
        );
        Ok(next)
    }
}

async fn current(conn: &mut Connection, user_id: &str) -> Result<Preferences, ProfileError> {
    match stored::get(conn, user_id).await? {
        Some(mut preferences) => {
            preferences.notifications = rules::canonical_notifications(&preferences.notifications);
            Ok(preferences)
        }
        None if users::get(conn, user_id).await?.is_some() => Ok(default_preferences()),
        None => Err(ProfileError::NotFound),
    }
}
