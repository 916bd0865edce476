//! Profile and preferences over HTTP: defaults, versioned writes (`ETag` / `If-Match`, 428 and
//! 412), every rule with its violation code, marketing consent history and events, events
//! without personal data, and one customer never seeing another's changes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use usvc::store::preferences::consent_history;
use usvc_tests::{Backend, Reply, TestApp, backends, spawn};

backends!(
    a_new_customer_has_the_defaults,
    a_profile_change_round_trips_with_its_etag,
    preferences_are_replaced_as_a_whole,
    writes_without_if_match_are_refused,
    a_stale_etag_is_refused_and_changes_nothing,
    concurrent_writes_on_one_version_let_exactly_one_win,
    every_profile_rule_has_its_violation_code,
    every_preferences_rule_has_its_violation_code,
    security_alerts_cannot_be_switched_off,
    a_consent_change_is_kept_in_history_and_published,
    profile_events_carry_no_personal_data,
    profile_and_preferences_need_a_token,
    one_customers_changes_never_show_in_anothers,
);

const PASSWORD: &str = "analytical engine 1843";
const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const PROFILE: &str = "/v1/users/me/profile";
const PREFERENCES: &str = "/v1/users/me/preferences";

/// A request with an optional bearer token, `If-Match` and JSON body; the reply and its `ETag`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (Reply, Option<String>) {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().expect("ASCII").to_owned());
    (Reply::read(response).await, etag)
}

/// A successful GET: body and ETag.
async fn read(app: &TestApp, path: &str, token: &str) -> (Value, String) {
    let (reply, etag) = send(app, Method::GET, path, Some(token), None, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (reply.body, etag.expect("an ETag"))
}

async fn patch(app: &TestApp, token: &str, if_match: &str, body: Value) -> (Reply, Option<String>) {
    send(
        app,
        Method::PATCH,
        PROFILE,
        Some(token),
        Some(if_match),
        Some(body),
    )
    .await
}

async fn put(app: &TestApp, token: &str, if_match: &str, body: Value) -> (Reply, Option<String>) {
    send(
        app,
        Method::PUT,
        PREFERENCES,
        Some(token),
        Some(if_match),
        Some(body),
    )
    .await
}

fn address() -> Value {
    json!({
        "line1": "12 St James's Square",
        "line2": "Flat 3",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "region": "Greater London",
        "country": "GB",
    })
}

/// The defaults, as a PUT body.
fn default_preferences() -> Value {
    json!({
        "language": "en",
        "time_zone": "UTC",
        "notifications": {
            "security": ["email"], "account": ["email"], "marketing": [], "product": [],
        },
        "marketing": {"granted": false, "source": null, "updated_at": null},
    })
}

/// Events of the profile family in the outbox, oldest first.
async fn profile_events(app: &TestApp) -> Vec<usvc::store::outbox::Event> {
    app.events()
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e.event_type.as_str(),
                "user.profile_updated"
                    | "user.preferences_updated"
                    | "user.marketing_consent_changed"
            )
        })
        .collect()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn a_new_customer_has_the_defaults(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;

    let (profile, etag) = read(&app, PROFILE, &token).await;
    assert_eq!(etag, "\"0\"");
    assert_eq!(profile["user_id"], id.as_str());
    assert_eq!(profile["legal_name"], "Ada Lovelace");
    assert_eq!(profile["date_of_birth"], "1990-12-10");
    assert_eq!(profile["phone"], "+447700900123");
    assert_eq!(profile["nationality"], Value::Null);
    assert_eq!(profile["address"], Value::Null);
    assert!(profile["updated_at"].as_str().unwrap().ends_with('Z'));

    let (preferences, etag) = read(&app, PREFERENCES, &token).await;
    assert_eq!(etag, "\"0\"");
    assert_eq!(preferences, default_preferences());
}

