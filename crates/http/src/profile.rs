//! `/v1/users/me/profile` and `/v1/users/me/preferences`: the caller's profile (PATCH changes
//! the fields present) and preferences (PUT replaces them). Every answer carries the version as
//! a strong `ETag`; every write needs it back in `If-Match`. The rules live in [`usvc_core::profile`].
//! The caller is the profile's owner, so the national id number is shown whole here (other
//! services reading it through gRPC see it masked).

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderName, HeaderValue},
    routing::get,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::IgnoredAny};
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{ApiJson, AuthUser, IfMatch, etag},
};
use usvc_core::{
    auth::second_factor,
    clock::rfc3339,
    profile::{
        Address, ConsentChoice, NotificationSetting, Preferences, PreferencesDocument, Profile,
        ProfileChange,
    },
    runtime::mfa::SensitiveAction,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/users/me/profile",
            get(get_profile).patch(update_profile),
        )
        .route(
            "/v1/users/me/preferences",
            get(get_preferences).put(replace_preferences),
        )
}

type Tagged<T> = ([(HeaderName, HeaderValue); 1], Json<T>);

#[derive(Serialize, ToSchema)]
struct ProfileView {
    user_id: String,
    legal_name: String,
    date_of_birth: String,
    nationality: Option<String>,
    address: Option<Address>,
    national_id: Option<String>,
    phone: Option<String>,
    phone_verified: bool,
    updated_at: String,
}

fn profile_view(profile: Profile) -> Tagged<ProfileView> {
    (
        [etag(profile.version)],
        Json(ProfileView {
            user_id: profile.user_id,
            legal_name: profile.legal_name,
            date_of_birth: profile.date_of_birth,
            nationality: profile.nationality,
            address: profile.address,
            national_id: profile.national_id,
            phone: profile.phone,
            phone_verified: profile.phone_verified,
            updated_at: rfc3339(profile.updated_at),
        }),
    )
}

/// The caller's profile; `ETag` names its version.
#[utoipa::path(
    get, path = "/v1/users/me/profile", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile.", body = ProfileView, headers(("ETag" = String, description = "The version: send it back in `If-Match` to change it."))),
        (status = 404, description = "The customer is gone.", body = Problem),
    ),
)]
async fn get_profile(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Tagged<ProfileView>, ApiError> {
    Ok(profile_view(state.profiles.get(&claims.sub).await?))
}

/// A field sent as `null` is refused rather than read as "absent": nothing here can be erased.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProfilePatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    legal_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    nationality: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    address: Option<AddressBody>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    national_id: Option<String>,
}

/// Missing parts are empty, so the rules name each missing required one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: Option<String>,
    #[serde(default)]
    city: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    country: String,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Changes the fields present. Identity fields need the proof the mfa policy asks for.
