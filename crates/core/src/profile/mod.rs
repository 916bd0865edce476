//! A customer's profile and preferences: how a change is applied, the version that guards against
//! lost updates, and the events and audit rows of every change, committed with it. HTTP
//! (`/v1/users/me/profile`, `/v1/users/me/preferences`) and gRPC (`ProfileService`) both call
//! [`Profiles`] and only translate. The date of birth, postal address and national id
//! number are sealed at rest (`store::profiles`); phone and email changes wait for a code sent to
//! the new number or address ([`contact`]). What a profile or contact change may carry is the
//! onboarding policy's to decide (the `changes` interface of its world).

pub mod contact;
mod preferences;
pub mod rules;

use crate::failure::Failure;
use std::sync::Arc;

use serde_json::json;

pub use self::preferences::{ConsentChoice, PreferencesDocument, default_preferences};
pub use crate::store::{
    preferences::{MarketingConsent, NotificationSetting, Preferences},
    profiles::{Address, Profile},
};
use crate::{
    capabilities::Capabilities,
    runtime::{
        CallError, Runtime,
        onboarding::{PostalAddress, ProposedChange, Violation},
    },
    store::{
        self,
        profiles::{self, ProfileFields},
        users,
    },
    trail,
};

/// A change to a profile: only the fields given change. An address replaces the whole address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub legal_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub nationality: Option<String>,
    pub address: Option<Address>,
    pub national_id: Option<String>,
}

impl ProfileChange {
    /// Whether it gives a field that identifies the customer, which a KYC check verified: such a
    /// change needs the proof the mfa policy asks for (`change-identity`) and makes the
    /// verification policy decide again.
    pub fn touches_identity(&self) -> bool {
        self.legal_name.is_some()
            || self.date_of_birth.is_some()
            || self.nationality.is_some()
            || self.national_id.is_some()
    }
}

impl From<ProfileChange> for ProposedChange {
    fn from(c: ProfileChange) -> Self {
        Self {
            legal_name: c.legal_name,
            date_of_birth: c.date_of_birth,
            nationality: c.nationality,
            address: c.address.map(|a| PostalAddress {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                postal_code: a.postal_code,
                region: a.region,
                country: a.country,
            }),
            national_id: c.national_id,
        }
    }
}