async fn a_profile_change_round_trips_with_its_etag(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;

    let (reply, etag) = patch(
        &app,
        &token,
        "\"0\"",
        json!({"nationality": "GB", "address": address()}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(reply.body["nationality"], "GB");
    assert_eq!(reply.body["address"], address());
    assert_eq!(reply.body["legal_name"], "Ada Lovelace");
    let (read_back, etag) = read(&app, PROFILE, &token).await;
    assert_eq!(etag, "\"1\"");
    assert_eq!(read_back, reply.body);

    // Only the fields present change; the identity fields live with the account.
    let (reply, etag) = patch(
        &app,
        &token,
        "\"1\"",
        json!({"legal_name": "  Augusta Ada King  ", "date_of_birth": "1985-12-10"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(reply.body["legal_name"], "Augusta Ada King");
    assert_eq!(reply.body["date_of_birth"], "1985-12-10");
    assert_eq!(reply.body["address"], address());
    let me = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(me.body["legal_name"], "Augusta Ada King");
    assert_eq!(me.body["date_of_birth"], "1985-12-10");

    // A new address replaces the old one whole.
    let moved = json!({"line1": "1 Main Street", "city": "Dublin", "postal_code": "D02 X285", "country": "IE"});
    let (reply, etag) = patch(&app, &token, "\"2\"", json!({"address": moved})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"3\""));
    assert_eq!(reply.body["address"]["line2"], Value::Null);
    assert_eq!(reply.body["address"]["region"], Value::Null);
    assert_eq!(reply.body["address"]["country"], "IE");

    // Each change is published and audited with the names of what changed.
    let events = profile_events(&app).await;
    let fields: Vec<Value> = events.iter().map(|e| e.data["fields"].clone()).collect();
    assert_eq!(
        fields,
        [
            json!(["nationality", "address"]),
            json!(["legal_name", "date_of_birth"]),
            json!(["address"]),
        ]
    );
    for (event, version) in events.iter().zip(1..) {
        assert_eq!(event.event_type, "user.profile_updated");
        assert_eq!(event.subject, id);
        assert_eq!(event.data["version"], version);
    }
    assert_eq!(app.audit_count(&id, "user.profile_updated").await, 3);

    // A change that changes nothing writes nothing and keeps the version.
    let (reply, etag) = patch(&app, &token, "\"3\"", json!({"nationality": "GB"})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"3\""));
    assert_eq!(profile_events(&app).await.len(), 3);
}

async fn preferences_are_replaced_as_a_whole(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;

    let body = json!({
        "language": "en-gb",
        "time_zone": "europe/london",
        "notifications": {"security": ["push", "email", "push"], "product": ["sms"]},
        "marketing": {"granted": false},
    });
    let (reply, etag) = put(&app, &token, "\"0\"", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    // Canonical names, every category (a missing one is off), channels once each in order.
    let expected = json!({
        "language": "en-GB",
        "time_zone": "Europe/London",
        "notifications": {"security": ["email", "push"], "account": [], "marketing": [], "product": ["sms"]},
        "marketing": {"granted": false, "source": null, "updated_at": null},
    });
    assert_eq!(reply.body, expected);
    let (read_back, etag) = read(&app, PREFERENCES, &token).await;
    assert_eq!((read_back, etag.as_str()), (expected.clone(), "\"1\""));

    // What GET answers can be sent back as it is: a round trip changes nothing.
    let (reply, etag) = put(&app, &token, "\"1\"", expected.clone()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"1\""));

    let events = profile_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_type, "user.preferences_updated");
    assert_eq!(
        events[0].data,
        json!({"user_id": id, "fields": ["language", "time_zone", "notifications"], "version": 1})
    );
    assert_eq!(app.audit_count(&id, "user.preferences_updated").await, 1);

    // Unknown fields are refused, as everywhere.
    let mut unknown = expected;
    unknown["theme"] = json!("dark");
    let (reply, _) = put(&app, &token, "\"1\"", unknown).await;
    reply.assert_problem(422, "/problems/invalid-body");
}

async fn writes_without_if_match_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;

    let change = json!({"nationality": "FR"});
    let (reply, _) = send(
        &app,
        Method::PATCH,
        PROFILE,
        Some(&token),
        None,
        Some(change.clone()),
    )
    .await;
    reply.assert_problem(428, "/problems/precondition-required");
    // `*` would overwrite whatever is there: it is refused the same way.
    let (reply, _) = patch(&app, &token, "*", change).await;
    reply.assert_problem(428, "/problems/precondition-required");
    let (reply, _) = send(
        &app,
        Method::PUT,
        PREFERENCES,
        Some(&token),
        None,
        Some(default_preferences()),
    )
    .await;
    reply.assert_problem(428, "/problems/precondition-required");

    let (profile, etag) = read(&app, PROFILE, &token).await;
    assert_eq!(
        (profile["nationality"].clone(), etag.as_str()),
        (Value::Null, "\"0\"")
    );
    assert!(profile_events(&app).await.is_empty());
}

async fn a_stale_etag_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;

    let (reply, _) = patch(&app, &token, "\"0\"", json!({"nationality": "GB"})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    // Another client still holding version 0, a weak tag, a tag from the future, garbage.
    for tag in ["\"0\"", "W/\"1\"", "\"2\"", "1", "\"one\""] {
        let (reply, _) = patch(
            &app,
            &token,
            tag,
            json!({"nationality": "FR", "legal_name": "Someone Else"}),
        )
        .await;
        reply.assert_problem(412, "/problems/precondition-failed");
    }
    let (profile, etag) = read(&app, PROFILE, &token).await;
    assert_eq!(etag, "\"1\"");
    assert_eq!(profile["nationality"], "GB");
    assert_eq!(profile["legal_name"], "Ada Lovelace");

    let (reply, _) = put(&app, &token, "\"0\"", default_preferences()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut change = default_preferences();
    change["language"] = json!("fr");
    let (reply, _) = put(&app, &token, "\"0\"", change.clone()).await;
    assert_eq!(
        reply.status, 200,
        "the defaults changed nothing: {:?}",
        reply.body
    );
    change["language"] = json!("de");
    let (reply, _) = put(&app, &token, "\"1\"", change.clone()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    change["language"] = json!("es");
    let (reply, _) = put(&app, &token, "\"1\"", change).await;
    reply.assert_problem(412, "/problems/precondition-failed");
    let (preferences, etag) = read(&app, PREFERENCES, &token).await;
    assert_eq!(
        (preferences["language"].clone(), etag.as_str()),
        (json!("de"), "\"2\"")
    );

    let types: Vec<String> = profile_events(&app)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "user.profile_updated",
            "user.preferences_updated",
            "user.preferences_updated"
        ]
    );
}

async fn concurrent_writes_on_one_version_let_exactly_one_win(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let mut french = default_preferences();
    french["language"] = json!("fr");
    let (reply, _) = put(&app, &token, "\"0\"", french).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // The first profile row (an insert) and a later preferences version (an update) alike.
    let name = |n: &str| json!({"legal_name": n});
    let profile = tokio::join!(
        patch(&app, &token, "\"0\"", name("Ada One")),
        patch(&app, &token, "\"0\"", name("Ada Two")),
        patch(&app, &token, "\"0\"", name("Ada Three")),
        patch(&app, &token, "\"0\"", name("Ada Four")),
    );
    let language = |l: &str| {
        let mut p = default_preferences();
        p["language"] = json!(l);
        p
    };
    let preferences = tokio::join!(
        put(&app, &token, "\"1\"", language("de")),
        put(&app, &token, "\"1\"", language("es")),
        put(&app, &token, "\"1\"", language("it")),
        put(&app, &token, "\"1\"", language("nl")),
    );
    for (replies, next) in [
        ([profile.0, profile.1, profile.2, profile.3], "\"1\""),
        (
            [preferences.0, preferences.1, preferences.2, preferences.3],
            "\"2\"",
        ),
    ] {
        let mut statuses: Vec<u16> = replies.iter().map(|(r, _)| r.status).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 412, 412, 412], "{replies:?}");
        let (winner, etag) = replies.iter().find(|(r, _)| r.status == 200).unwrap();
        assert_eq!(etag.as_deref(), Some(next));
        let path = if winner.body.get("legal_name").is_some() {
            PROFILE
        } else {
            PREFERENCES
        };
        // What is stored is the winner's change, whole.
        let (stored, etag) = read(&app, path, &token).await;
        assert_eq!((&stored, etag.as_str()), (&winner.body, next));
    }
    assert_eq!(profile_events(&app).await.len(), 3);
}

