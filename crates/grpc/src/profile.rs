//! `usvc.v1.ProfileService`: the acting customer's profile and preferences, through the same
//! [`usvc_core::profile`] functions as the HTTP API. A version is the same number as the HTTP ETag.

use tonic::{Request, Response, Status};
use usvc_proto::usvc::v1::{
    self as pb, GetPreferencesRequest, GetProfileRequest, UpdatePreferencesRequest,
    UpdateProfileRequest, profile_service_server::ProfileService,
};

use super::{caller, required_user, status, timestamp};
use usvc_core::{
    auth::second_factor,
    profile::{
        self, Address, ConsentChoice, NotificationSetting, Preferences, PreferencesDocument,
        Profile, ProfileChange, rules,
    },
    runtime::mfa::SensitiveAction,
    state::AppState,
};

pub struct ProfileApi(pub AppState);

#[tonic::async_trait]
impl ProfileService for ProfileApi {
    async fn get_profile(
        &self,
        request: Request<GetProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        caller(&request)?;
        let user = required_user(&self.0, &request).await?;
        let profile = self.0.profiles.get(&user.sub).await.map_err(status::of)?;
        Ok(Response::new(profile_to_pb(profile)))
    }

    async fn update_profile(
        &self,
        request: Request<UpdateProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        caller(&request)?;
        let user = required_user(&self.0, &request).await?;
        let request = request.into_inner();
        let expected = expected_version(&request.expected_version)?;
        let change = ProfileChange {
            legal_name: request.legal_name,
            date_of_birth: request.date_of_birth,
            nationality: request.nationality,
            address: request.address.map(|a| Address {
                line1: a.line1,
                line2: Some(a.line2).filter(|l| !l.is_empty()),
                city: a.city,
                postal_code: a.postal_code,
                region: Some(a.region).filter(|r| !r.is_empty()),
                country: a.country,
            }),
            national_id: None,
        };
        let identity = change.touches_identity();
        if identity {
            second_factor::require_fresh(&self.0, &user, SensitiveAction::ChangeIdentity)
                .await
                .map_err(status::of)?;
        }
        let profile = self
            .0
            .profiles
            .update(&user.sub, change, expected)
            .await
            .map_err(status::of)?;
        if identity {
            self.0.verifier.identity_changed(&user.sub).await;
        }
        Ok(Response::new(profile_to_pb(profile)))
    }

    async fn get_preferences(
        &self,
        request: Request<GetPreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        caller(&request)?;
        let user = required_user(&self.0, &request).await?;
        let preferences = self
            .0
            .profiles
            .preferences(&user.sub)
            .await
            .map_err(status::of)?;
        Ok(Response::new(preferences_to_pb(preferences)))
    }

    async fn update_preferences(
        &self,
        request: Request<UpdatePreferencesRequest>,
    ) -> Result<Response<pb::Preferences>, Status> {
        caller(&request)?;
        let user = required_user(&self.0, &request).await?;
        let request = request.into_inner();
        let expected = expected_version(&request.expected_version)?;
        let Some(preferences) = request.preferences else {
            return Err(status::invalid_field(
                "preferences",
                "preferences.missing",
                "the whole preferences document that replaces the current one",
            ));
        };
        let Some(marketing) = preferences.marketing else {
            return Err(status::invalid_field(
                "marketing",
                "marketing.missing",
                "marketing consent, granted or not",
            ));
        };
        // `preferences.version` is ignored: `expected_version` is the one that counts.
        let document = PreferencesDocument {
            language: preferences.language,
            time_zone: preferences.time_zone,
            notifications: preferences
                .notifications
                .into_iter()
                .map(|n| NotificationSetting {
                    category: n.category,
                    channels: n.channels,
                })
                .collect(),
            marketing: ConsentChoice {
                granted: marketing.granted,
                source: Some(marketing.source).filter(|s| !s.is_empty()),
            },
        };
        let preferences = self
            .0
            .profiles
            .replace_preferences(&user.sub, document, expected)
            .await
            .map_err(status::of)?;
        Ok(Response::new(preferences_to_pb(preferences)))
    }
}

/// `expected_version` is required: an update that names no version could overwrite a change it
/// never saw.
fn expected_version(text: &str) -> Result<i64, Status> {
    if text.is_empty() {
        return Err(status::invalid_field(
            "expected_version",
            "expected_version.missing",
            "send the version you read (the HTTP ETag without quotes)",
        ));
    }
    profile::parse_version(text).ok_or_else(|| {
        status::invalid_field(
            "expected_version",
            "expected_version.invalid",
            "a version is the decimal number a read answered",
        )
    })
}

fn profile_to_pb(profile: Profile) -> pb::Profile {
    pb::Profile {
        user_id: profile.user_id,
        legal_name: profile.legal_name,
        date_of_birth: profile.date_of_birth,
        nationality: profile.nationality.unwrap_or_default(),
        address: profile.address.map(|a| pb::Address {
            line1: a.line1,
            line2: a.line2.unwrap_or_default(),
            city: a.city,
            postal_code: a.postal_code,
            region: a.region.unwrap_or_default(),
            country: a.country,
        }),
        phone: profile.phone.unwrap_or_default(),
        national_id_masked: profile
            .national_id
            .as_deref()
            .map(rules::mask_national_id)
            .unwrap_or_default(),
        phone_verified: profile.phone_verified,
        version: profile.version.to_string(),
        updated_at: Some(timestamp(profile.updated_at)),
    }
}

fn preferences_to_pb(preferences: Preferences) -> pb::Preferences {
    pb::Preferences {
        language: preferences.language,
        time_zone: preferences.time_zone,
        notifications: preferences
            .notifications
            .into_iter()
            .map(|n| pb::NotificationSetting {
                category: n.category,
                channels: n.channels,
            })
            .collect(),
        marketing: Some(pb::MarketingConsent {
            granted: preferences.marketing.granted,
            source: preferences.marketing.source.unwrap_or_default(),
            updated_at: preferences.marketing.updated_at.map(timestamp),
        }),
        version: preferences.version.to_string(),
    }
}
