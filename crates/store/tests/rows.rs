//! Rows written through the store read back as they were written, on SQLite and on PostgreSQL
//! (the server `USVC_TEST_POSTGRES_URL` names, the local one by default; a fresh database per
//! run), and a stored name outside its closed set is a decode error, not a panic.

use std::slice;

use serde_json::json;
use sqlx::Executor;
use usvc_store::{
    Connection, Database,
    audit::{self, AuditEvent},
    component_trials::{self, StoredTrial},
    component_versions::{self, NewVersion},
    contact_changes::{self, ContactChannel, PendingChange},
    credentials,
    decisions::{self, DecisionRecord, Filter},
    devices::{self, NewDevice},
    documents::{self, DocumentRow},
    factors::{self, Factor},
    inbox,
    kyc_results::{self, KycResult},
    outbox, password_resets,
    preferences::{self, MarketingConsent, NotificationSetting, Preferences},
    profiles::{self, Address, Profile, ProfileFields},
    sealing,
    secrets::SecretBox,
    sessions,
    users::{self, NewUser, User, UserStatus},
    verification::{self, Decision, Limits, Reason, VerificationState},
};

const NOW: i64 = 1_700_000_000;

#[tokio::test]
async fn rows_read_back_on_sqlite() {
    let db = usvc_store::connect("sqlite::memory:", 1).await.unwrap();
    rows_read_back(db).await;
}

#[tokio::test]
async fn rows_read_back_on_postgres() {
    sqlx::any::install_default_drivers();
    let admin = std::env::var("USVC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut server = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed by this test: {e}"));
    let name = format!("usvc_store_test_{}", uuid::Uuid::new_v4().simple());
    server
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    let db = usvc_store::connect(&format!("{base}/{name}"), 2)
        .await
        .unwrap();
    let checked = tokio::spawn(rows_read_back(db.clone())).await;
    db.close().await;
    server
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    if let Err(failure) = checked {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn rows_read_back(db: Database) {
    let secrets = SecretBox::new(&[7; 32]);
    let mut conn = db.acquire().await.unwrap();
    let user = users_and_credentials(&mut conn, &secrets).await;
    contact_changes(&mut conn, &user).await;
    devices_and_sessions(&mut conn, &user).await;
    password_resets(&mut conn, &user).await;
    preferences(&mut conn, &user).await;
    profile(&mut conn, &secrets, &user).await;
    verification(&mut conn, &user).await;
    decisions(&mut conn, &user).await;
    components(&mut conn).await;
    documents(&mut conn, &user).await;
    factors(&mut conn, &user).await;
    audit_and_outbox(&mut conn, &user).await;
    let clear = clear_address(&mut conn, &secrets).await;
    // Sealing takes a connection of its own (an in-memory SQLite database has one).
    drop(conn);
    let sealed = sealing::seal_clear_personal_data(&db, &secrets)
        .await
        .unwrap();
    assert_eq!(sealed.addresses, 1);
    let mut conn = db.acquire().await.unwrap();
    let profile = profiles::get(&mut conn, &secrets, &clear.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile, clear);
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        legal_name: "Ada Lovelace".to_owned(),
        date_of_birth: "1815-12-10".to_owned(),
        country_of_residence: "GB".to_owned(),
        phone: Some("+447700900123".to_owned()),
    }
}