/// Sends each body to `path` on version 0; each must be refused with exactly `codes`.
async fn assert_refused(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    cases: Vec<(Value, &[&str])>,
) {
    for (body, codes) in cases {
        let (reply, _) = send(
            app,
            method.clone(),
            path,
            Some(token),
            Some("\"0\""),
            Some(body.clone()),
        )
        .await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), codes, "{body}: {:?}", reply.body);
        for violation in reply.body["violations"].as_array().unwrap() {
            assert!(violation["field"].as_str().is_some_and(|f| !f.is_empty()));
            assert!(violation["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
}

async fn every_profile_rule_has_its_violation_code(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let with_address = |changes: Value| {
        let mut a = address();
        for (k, v) in changes.as_object().unwrap() {
            a[k] = v.clone();
        }
        json!({"address": a})
    };
    let long = "x".repeat(101);
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"legal_name": "   "}), &["legal_name.missing"]),
        (
            json!({"legal_name": "é".repeat(201)}),
            &["legal_name.too_long"],
        ),
        (
            json!({"legal_name": "Ada\u{0}King"}),
            &["legal_name.invalid"],
        ),
        (
            json!({"date_of_birth": "1990-02-30"}),
            &["date_of_birth.invalid"],
        ),
        (
            json!({"date_of_birth": "10/12/1990"}),
            &["date_of_birth.invalid"],
        ),
        (
            json!({"date_of_birth": "2999-01-01"}),
            &["date_of_birth.in_future"],
        ),
        (
            json!({"date_of_birth": "1800-01-01"}),
            &["date_of_birth.implausible"],
        ),
        (json!({"nationality": "G1"}), &["nationality.invalid"]),
        (json!({"nationality": "GBR"}), &["nationality.invalid"]),
        (
            json!({"address": {"line2": "Flat 3"}}),
            &[
                "address.city.missing",
                "address.country.missing",
                "address.line1.missing",
                "address.postal_code.missing",
            ],
        ),
        (
            with_address(json!({"line1": long})),
            &["address.line1.too_long"],
        ),
        (
            with_address(json!({"line2": "a\nb"})),
            &["address.line2.invalid"],
        ),
        (
            with_address(json!({"city": long})),
            &["address.city.too_long"],
        ),
        (
            with_address(json!({"region": long})),
            &["address.region.too_long"],
        ),
        (
            with_address(json!({"postal_code": "SW1Y;4JH"})),
            &["address.postal_code.invalid"],
        ),
        (
            with_address(json!({"postal_code": "1".repeat(17)})),
            &["address.postal_code.too_long"],
        ),
        (
            with_address(json!({"country": "Britain"})),
            &["address.country.invalid"],
        ),
        // Every broken rule at once, and a valid field beside them changes nothing either.
        (
            json!({"legal_name": "", "date_of_birth": "x", "nationality": "?", "address": {}}),
            &[
                "address.city.missing",
                "address.country.missing",
                "address.line1.missing",
                "address.postal_code.missing",
                "date_of_birth.invalid",
                "legal_name.missing",
                "nationality.invalid",
            ],
        ),
        (
            json!({"legal_name": "Valid Name", "nationality": "x"}),
            &["nationality.invalid"],
        ),
    ];
    assert_refused(&app, &token, Method::PATCH, PROFILE, cases).await;

    // Shapes the body cannot have: unknown fields, and null (nothing here can be erased).
    for body in [
        json!({"email": "other@example.com"}),
        json!({"phone": "+447700900000"}),
        json!({"nationality": null}),
        json!({"address": {"line1": "1 A St", "city": "B", "postal_code": "C", "country": "GB", "flat": "4"}}),
    ] {
        let (reply, _) = patch(&app, &token, "\"0\"", body).await;
        reply.assert_problem(422, "/problems/invalid-body");
    }

    let (profile, etag) = read(&app, PROFILE, &token).await;
    assert_eq!(etag, "\"0\"");
    assert_eq!(profile["legal_name"], "Ada Lovelace");
    assert_eq!(profile["nationality"], Value::Null);
    assert!(profile_events(&app).await.is_empty());
}

