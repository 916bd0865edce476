//! `ProfileService` over gRPC: every RPC for the acting customer, versions (ABORTED when stale,
//! INVALID_ARGUMENT when missing), broken rules as field violations, no customer token, and one
//! store shared with the HTTP API.

use serde_json::{Value, json};
use tonic::Code;
use usvc_proto::usvc::v1::{
    Address, GetPreferencesRequest, GetProfileRequest, MarketingConsent, NotificationSetting,
    Preferences, UpdatePreferencesRequest, UpdateProfileRequest,
};
use usvc_tests::{Backend, Reply, TestApp, backends, spawn};

use super::{Grpc, expect_code, reason, violated_fields, violation_codes};

backends!(
    every_rpc_reads_and_changes_the_customers_own_data,
    a_stale_or_missing_version_changes_nothing,
    broken_rules_are_field_violations,
    without_a_customer_token_every_rpc_is_unauthenticated,
    changes_over_grpc_show_over_http_and_back,
);

const PASSWORD: &str = "a long passphrase";

fn address() -> Address {
    Address {
        line1: "12 St James's Square".to_owned(),
        line2: String::new(),
        city: "London".to_owned(),
        postal_code: "SW1Y 4JH".to_owned(),
        region: String::new(),
        country: "GB".to_owned(),
    }
}