async fn users_and_credentials(conn: &mut Connection, secrets: &SecretBox) -> User {
    let user = users::create(conn, secrets, &new_user("ada@example.com"), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        users::get(conn, &user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        users::find_by_email(conn, "ada@example.com").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(users::list(conn).await.unwrap(), slice::from_ref(&user));
    let pending = users::page(conn, None, Some(UserStatus::PendingVerification), 10);
    assert_eq!(pending.await.unwrap(), slice::from_ref(&user));
    let active = users::page(conn, None, Some(UserStatus::Active), 10);
    assert!(active.await.unwrap().is_empty());

    let login = users::find_for_login(conn, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(login, Some((user.clone(), None)));
    credentials::set_password_hash(conn, &user.id, "password-hash", NOW)
        .await
        .unwrap();
    let login = users::find_for_login(conn, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(
        login,
        Some((user.clone(), Some("password-hash".to_owned())))
    );
    let hash = credentials::password_hash(conn, &user.id).await.unwrap();
    assert_eq!(hash.as_deref(), Some("password-hash"));
    assert_eq!(
        credentials::password_hash(conn, "nobody").await.unwrap(),
        None
    );

    credentials::put_email_code(conn, &user.id, "code-hash", NOW + 600, NOW)
        .await
        .unwrap();
    credentials::count_email_code_attempt(conn, &user.id)
        .await
        .unwrap();
    let code = credentials::email_code(conn, &user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (code.code_hash.as_str(), code.attempts, code.expires_at),
        ("code-hash", 1, NOW + 600)
    );
    user
}

async fn contact_changes(conn: &mut Connection, user: &User) {
    let phone = ContactChannel::Phone;
    contact_changes::put(
        conn,
        &user.id,
        phone,
        "+447700900999",
        "hash",
        NOW,
        NOW + 600,
    )
    .await
    .unwrap();
    contact_changes::count_attempt(conn, &user.id, phone)
        .await
        .unwrap();
    assert_eq!(
        contact_changes::pending(conn, &user.id, phone)
            .await
            .unwrap(),
        Some(PendingChange {
            new_value: "+447700900999".to_owned(),
            code_hash: "hash".to_owned(),
            attempts: 1,
            sent_at: NOW,
            expires_at: NOW + 600,
        })
    );
    let email = contact_changes::pending(conn, &user.id, ContactChannel::Email);
    assert_eq!(email.await.unwrap(), None);
}

async fn devices_and_sessions(conn: &mut Connection, user: &User) {
    let new_device = NewDevice {
        user_id: &user.id,
        token_hash: "device-hash",
        name: "Firefox on Linux",
        user_agent: "Firefox",
        ip: "127.0.0.1",
    };
    let device = devices::create(conn, new_device, NOW).await.unwrap();
    let known = devices::touch_known(conn, &user.id, "device-hash", "Firefox", "::1", NOW);
    assert_eq!(known.await.unwrap(), Some(device.clone()));
    let unknown = devices::touch_known(conn, &user.id, "other-hash", "Firefox", "::1", NOW);
    assert_eq!(unknown.await.unwrap(), None);

    let roles = ["support".to_owned()];
    let session = sessions::create(conn, &user.id, &device, &roles, NOW, NOW + 3600)
        .await
        .unwrap();
    assert_eq!(sessions::roles(conn, &session).await.unwrap(), roles);
    assert_eq!(
        sessions::password_at(conn, &session).await.unwrap(),
        Some(NOW)
    );
    sessions::mark_password(conn, &session, NOW + 5)
        .await
        .unwrap();
    assert_eq!(
        sessions::password_at(conn, &session).await.unwrap(),
        Some(NOW + 5)
    );
    assert_eq!(sessions::password_at(conn, "none").await.unwrap(), None);
    assert!(sessions::is_live(conn, &session, NOW).await.unwrap());
    assert!(!sessions::is_live(conn, &session, NOW + 3600).await.unwrap());
    assert_eq!(
        sessions::device_of(conn, &session).await.unwrap(),
        Some(device.clone())
    );
    assert_eq!(sessions::device_of(conn, "none").await.unwrap(), None);

    sessions::add_refresh_token(conn, &session, "refresh-hash", NOW, NOW + 60)
        .await
        .unwrap();
    let token = sessions::find_refresh_token(conn, "refresh-hash", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            token.session_id.as_str(),
            token.user_id.as_str(),
            token.expires_at,
            token.used_at,
            token.session_live
        ),
        (session.as_str(), user.id.as_str(), NOW + 60, None, true)
    );
    let later = sessions::find_refresh_token(conn, "refresh-hash", NOW + 3600);
    assert!(!later.await.unwrap().unwrap().session_live);

    let live = sessions::list_live(conn, &user.id, NOW).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        (
            live[0].id.as_str(),
            live[0].created_at,
            live[0].expires_at,
            live[0].device_id.as_deref(),
            live[0].device_name.as_deref()
        ),
        (
            session.as_str(),
            NOW,
            NOW + 3600,
            Some(device.as_str()),
            Some("Firefox on Linux")
        )
    );
    let other = sessions::create(conn, &user.id, &device, &[], NOW, NOW + 3600)
        .await
        .unwrap();
    let ended = sessions::revoke_all_except(conn, &user.id, Some(&session), NOW);
    assert_eq!(ended.await.unwrap(), [other]);
    let ended = sessions::revoke_by_device(conn, &user.id, &device, NOW);
    assert_eq!(ended.await.unwrap(), [session]);
}

async fn password_resets(conn: &mut Connection, user: &User) {
    password_resets::create(conn, "reset-hash", &user.id, NOW, NOW + 60)
        .await
        .unwrap();
    let owner = password_resets::owner(conn, "reset-hash", NOW)
        .await
        .unwrap();
    assert_eq!(owner, Some(user.id.clone()));
    let spent = password_resets::spend(conn, "reset-hash", NOW)
        .await
        .unwrap();
    assert_eq!(spent, Some(user.id.clone()));
    assert_eq!(
        password_resets::spend(conn, "reset-hash", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        password_resets::owner(conn, "reset-hash", NOW)
            .await
            .unwrap(),
        None
    );
}

async fn preferences(conn: &mut Connection, user: &User) {
    let mut written = Preferences {
        language: "en-GB".to_owned(),
        time_zone: "Europe/London".to_owned(),
        notifications: vec![
            NotificationSetting {
                category: "marketing".to_owned(),
                channels: vec![],
            },
            NotificationSetting {
                category: "security".to_owned(),
                channels: vec!["email".to_owned(), "sms".to_owned()],
            },
        ],
        marketing: MarketingConsent {
            granted: true,
            source: Some("app".to_owned()),
            updated_at: Some(NOW),
        },
        version: 0,
    };
    assert_eq!(preferences::get(conn, &user.id).await.unwrap(), None);
    let saved = preferences::save(conn, &user.id, &written, 0, NOW);
    assert_eq!(saved.await.unwrap(), Some(1));
    let stale = preferences::save(conn, &user.id, &written, 0, NOW);
    assert_eq!(stale.await.unwrap(), None);
    written.version = 1;
    assert_eq!(
        preferences::get(conn, &user.id).await.unwrap(),
        Some(written)
    );

    let change = preferences::record_consent(conn, &user.id, true, "app", NOW)
        .await
        .unwrap();
    let history = preferences::consent_history(conn, &user.id).await.unwrap();
    assert_eq!(history, [change]);
}

async fn profile(conn: &mut Connection, secrets: &SecretBox, user: &User) {
    let mut expected = Profile {
        user_id: user.id.clone(),
        legal_name: "Ada Lovelace".to_owned(),
        date_of_birth: "1815-12-10".to_owned(),
        nationality: None,
        address: None,
        national_id: None,
        phone: Some("+447700900123".to_owned()),
        phone_verified: false,
        version: 0,
        updated_at: NOW,
    };
    let read = profiles::get(conn, secrets, &user.id).await.unwrap();
    assert_eq!(read, Some(expected.clone()));

    let address = Address {
        line1: "12 St James's Square".to_owned(),
        line2: None,
        city: "London".to_owned(),
        postal_code: "SW1Y 4LB".to_owned(),
        region: None,
        country: "GB".to_owned(),
    };
    let fields = ProfileFields {
        nationality: Some("GB"),
        address: Some(&address),
        national_id: Some("AB123456C"),
    };
    let saved = profiles::save(conn, secrets, &user.id, &fields, 0, NOW + 10);
    assert_eq!(saved.await.unwrap(), Some(1));
    expected.nationality = Some("GB".to_owned());
    expected.address = Some(address);
    expected.national_id = Some("AB123456C".to_owned());
    expected.version = 1;
    expected.updated_at = NOW + 10;
    let read = profiles::get(conn, secrets, &user.id).await.unwrap();
    assert_eq!(read, Some(expected));
    assert!(
        profiles::get(conn, secrets, "nobody")
            .await
            .unwrap()
            .is_none()
    );
}

/// A customer whose address an earlier version wrote in the clear.
async fn clear_address(conn: &mut Connection, secrets: &SecretBox) -> Profile {
    let user = users::create(conn, secrets, &new_user("clear@example.com"), NOW)
        .await
        .unwrap()
        .unwrap();
    sqlx::query(
        "INSERT INTO profiles (user_id, address_line1, address_city, address_postal_code, \
         address_country, version, updated_at) VALUES ($1, '1 High Street', 'York', 'YO1 7HH', \
         'GB', 3, $2)",
    )
    .bind(&user.id)
    .bind(NOW + 20)
    .execute(&mut *conn)
    .await
    .unwrap();
    let profile = profiles::get(conn, secrets, &user.id)
        .await
        .unwrap()
        .unwrap();
    let address = Address {
        line1: "1 High Street".to_owned(),
        line2: None,
        city: "York".to_owned(),
        postal_code: "YO1 7HH".to_owned(),
        region: None,
        country: "GB".to_owned(),
    };
    assert_eq!(profile.address, Some(address));
    assert_eq!((profile.version, profile.updated_at), (3, NOW + 20));
    profile
}

async fn verification(conn: &mut Connection, user: &User) {
    inbox::claim(conn, "message-1", "kyc.check.completed", NOW)
        .await
        .unwrap();
    let result = KycResult {
        message_id: "message-1".to_owned(),
        check_id: "check-1".to_owned(),
        user_id: user.id.clone(),
        outcome: "manual_review".to_owned(),
        reasons: vec!["document_unclear".to_owned()],
        provider_reference: "provider-1".to_owned(),
        completed_at: NOW,
        received_at: NOW + 1,
    };
    kyc_results::insert(conn, &result).await.unwrap();
    assert_eq!(
        kyc_results::for_user(conn, &user.id).await.unwrap(),
        [result]
    );

    let mut state = VerificationState {
        user_id: user.id.clone(),
        tier: 1,
        status: "manual_review".to_owned(),
        limits: Limits {
            currency: "EUR".to_owned(),
            daily_transfer_limit: 100_000,
            balance_cap: 500_000,
        },
        requirements: vec!["selfie".to_owned()],
        reasons: vec![Reason {
            code: "kyc_manual_review".to_owned(),
            message: "A person is looking at the documents.".to_owned(),
        }],
        manual_review: true,
        open_check_id: Some("check-1".to_owned()),
        open_check_submitted_at: Some(NOW),
        component_digest: "digest".to_owned(),
        version: 0,
        decided_at: NOW,
    };
    assert_eq!(verification::get(conn, &user.id).await.unwrap(), None);
    let saved = verification::save(conn, &state, 0).await.unwrap();
    assert_eq!(saved, Some(1));
    state.version = 1;
    assert_eq!(
        verification::get(conn, &user.id).await.unwrap(),
        Some(state)
    );
    let open = verification::open_check(conn, &user.id).await.unwrap();
    assert_eq!(open.as_deref(), Some("check-1"));

    let decision = Decision {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        tier: 1,
        status: "manual_review".to_owned(),
        requirements: vec!["selfie".to_owned()],
        reasons: vec![],
        check_id: Some("check-1".to_owned()),
        component_digest: "digest".to_owned(),
        decided_at: NOW,
    };
    verification::insert_decision(conn, &decision)
        .await
        .unwrap();
    assert_eq!(
        verification::history(conn, &user.id).await.unwrap(),
        slice::from_ref(&decision)
    );

    // `verification_decisions.status` has no CHECK: a name outside the set can be stored.
    let unknown = Decision {
        id: uuid::Uuid::now_v7().to_string(),
        status: "suspended".to_owned(),
        ..decision
    };
    verification::insert_decision(conn, &unknown).await.unwrap();
    let error = verification::history(conn, &user.id).await.unwrap_err();
    assert!(
        matches!(error, sqlx::Error::ColumnDecode { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "error occurred while decoding column \"status\": unknown verification status \"suspended\""
    );
    sqlx::query("DELETE FROM verification_decisions WHERE id = $1")
        .bind(&unknown.id)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn decisions(conn: &mut Connection, user: &User) {
    let record = DecisionRecord {
        id: uuid::Uuid::now_v7().to_string(),
        decided_at: NOW,
        kind: "verification".to_owned(),
        operation: "decide".to_owned(),
        digest: "candidate".to_owned(),
        role: "shadow".to_owned(),
        user_id: Some(user.id.clone()),
        input_digest: "input-digest".to_owned(),
        outcome: "verified".to_owned(),
        agreed: Some(false),
        duration_us: 42,
        input: Some("sealed input".to_owned()),
    };
    decisions::insert(conn, &record).await.unwrap();
    let filter = Filter {
        limit: 10,
        ..Filter::default()
    };
    assert_eq!(decisions::query(conn, &filter).await.unwrap(), [record]);
    let counts = decisions::shadow_counts(conn, "verification", "candidate");
    assert_eq!(counts.await.unwrap(), (1, 1));
    let none = decisions::shadow_counts(conn, "verification", "other");
    assert_eq!(none.await.unwrap(), (0, 0));
}

async fn components(conn: &mut Connection) {
    let first = NewVersion {
        kind: "verification",
        digest: "d1",
        version: Some("1.0.0"),
        description: Some("first"),
        author: None,
        signer: Some("release-key"),
        component: b"wasm one",
        artifact: Some(b"artifact one"),
        deployed_by: "admin",
        now: NOW,
    };
    component_versions::insert_active(conn, &first)
        .await
        .unwrap();
    let v1 = component_versions::find(conn, "verification", "d1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            v1.status.as_str(),
            v1.activation,
            v1.size_bytes,
            v1.signer.as_deref()
        ),
        ("active", 1, 8, Some("release-key"))
    );
    let active = component_versions::active(conn, "verification")
        .await
        .unwrap();
    assert_eq!(active, Some(v1));
    component_versions::retire_active(conn, "verification")
        .await
        .unwrap();
    let second = NewVersion {
        digest: "d2",
        artifact: None,
        now: NOW + 1,
        ..first
    };
    component_versions::insert_active(conn, &second)
        .await
        .unwrap();
    let digests = component_versions::active_digests(conn).await.unwrap();
    assert_eq!(digests, [("verification".to_owned(), "d2".to_owned())]);
    let history = component_versions::history(conn).await.unwrap();
    let order: Vec<_> = history
        .iter()
        .map(|v| (v.digest.as_str(), v.status.as_str(), v.activation))
        .collect();
    assert_eq!(order, [("d2", "active", 2), ("d1", "retired", 1)]);
    let stored = component_versions::component(conn, "verification", "d1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.component, b"wasm one");
    assert_eq!(stored.artifact.as_deref(), Some(&b"artifact one"[..]));

    let trial = StoredTrial {
        kind: "verification".to_owned(),
        digest: "d3".to_owned(),
        version: None,
        signer: None,
        mode: "canary".to_owned(),
        percent: Some(10),
        started_by: "admin".to_owned(),
        started_at: NOW,
    };
    component_trials::put(conn, &trial, b"candidate", None)
        .await
        .unwrap();
    let found = component_trials::find(conn, "verification").await.unwrap();
    assert_eq!(found, Some(trial.clone()));
    assert_eq!(component_trials::all(conn).await.unwrap(), [trial]);
    let stored = component_trials::component(conn, "verification")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.component, stored.artifact),
        (b"candidate".to_vec(), None)
    );
}

async fn documents(conn: &mut Connection, user: &User) {
    let document = DocumentRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        kind: "passport".to_owned(),
        number_sealed: Some("sealed number".to_owned()),
        issuing_country: Some("GB".to_owned()),
        object_key: "documents/1".to_owned(),
        content_type: "image/jpeg".to_owned(),
        size_bytes: 1024,
        sha256: "00".repeat(32),
        status: "pending".to_owned(),
        rejection: None,
        created_at: NOW,
        upload_expires_at: NOW + 900,
        confirmed_at: None,
    };
    documents::insert(conn, &document).await.unwrap();
    let found = documents::get(conn, &document.id).await.unwrap();
    assert_eq!(found, Some(document.clone()));
    assert_eq!(documents::list(conn, &user.id).await.unwrap(), [document]);
}

async fn factors(conn: &mut Connection, user: &User) {
    factors::insert(conn, "factor-1", &user.id, "sms", "sealed secret", NOW)
        .await
        .unwrap();
    factors::activate(conn, &user.id, "factor-1", NOW + 1)
        .await
        .unwrap();
    let listed = factors::list(conn, &user.id).await.unwrap();
    let read: Vec<_> = listed
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.kind.as_str(),
                f.secret.as_str(),
                f.activated_at,
            )
        })
        .collect();
    assert_eq!(read, [("factor-1", "sms", "sealed secret", Some(NOW + 1))]);

    // A `String` field checked against its enum (`#[sqlx(try_from = "FactorKind")]`).
    let pigeon = sqlx::query_as::<_, Factor>(
        "SELECT 'factor-2' AS id, 'carrier_pigeon' AS kind, 'secret' AS secret, \
         CAST(1 AS BIGINT) AS created_at, CAST(NULL AS BIGINT) AS activated_at",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap_err();
    assert_eq!(
        pigeon.to_string(),
        "error occurred while decoding column \"kind\": unknown factor kind \"carrier_pigeon\""
    );
}

async fn audit_and_outbox(conn: &mut Connection, user: &User) {
    let event = AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: "login.succeeded".to_owned(),
        user_id: user.id.clone(),
        data: json!({ "ip": "127.0.0.1", "second_factor": false }),
        occurred_at: NOW,
    };
    audit::insert(conn, &event).await.unwrap();
    assert_eq!(
        audit::for_user(conn, &user.id).await.unwrap(),
        slice::from_ref(&event)
    );
    assert_eq!(
        audit::unforwarded(conn, 10).await.unwrap(),
        slice::from_ref(&event)
    );
    audit::mark_forwarded(conn, &event.id, NOW).await.unwrap();
    assert!(audit::unforwarded(conn, 10).await.unwrap().is_empty());

    let garbled = AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        ..event
    };
    audit::insert(conn, &garbled).await.unwrap();
    sqlx::query("UPDATE audit_events SET data = 'not json' WHERE id = $1")
        .bind(&garbled.id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let error = audit::for_user(conn, &user.id).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "error occurred while decoding column \"data\": expected ident at line 1 column 2"
    );
    sqlx::query("DELETE FROM audit_events WHERE id = $1")
        .bind(&garbled.id)
        .execute(&mut *conn)
        .await
        .unwrap();

    let data = json!({ "user_id": user.id, "tier": 1 });
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let id = outbox::append(conn, "user.verified", &user.id, &data, NOW, Some(trace))
        .await
        .unwrap();
    let expected = outbox::Event {
        id: id.clone(),
        event_type: "user.verified".to_owned(),
        subject: user.id.clone(),
        data,
        occurred_at: NOW,
        traceparent: Some(trace.to_owned()),
    };
    assert_eq!(outbox::all(conn).await.unwrap(), slice::from_ref(&expected));
    assert_eq!(outbox::pending(conn, 10).await.unwrap(), [expected]);
    assert_eq!(outbox::backlog(conn).await.unwrap(), (1, Some(NOW)));
    outbox::mark_published(conn, &id, NOW).await.unwrap();
    assert!(outbox::pending(conn, 10).await.unwrap().is_empty());
    assert_eq!(outbox::backlog(conn).await.unwrap(), (0, None));
}