async fn every_preferences_rule_has_its_violation_code(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let with = |changes: Value| {
        let mut p = default_preferences();
        for (k, v) in changes.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let notify = |n: Value| with(json!({"notifications": n}));
    let cases: Vec<(Value, &[&str])> = vec![
        (with(json!({"language": ""})), &["language.missing"]),
        (with(json!({"language": "english"})), &["language.invalid"]),
        (with(json!({"language": "en_GB"})), &["language.invalid"]),
        (with(json!({"time_zone": ""})), &["time_zone.missing"]),
        (
            with(json!({"time_zone": "Europe/Atlantis"})),
            &["time_zone.unknown"],
        ),
        (with(json!({"time_zone": "+01:00"})), &["time_zone.unknown"]),
        (
            notify(json!({"security": ["email"], "weather": ["email"]})),
            &["notifications.unknown_category"],
        ),
        (
            notify(json!({"security": ["email", "fax"]})),
            &["notifications.unknown_channel"],
        ),
        (
            notify(json!({"security": ["email"], "marketing": ["email"]})),
            &["notifications.marketing_without_consent"],
        ),
        (
            with(json!({"marketing": {"granted": true, "source": "the app!"}})),
            &["marketing.source.invalid"],
        ),
        // Consent changes must say where the customer made them.
        (
            with(json!({"marketing": {"granted": true}})),
            &["marketing.source.missing"],
        ),
        (
            with(json!({"marketing": {"granted": true, "source": " "}})),
            &["marketing.source.missing"],
        ),
        (
            with(json!({"language": "??", "time_zone": "Nowhere", "notifications": {}})),
            &[
                "language.invalid",
                "notifications.security_required",
                "time_zone.unknown",
            ],
        ),
    ];
    assert_refused(&app, &token, Method::PUT, PREFERENCES, cases).await;

    for body in [
        json!({"language": "en", "time_zone": "UTC", "notifications": {}}),
        with(json!({"notifications": {"security": "email"}})),
        with(json!({"marketing": {"granted": "yes"}})),
    ] {
        let (reply, _) = put(&app, &token, "\"0\"", body).await;
        reply.assert_problem(422, "/problems/invalid-body");
    }

    let (preferences, etag) = read(&app, PREFERENCES, &token).await;
    assert_eq!(
        (preferences, etag.as_str()),
        (default_preferences(), "\"0\"")
    );
    assert!(profile_events(&app).await.is_empty());
    let mut conn = app.db.acquire().await.unwrap();
    let id = app.user_id(ADA).await;
    assert!(consent_history(&mut conn, &id).await.unwrap().is_empty());
}

async fn security_alerts_cannot_be_switched_off(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    for notifications in [
        json!({"security": [], "account": ["email"]}),
        json!({"account": ["email", "sms"], "product": ["push"]}),
        json!({}),
    ] {
        let mut body = default_preferences();
        body["notifications"] = notifications;
        let (reply, _) = put(&app, &token, "\"0\"", body).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), ["notifications.security_required"]);
        assert_eq!(
            reply.body["violations"][0]["field"],
            "notifications.security"
        );
    }
    // Another channel instead of email is fine.
    let mut body = default_preferences();
    body["notifications"]["security"] = json!(["sms"]);
    let (reply, _) = put(&app, &token, "\"0\"", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (preferences, _) = read(&app, PREFERENCES, &token).await;
    assert_eq!(preferences["notifications"]["security"], json!(["sms"]));
}