fn setting(category: &str, channels: &[&str]) -> NotificationSetting {
    NotificationSetting {
        category: category.to_owned(),
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn preferences(language: &str, granted: bool, source: &str) -> Preferences {
    Preferences {
        language: language.to_owned(),
        time_zone: "Europe/London".to_owned(),
        notifications: vec![
            setting("security", &["email", "push"]),
            setting("account", &["email"]),
        ],
        marketing: Some(MarketingConsent {
            granted,
            source: source.to_owned(),
            updated_at: None,
        }),
        version: String::new(),
    }
}

fn update_preferences(preferences: Preferences, expected: &str) -> UpdatePreferencesRequest {
    UpdatePreferencesRequest {
        preferences: Some(preferences),
        expected_version: expected.to_owned(),
    }
}

async fn every_rpc_reads_and_changes_the_customers_own_data(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app.onboarded_customer("pat@example.com", PASSWORD).await;
    let id = app.user_id("pat@example.com").await;
    let mut client = grpc.profile();

    let profile = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(profile.user_id, id);
    assert_eq!(profile.legal_name, "Ada Lovelace");
    assert_eq!(profile.date_of_birth, "1990-12-10");
    assert_eq!(profile.phone, "+447700900123");
    assert_eq!(profile.nationality, "");
    assert_eq!(profile.address, None);
    assert_eq!(profile.version, "0");
    assert!(profile.updated_at.is_some());

    let updated = client
        .update_profile(grpc.for_user(
            UpdateProfileRequest {
                legal_name: Some("Pat Smith".to_owned()),
                date_of_birth: None,
                nationality: Some("IE".to_owned()),
                address: Some(address()),
                expected_version: "0".to_owned(),
            },
            &access,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.version, "1");
    assert_eq!(updated.legal_name, "Pat Smith");
    assert_eq!(updated.date_of_birth, "1990-12-10");
    assert_eq!(updated.nationality, "IE");
    assert_eq!(updated.address, Some(address()));
    let read = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, updated);
    assert_eq!(read.national_id_masked, "");
    assert!(!read.phone_verified);

    let defaults = client
        .get_preferences(grpc.for_user(GetPreferencesRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(defaults.version, "0");
    assert_eq!(defaults.language, "en");
    assert_eq!(defaults.time_zone, "UTC");
    assert_eq!(
        defaults.notifications,
        [
            setting("security", &["email"]),
            setting("account", &["email"]),
            setting("marketing", &[]),
            setting("product", &[]),
        ]
    );
    let marketing = defaults.marketing.expect("marketing consent");
    assert!(!marketing.granted);
    assert_eq!(marketing.source, "");
    assert_eq!(marketing.updated_at, None);

    let replaced = client
        .update_preferences(grpc.for_user(
            update_preferences(preferences("ga-IE", true, "app"), "0"),
            &access,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.version, "1");
    assert_eq!(replaced.language, "ga-IE");
    assert_eq!(replaced.time_zone, "Europe/London");
    assert_eq!(
        replaced.notifications[0],
        setting("security", &["email", "push"])
    );
    assert_eq!(replaced.notifications[3], setting("product", &[]));
    let marketing = replaced.marketing.clone().unwrap();
    assert!(marketing.granted);
    assert_eq!(marketing.source, "app");
    assert!(marketing.updated_at.is_some());
    let read = client
        .get_preferences(grpc.for_user(GetPreferencesRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, replaced);

    // The same events and audit rows as over HTTP.
    let mut conn = app.db.acquire().await.unwrap();
    let history = usvc::store::preferences::consent_history(&mut conn, &id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, "app");
    for event_type in [
        "user.profile_updated",
        "user.preferences_updated",
        "user.marketing_consent_changed",
    ] {
        assert_eq!(app.audit_count(&id, event_type).await, 1, "{event_type}");
    }

    // A national id number given over HTTP (by its owner, who sees it whole) reaches other
    // services masked.
    let patch = app
        .http
        .patch(app.url("/v1/users/me/profile"))
        .bearer_auth(&access)
        .header("if-match", "\"1\"")
        .json(&json!({"national_id": "AB123456C"}));
    assert_eq!(patch.send().await.unwrap().status(), 200);
    let masked = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(masked.national_id_masked, "*****456C");
    assert_eq!(masked.date_of_birth, "1990-12-10");
}

async fn a_stale_or_missing_version_changes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app.onboarded_customer("pat@example.com", PASSWORD).await;
    let mut client = grpc.profile();
    let nationality = |code: &str, expected: &str| UpdateProfileRequest {
        nationality: Some(code.to_owned()),
        expected_version: expected.to_owned(),
        ..UpdateProfileRequest::default()
    };

    client
        .update_profile(grpc.for_user(nationality("GB", "0"), &access))
        .await
        .unwrap();
    let status = expect_code(
        client
            .update_profile(grpc.for_user(nationality("FR", "0"), &access))
            .await,
        Code::Aborted,
    );
    assert_eq!(reason(&status), "STALE_VERSION");
    for (expected, code) in [
        ("", "expected_version.missing"),
        ("v1", "expected_version.invalid"),
    ] {
        let status = expect_code(
            client
                .update_profile(grpc.for_user(nationality("FR", expected), &access))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), ["expected_version"]);
        assert_eq!(violation_codes(&status), [code]);
    }
    let profile = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (profile.nationality.as_str(), profile.version.as_str()),
        ("GB", "1")
    );

    client
        .update_preferences(grpc.for_user(
            update_preferences(preferences("fr", false, ""), "0"),
            &access,
        ))
        .await
        .unwrap();
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(
                update_preferences(preferences("de", false, ""), "0"),
                &access,
            ))
            .await,
        Code::Aborted,
    );
    assert_eq!(reason(&status), "STALE_VERSION");
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(
                update_preferences(preferences("de", false, ""), ""),
                &access,
            ))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["expected_version"]);
    let read = client
        .get_preferences(grpc.for_user(GetPreferencesRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((read.language.as_str(), read.version.as_str()), ("fr", "1"));
}

async fn broken_rules_are_field_violations(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app.onboarded_customer("pat@example.com", PASSWORD).await;
    let id = app.user_id("pat@example.com").await;
    let mut client = grpc.profile();

    let status = expect_code(
        client
            .update_profile(grpc.for_user(
                UpdateProfileRequest {
                    legal_name: Some(" ".to_owned()),
                    date_of_birth: Some("2999-01-01".to_owned()),
                    nationality: Some("G1".to_owned()),
                    address: Some(Address {
                        city: String::new(),
                        country: "United Kingdom".to_owned(),
                        ..address()
                    }),
                    expected_version: "0".to_owned(),
                },
                &access,
            ))
            .await,
        Code::InvalidArgument,
    );
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "address.city",
            "address.country",
            "date_of_birth",
            "legal_name",
            "nationality"
        ]
    );
    assert_eq!(
        violation_codes(&status),
        [
            "address.city.missing",
            "address.country.invalid",
            "date_of_birth.in_future",
            "legal_name.missing",
            "nationality.invalid",
        ]
    );

    let mut no_security = preferences("en", false, "");
    no_security.notifications = vec![setting("account", &["sms"]), setting("weather", &["email"])];
    no_security.time_zone = "Moon/Tranquility".to_owned();
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(update_preferences(no_security, "0"), &access))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        violation_codes(&status),
        [
            "notifications.security_required",
            "notifications.unknown_category",
            "time_zone.unknown",
        ]
    );
    // Consent changes need their source; the document and its consent are required.
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(
                update_preferences(preferences("en", true, ""), "0"),
                &access,
            ))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violation_codes(&status), ["marketing.source.missing"]);
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(
                UpdatePreferencesRequest {
                    preferences: None,
                    expected_version: "0".to_owned(),
                },
                &access,
            ))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["preferences"]);
    let mut no_consent = preferences("en", false, "");
    no_consent.marketing = None;
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(update_preferences(no_consent, "0"), &access))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violation_codes(&status), ["marketing.missing"]);

    let profile = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (profile.legal_name.as_str(), profile.version.as_str()),
        ("Ada Lovelace", "0")
    );
    let read = client
        .get_preferences(grpc.for_user(GetPreferencesRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.version, "0");
    assert_eq!(app.audit_count(&id, "user.profile_updated").await, 0);
    assert_eq!(app.audit_count(&id, "user.preferences_updated").await, 0);
}