impl From<ProposedChange> for ProfileChange {
    fn from(c: ProposedChange) -> Self {
        Self {
            legal_name: c.legal_name,
            date_of_birth: c.date_of_birth,
            nationality: c.nationality,
            address: c.address.map(|a| Address {
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                postal_code: a.postal_code,
                region: a.region,
                country: a.country,
            }),
            national_id: c.national_id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the change breaks {} rule(s)", .0.len())]
    Invalid(Vec<Violation>),
    /// The version the change was based on is no longer the current one; nothing was changed.
    #[error("the profile or preferences changed since the version given")]
    Stale,
    #[error("no such customer")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A sealed field does not open (another key, or altered): a fault, never the client's.
    #[error("a sealed profile field does not open")]
    Sealed(#[source] anyhow::Error),
    /// The onboarding policy, which decides what a change may carry, did not answer.
    #[error(transparent)]
    Policy(#[from] CallError),
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Invalid(violations) => Failure::invalid(violations),
            ProfileError::Stale => Failure::stale(),
            ProfileError::NotFound => Failure::not_found("no such customer"),
            ProfileError::Database(e) => e.into(),
            ProfileError::Sealed(e) => {
                Failure::internal(e.context("a sealed profile field does not open"))
            }
            ProfileError::Policy(e) => e.into(),
        }
    }
}

impl From<profiles::ReadError> for ProfileError {
    fn from(e: profiles::ReadError) -> Self {
        match e {
            profiles::ReadError::Database(e) => Self::Database(e),
            profiles::ReadError::Sealed(e) => Self::Sealed(e),
        }
    }
}

/// A version as clients send it back (the ETag's content, gRPC's `expected_version`): decimal
/// digits only.
pub fn parse_version(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The profile flows, over what they need: the runtime (the onboarding policy decides what a
/// change may carry) and the capabilities (database, keys, clock, messages). Built once by the
/// composition root; both front doors call it.
#[derive(Clone)]
pub struct Profiles {
    runtime: Arc<Runtime>,
    caps: Arc<Capabilities>,
}

impl Profiles {
    pub fn new(runtime: Arc<Runtime>, caps: Arc<Capabilities>) -> Self {
        Self { runtime, caps }
    }

    /// The customer's profile, its sealed fields opened; version 0 while it never changed.
    pub async fn get(&self, user_id: &str) -> Result<Profile, ProfileError> {
        let caps = &self.caps;
        let mut conn = caps.db.acquire().await?;
        profiles::get(&mut conn, &caps.secrets, user_id)
            .await?
            .ok_or(ProfileError::NotFound)
    }

    /// Applies `change` when the profile is still at `expected_version`. The change, its
    /// `user.profile_updated` event (the names of the fields that changed, never their values) and
    /// the audit row commit together. A change that changes nothing writes and records nothing.
    ///
    /// What the change may carry is the onboarding policy's to decide (`changes.check-profile-change`),
    /// by the rules registration keeps for the same facts; the host stores its normalised answer.
    pub async fn update(
        &self,
        user_id: &str,
        change: ProfileChange,
        expected_version: i64,
    ) -> Result<Profile, ProfileError> {
        let (runtime, caps) = (&self.runtime, &self.caps);
        let change = runtime
            .check_profile_change(caps, user_id, change.into())
            .await?
            .map_err(ProfileError::Invalid)?;
        let change = ProfileChange::from(change);
        let now = caps.clock.unix();
        let mut tx = store::begin(&caps.db).await?;
        let current = profiles::get(&mut tx, &caps.secrets, user_id)
            .await?
            .ok_or(ProfileError::NotFound)?;
        if current.version != expected_version {
            return Err(ProfileError::Stale);
        }
        let mut next = current.clone();
        let mut fields = Vec::new();
        if let Some(name) = change.legal_name.filter(|n| *n != current.legal_name) {
            next.legal_name = name;
            fields.push("legal_name");
        }
        if let Some(date) = change.date_of_birth.filter(|d| *d != current.date_of_birth) {
            next.date_of_birth = date;
            fields.push("date_of_birth");
        }
        if let Some(code) = change
            .nationality
            .filter(|c| Some(c) != current.nationality.as_ref())
        {
            next.nationality = Some(code);
            fields.push("nationality");
        }
        if let Some(address) = change
            .address
            .filter(|a| Some(a) != current.address.as_ref())
        {
            next.address = Some(address);
            fields.push("address");
        }
        if let Some(id) = change
            .national_id
            .filter(|n| Some(n) != current.national_id.as_ref())
        {
            next.national_id = Some(id);
            fields.push("national_id");
        }
        if fields.is_empty() {
            return Ok(current);
        }

        let row = ProfileFields {
            nationality: next.nationality.as_deref(),
            address: next.address.as_ref(),
            national_id: next.national_id.as_deref(),
        };
        // The conditional write is what makes the version check hold against a concurrent change.
        next.version = profiles::save(&mut tx, &caps.secrets, user_id, &row, expected_version, now)
            .await?
            .ok_or(ProfileError::Stale)?;
        next.updated_at = now;
        if fields.contains(&"legal_name") || fields.contains(&"date_of_birth") {
            let (name, date) = (&next.legal_name, &next.date_of_birth);
            users::set_identity(&mut tx, &caps.secrets, user_id, name, date, now).await?;
        }
        let data = json!({ "user_id": user_id, "fields": fields, "version": next.version });
        trail::record(&mut tx, "user.profile_updated", user_id, data, now).await?;
        trail::commit(tx, caps).await?;
        tracing::info!(user_id, ?fields, version = next.version, "profile updated");
        Ok(next)
    }
}

#[cfg(test)]
mod tests;