async fn a_consent_change_is_kept_in_history_and_published(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;
    let mut bus = app.app_events.subscribe();

    let before = now();
    let mut body = default_preferences();
    body["marketing"] = json!({"granted": true, "source": "App"});
    body["notifications"]["marketing"] = json!(["email"]);
    let (reply, etag) = put(&app, &token, "\"0\"", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(reply.body["marketing"]["granted"], true);
    assert_eq!(reply.body["marketing"]["source"], "app");
    let granted_at = reply.body["marketing"]["updated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(granted_at.ends_with('Z'), "{granted_at}");

    let mut conn = app.db.acquire().await.unwrap();
    let history = consent_history(&mut conn, &id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].granted);
    assert_eq!(history[0].source, "app");
    assert!(
        (before..=now()).contains(&history[0].changed_at),
        "{history:?}"
    );

    // Published: the relay delivers the event to subscribers, with its audit row beside it.
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = bus.recv().await.expect("the bus is open");
            if event.event_type == "user.marketing_consent_changed" {
                return event;
            }
        }
    })
    .await
    .expect("user.marketing_consent_changed is published");
    assert_eq!(event.subject, id);
    assert_eq!(
        event.data,
        json!({"user_id": id, "granted": true, "source": "app", "changed_at": history[0].changed_at})
    );
    let audit = app.audit(&id).await;
    assert!(
        audit
            .iter()
            .any(|a| a.id == event.id && a.event_type == event.event_type)
    );

    // The same consent with another source is no change and leaves no record.
    let mut same = reply.body.clone();
    same["marketing"]["source"] = json!("web");
    same["language"] = json!("en-GB");
    let (reply, etag) = put(&app, &token, "\"1\"", same).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(reply.body["marketing"]["source"], "app");
    assert_eq!(reply.body["marketing"]["updated_at"], granted_at.as_str());

    // Withdrawing it (and the marketing channels with it) is recorded too.
    let mut withdraw = reply.body.clone();
    withdraw["marketing"] = json!({"granted": false, "source": "branch"});
    withdraw["notifications"]["marketing"] = json!([]);
    let (reply, _) = put(&app, &token, "\"2\"", withdraw).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["marketing"]["granted"], false);
    assert_eq!(reply.body["marketing"]["source"], "branch");

    let history = consent_history(&mut conn, &id).await.unwrap();
    let summary: Vec<(bool, &str)> = history
        .iter()
        .map(|h| (h.granted, h.source.as_str()))
        .collect();
    assert_eq!(summary, [(true, "app"), (false, "branch")]);
    assert_eq!(
        app.audit_count(&id, "user.marketing_consent_changed").await,
        2
    );
    let fields: Vec<Value> = profile_events(&app)
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.preferences_updated")
        .map(|e| e.data["fields"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!(["notifications", "marketing"]),
            json!(["language"]),
            json!(["notifications", "marketing"]),
        ]
    );
}