#[utoipa::path(
    patch, path = "/v1/users/me/profile", tag = "users", security(("bearer" = [])),
    params(("If-Match" = String, Header, description = "The `ETag` of the version read: `\"<version>\"`.")),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The profile as it now is.", body = ProfileView, headers(("ETag" = String, description = "The version: send it back in `If-Match` to change it."))),
        (status = 403, description = "A change of identity needs a fresh second factor or a recent password (`/problems/step-up-required`, `/problems/reauthentication-required`).", body = Problem),
        (status = 404, description = "The customer is gone.", body = Problem),
        (status = 412, description = "`If-Match` does not name the current version.", body = Problem),
        (status = 428, description = "`If-Match` is missing.", body = Problem),
    ),
)]
async fn update_profile(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    IfMatch(version): IfMatch,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Tagged<ProfileView>, ApiError> {
    let change = ProfileChange {
        legal_name: patch.legal_name,
        date_of_birth: patch.date_of_birth,
        nationality: patch.nationality,
        address: patch.address.map(|a| Address {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            postal_code: a.postal_code,
            region: a.region,
            country: a.country,
        }),
        national_id: patch.national_id,
    };
    let identity = change.touches_identity();
    if identity {
        second_factor::require_fresh(&state, &claims, SensitiveAction::ChangeIdentity).await?;
    }
    let profile = state.profiles.update(&claims.sub, change, version).await?;
    if identity {
        state.verifier.identity_changed(&claims.sub).await;
    }
    Ok(profile_view(profile))
}

#[derive(Serialize, ToSchema)]
struct PreferencesView {
    /// BCP 47.
    language: String,
    /// IANA.
    time_zone: String,
    /// Channels (`email`, `sms`, `push`) by category (`security`, `account`, `marketing`, `product`).
    #[serde(serialize_with = "by_category")]
    #[schema(value_type = std::collections::BTreeMap<String, Vec<String>>)]
    notifications: Vec<NotificationSetting>,
    marketing: MarketingView,
}

#[derive(Serialize, ToSchema)]
struct MarketingView {
    granted: bool,
    source: Option<String>,
    updated_at: Option<String>,
}

/// `{"security": ["email"], "account": [...], ...}`, in the categories' order.
fn by_category<S: Serializer>(
    settings: &[NotificationSetting],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(settings.iter().map(|s| (&s.category, &s.channels)))
}

fn preferences_view(preferences: Preferences) -> Tagged<PreferencesView> {
    (
        [etag(preferences.version)],
        Json(PreferencesView {
            language: preferences.language,
            time_zone: preferences.time_zone,
            notifications: preferences.notifications,
            marketing: MarketingView {
                granted: preferences.marketing.granted,
                source: preferences.marketing.source,
                updated_at: preferences.marketing.updated_at.map(rfc3339),
            },
        }),
    )
}

/// The caller's preferences (defaults until changed); `ETag` names their version.
#[utoipa::path(
    get, path = "/v1/users/me/preferences", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The preferences.", body = PreferencesView, headers(("ETag" = String, description = "The version: send it back in `If-Match` to change it."))),
    ),
)]
async fn get_preferences(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
) -> Result<Tagged<PreferencesView>, ApiError> {
    Ok(preferences_view(
        state.profiles.preferences(&claims.sub).await?,
    ))
}

/// The whole document, as GET answers it (`marketing.updated_at` is set by usvc and ignored).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    language: String,
    time_zone: String,
    notifications: std::collections::BTreeMap<String, Vec<String>>,
    marketing: MarketingBody,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MarketingBody {
    granted: bool,
    /// Where a change of consent was given; required when it changes.
    #[serde(default)]
    source: Option<String>,
    /// Set by usvc; ignored.
    #[serde(default, rename = "updated_at")]
    #[schema(value_type = Option<String>)]
    _updated_at: Option<IgnoredAny>,
}

/// Replaces the whole preferences document.
#[utoipa::path(
    put, path = "/v1/users/me/preferences", tag = "users", security(("bearer" = [])),
    params(("If-Match" = String, Header, description = "The `ETag` of the version read: `\"<version>\"`.")),
    request_body = PreferencesBody,
    responses(
        (status = 200, description = "The preferences as they now are.", body = PreferencesView, headers(("ETag" = String, description = "The version: send it back in `If-Match` to change it."))),
        (status = 412, description = "`If-Match` does not name the current version.", body = Problem),
        (status = 428, description = "`If-Match` is missing.", body = Problem),
    ),
)]
async fn replace_preferences(
    State(state): State<AppState>,
    AuthUser(claims): AuthUser,
    IfMatch(version): IfMatch,
    ApiJson(body): ApiJson<PreferencesBody>,
) -> Result<Tagged<PreferencesView>, ApiError> {
    let document = PreferencesDocument {
        language: body.language,
        time_zone: body.time_zone,
        notifications: body
            .notifications
            .into_iter()
            .map(|(category, channels)| NotificationSetting { category, channels })
            .collect(),
        marketing: ConsentChoice {
            granted: body.marketing.granted,
            source: body.marketing.source,
        },
    };
    let preferences = state
        .profiles
        .replace_preferences(&claims.sub, document, version)
        .await?;
    Ok(preferences_view(preferences))
}