async fn without_a_customer_token_every_rpc_is_unauthenticated(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let mut client = grpc.profile();
    let update = UpdateProfileRequest {
        nationality: Some("GB".to_owned()),
        expected_version: "0".to_owned(),
        ..UpdateProfileRequest::default()
    };
    let replace = update_preferences(preferences("en", false, ""), "0");

    // An internal call with no customer behind it.
    expect_code(
        client.get_profile(grpc.call(GetProfileRequest {})).await,
        Code::Unauthenticated,
    );
    expect_code(
        client.update_profile(grpc.call(update.clone())).await,
        Code::Unauthenticated,
    );
    expect_code(
        client
            .get_preferences(grpc.call(GetPreferencesRequest {}))
            .await,
        Code::Unauthenticated,
    );
    expect_code(
        client.update_preferences(grpc.call(replace.clone())).await,
        Code::Unauthenticated,
    );

    // A customer token that is not one.
    let status = expect_code(
        client
            .get_profile(grpc.for_user(GetProfileRequest {}, "garbage"))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "TOKEN_INVALID");
    expect_code(
        client
            .update_preferences(grpc.for_user(replace, "garbage"))
            .await,
        Code::Unauthenticated,
    );

    // And no caller token at all: refused before any handler runs.
    expect_code(
        client
            .get_profile(tonic::Request::new(GetProfileRequest {}))
            .await,
        Code::Unauthenticated,
    );
    let events = app.events().await;
    assert!(
        events.iter().all(|e| !matches!(
            e.event_type.as_str(),
            "user.profile_updated" | "user.preferences_updated"
        )),
        "{events:?}"
    );
}

/// An HTTP request with a bearer token and optional `If-Match` and body; reply and ETag.
async fn http(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    access: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (Reply, String) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(access);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (reply, etag)
}

async fn changes_over_grpc_show_over_http_and_back(backend: Backend) {
    use reqwest::Method;
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app.onboarded_customer("pat@example.com", PASSWORD).await;
    let mut client = grpc.profile();

    // gRPC writes, HTTP reads: the version is the ETag.
    client
        .update_profile(grpc.for_user(
            UpdateProfileRequest {
                nationality: Some("DE".to_owned()),
                address: Some(address()),
                expected_version: "0".to_owned(),
                ..UpdateProfileRequest::default()
            },
            &access,
        ))
        .await
        .unwrap();
    let (reply, etag) = http(
        &app,
        Method::GET,
        "/v1/users/me/profile",
        &access,
        None,
        None,
    )
    .await;
    assert_eq!(etag, "\"1\"");
    assert_eq!(reply.body["nationality"], "DE");
    assert_eq!(reply.body["address"]["postal_code"], "SW1Y 4JH");

    // HTTP writes with that ETag, gRPC reads.
    let (_, etag) = http(
        &app,
        Method::PATCH,
        "/v1/users/me/profile",
        &access,
        Some(&etag),
        Some(json!({"legal_name": "Pat Müller"})),
    )
    .await;
    assert_eq!(etag, "\"2\"");
    let profile = client
        .get_profile(grpc.for_user(GetProfileRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(profile.legal_name, "Pat Müller");
    assert_eq!(profile.nationality, "DE");
    assert_eq!(profile.version, "2");

    // Preferences both ways.
    let replaced = client
        .update_preferences(grpc.for_user(
            update_preferences(preferences("de-DE", true, "branch"), "0"),
            &access,
        ))
        .await
        .unwrap()
        .into_inner();
    let (reply, etag) = http(
        &app,
        Method::GET,
        "/v1/users/me/preferences",
        &access,
        None,
        None,
    )
    .await;
    assert_eq!(etag, format!("\"{}\"", replaced.version));
    assert_eq!(reply.body["language"], "de-DE");
    assert_eq!(reply.body["marketing"]["source"], "branch");
    assert_eq!(
        reply.body["notifications"]["security"],
        json!(["email", "push"])
    );

    let mut body = reply.body.clone();
    body["time_zone"] = json!("Europe/Berlin");
    http(
        &app,
        Method::PUT,
        "/v1/users/me/preferences",
        &access,
        Some(&etag),
        Some(body),
    )
    .await;
    let read = client
        .get_preferences(grpc.for_user(GetPreferencesRequest {}, &access))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.time_zone, "Europe/Berlin");
    assert_eq!(read.version, "2");
    // A gRPC write naming the version HTTP replaced is stale.
    let status = expect_code(
        client
            .update_preferences(grpc.for_user(
                update_preferences(preferences("en", true, ""), "1"),
                &access,
            ))
            .await,
        Code::Aborted,
    );
    assert_eq!(reason(&status), "STALE_VERSION");
}