async fn profile_events_carry_no_personal_data(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let id = app.user_id(ADA).await;
    let change = json!({
        "legal_name": "Zebulon Quixote",
        "date_of_birth": "1977-07-07",
        "nationality": "NZ",
        "address": {
            "line1": "742 Evergreen Terrace", "line2": "Rear cottage", "city": "Springfield",
            "postal_code": "SPR 1NG", "region": "Oregon", "country": "US",
        },
    });
    let (reply, _) = patch(&app, &token, "\"0\"", change).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut body = default_preferences();
    body["language"] = json!("mi-NZ");
    body["time_zone"] = json!("Pacific/Auckland");
    body["marketing"] = json!({"granted": true, "source": "web"});
    let (reply, _) = put(&app, &token, "\"0\"", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let events = profile_events(&app).await;
    assert_eq!(events.len(), 3);
    let audit = app.audit(&id).await;
    let texts = events
        .iter()
        .map(|e| e.data.to_string())
        .chain(audit.iter().map(|a| a.data.to_string()));
    for text in texts {
        for pii in [
            "Zebulon",
            "Quixote",
            "1977-07-07",
            "NZ",
            "Evergreen",
            "Rear cottage",
            "Springfield",
            "SPR 1NG",
            "Oregon",
            "\"US\"",
            "mi-NZ",
            "Pacific/Auckland",
            ADA,
            "+447700900123",
        ] {
            assert!(!text.contains(pii), "{text} leaks {pii}");
        }
    }
    assert_eq!(
        events[0].data,
        json!({"user_id": id, "fields": ["legal_name", "date_of_birth", "nationality", "address"], "version": 1})
    );
}

async fn profile_and_preferences_need_a_token(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer(ADA, PASSWORD).await;
    for (method, path, body) in [
        (Method::GET, PROFILE, None),
        (Method::PATCH, PROFILE, Some(json!({"nationality": "GB"}))),
        (Method::GET, PREFERENCES, None),
        (Method::PUT, PREFERENCES, Some(default_preferences())),
    ] {
        let (reply, _) = send(
            &app,
            method.clone(),
            path,
            None,
            Some("\"0\""),
            body.clone(),
        )
        .await;
        reply.assert_problem(401, "/problems/unauthorized");
        let (reply, _) = send(&app, method, path, Some("not-a-token"), Some("\"0\""), body).await;
        reply.assert_problem(401, "/problems/unauthorized");
    }
    assert!(profile_events(&app).await.is_empty());
}

async fn one_customers_changes_never_show_in_anothers(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    let bob_id = app.user_id(BOB).await;

    let (reply, _) = patch(
        &app,
        &ada,
        "\"0\"",
        json!({"legal_name": "Ada King", "nationality": "GB", "address": address()}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut body = default_preferences();
    body["language"] = json!("fr");
    body["marketing"] = json!({"granted": true, "source": "app"});
    let (reply, _) = put(&app, &ada, "\"0\"", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    let (profile, etag) = read(&app, PROFILE, &bob).await;
    assert_eq!(etag, "\"0\"");
    assert_eq!(profile["user_id"], bob_id.as_str());
    assert_eq!(profile["legal_name"], "Ada Lovelace");
    assert_eq!(profile["nationality"], Value::Null);
    assert_eq!(profile["address"], Value::Null);
    let (preferences, etag) = read(&app, PREFERENCES, &bob).await;
    assert_eq!(
        (preferences, etag.as_str()),
        (default_preferences(), "\"0\"")
    );

    // Bob's own change starts from his own version, whatever Ada's is.
    let (reply, etag) = patch(&app, &bob, "\"0\"", json!({"nationality": "IE"})).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let (ada_profile, _) = read(&app, PROFILE, &ada).await;
    assert_eq!(ada_profile["nationality"], "GB");
    assert_eq!(ada_profile["legal_name"], "Ada King");
    let mut conn = app.db.acquire().await.unwrap();
    assert!(
        consent_history(&mut conn, &bob_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.audit_count(&bob_id, "user.profile_updated").await, 1);
    assert_eq!(
        app.audit_count(&bob_id, "user.preferences_updated").await,
        0
    );
}
