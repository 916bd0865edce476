//! Events on RabbitMQ: every event the outbox holds arrives on the topic exchange in its
//! envelope, persistent, routed by type, in order; and events committed while the broker is
//! unreachable all arrive once it is back. The broker is the local RabbitMQ; each test has an
//! exchange of its own, and the outage is a cut in a TCP relay between the service and it.

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use lapin::{
    Connection, ConnectionProperties, Consumer, ExchangeKind,
    options::{
        BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
        QueueBindOptions, QueueDeclareOptions,
    },
    types::FieldTable,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use usvc_tests::{Backend, Spawn, TestApp, amqp_url, application, backends, spawn_with, totp_code};

backends!(
    every_event_arrives_on_the_broker_in_its_envelope,
    every_catalogued_event_type_reaches_the_broker,
    events_committed_while_the_broker_is_away_arrive_when_it_returns,
);

const PASSWORD: &str = "grace hopper 1906";
const GATEWAY_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const GATEWAY_TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A queue bound to every routing key of a fresh exchange, deleted with it.
struct Listener {
    connection: Connection,
    exchange: String,
    consumer: Consumer,
}

impl Listener {
    async fn start() -> Self {
        let exchange = format!("usvc-test-{}", uuid::Uuid::new_v4().simple());
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ on 127.0.0.1:5672 is needed by this test");
        let channel = connection.create_channel().await.unwrap();
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "usvc-test".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            connection,
            exchange,
            consumer,
        }
    }

    /// Messages by event id (duplicates collapse, as a consumer deduplicates), until `ids` are
    /// all in or `wait` has passed.
    async fn receive(&mut self, ids: &[String], wait: Duration) -> BTreeMap<String, Received> {
        use futures_lite::StreamExt;
        let mut received = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + wait;
        while !ids.iter().all(|id| received.contains_key(id)) {
            let next = tokio::time::timeout_at(deadline, self.consumer.next()).await;
            let Ok(Some(Ok(delivery))) = next else {
                break;
            };
            delivery.ack(BasicAckOptions::default()).await.unwrap();
            let envelope: Value = serde_json::from_slice(&delivery.data).unwrap();
            let id = envelope["id"].as_str().unwrap().to_owned();
            let props = &delivery.properties;
            let order = received.len();
            received.entry(id).or_insert(Received {
                order,
                routing_key: delivery.routing_key.to_string(),
                persistent: props.delivery_mode() == &Some(2),
                content_type: props.content_type().as_ref().map(|s| s.to_string()),
                message_id: props.message_id().as_ref().map(|s| s.to_string()),
                traceparent: props
                    .headers()
                    .as_ref()
                    .and_then(|h| h.inner().get("traceparent"))
                    .and_then(|v| v.as_long_string())
                    .map(|v| v.to_string()),
                envelope,
            });
        }
        received
    }

    async fn stop(self) {
        let channel = self.connection.create_channel().await.unwrap();
        let _ = channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
        let _ = self.connection.close(0, "done".into()).await;
    }
}

#[derive(Debug)]
struct Received {
    order: usize,
    routing_key: String,
    persistent: bool,
    content_type: Option<String>,
    message_id: Option<String>,
    traceparent: Option<String>,
    envelope: Value,
}

async fn app_on(backend: Backend, broker_url: String, exchange: &str) -> TestApp {
    spawn_with(Spawn {
        amqp: Some((broker_url, exchange.to_owned())),
        ..Spawn::new(backend)
    })
    .await
}

async fn every_event_arrives_on_the_broker_in_its_envelope(backend: Backend) {
    let mut listener = Listener::start().await;
    let app = app_on(backend, amqp_url(), &listener.exchange).await;
    let access = app.onboarded_customer("events@example.com", PASSWORD).await;
    app.wrong_password("events@example.com", "wrong").await;
    // The gateway's trace continues into the event the request causes.
    let logout = app
        .http
        .post(app.url("/v1/auth/logout"))
        .header("traceparent", GATEWAY_TRACE)
        .bearer_auth(&access);
    assert_eq!(logout.send().await.unwrap().status(), 204);

    let user = &app.users().await[0];
    let outbox = wait_for_published(&app, 6).await;
    let ids: Vec<String> = outbox.iter().map(|e| e.id.clone()).collect();
    let received = listener.receive(&ids, Duration::from_secs(10)).await;
    let types: Vec<&str> = outbox.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "user.registered",
            "user.email_verified",
            "auth.login_succeeded",
            "auth.new_device",
            "auth.login_failed",
            "auth.session_revoked",
        ]
    );
    for (position, event) in outbox.iter().enumerate() {
        let message = received
            .get(&event.id)
            .unwrap_or_else(|| panic!("{} never arrived", event.event_type));
        assert_eq!(message.order, position, "per-customer order");
        assert_eq!(message.routing_key, event.event_type);
        assert!(message.persistent);
        assert_eq!(message.content_type.as_deref(), Some("application/json"));
        assert_eq!(message.message_id.as_deref(), Some(event.id.as_str()));
        let envelope = &message.envelope;
        assert_eq!(envelope["type"], json!(event.event_type));
        assert_eq!(envelope["subject"], json!(user.id));
        assert_eq!(envelope["data"], event.data);
        assert_eq!(envelope["schema_version"], json!(1));
        assert!(
            envelope.get("traceparent").is_none(),
            "a header, not the body"
        );
        let trace = message
            .traceparent
            .as_deref()
            .expect("a traceparent header");
        let parts: Vec<&str> = trace.split('-').collect();
        assert_eq!(parts.len(), 4, "{trace}");
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16), "{trace}");
        if event.event_type == "auth.session_revoked" {
            assert_eq!(parts[1], GATEWAY_TRACE_ID, "the gateway's trace");
            assert_ne!(parts[2], "00f067aa0ba902b7", "usvc's span is the parent");
        } else {
            assert_ne!(parts[1], GATEWAY_TRACE_ID, "a request of its own");
        }
        let occurred_at = envelope["occurred_at"].as_str().unwrap();
        time::OffsetDateTime::parse(occurred_at, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
    }
    listener.stop().await;
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> usvc_tests::Reply {
    app.request_json(method, path, Some(token), body).await
}

/// Every event type `docs/events.md` catalogues as published by usvc.
fn catalogued_types() -> Vec<String> {
    let doc = include_str!("../../docs/events.md");
    let catalogue = doc
        .split("## Catalogue")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Catalogue section");
    catalogue
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split('`').next())
        .map(str::to_owned)
        .collect()
}

async fn every_catalogued_event_type_reaches_the_broker(backend: Backend) {
    let mut listener = Listener::start().await;
    let app = spawn_with(Spawn {
        amqp: Some((amqp_url(), listener.exchange.clone())),
        limits: usvc::config::Limits {
            failures_before_delay: 100,
            failures_before_lockout: 2,
            ..usvc::config::Limits::default()
        },
        // Codes by email may be resent at once, so the journey need not wait.
        component_settings: vec![("mfa", "resend-interval-secs", "0")],
        ..Spawn::new(backend)
    })
    .await;
    let ada = "journey@example.com";
    use reqwest::Method;

    // Onboarding, a login from a new device, a wrong password.
    let access = app.onboarded_customer(ada, PASSWORD).await;
    app.wrong_password(ada, "not it").await;

    // A refresh token used twice: the session ends.
    let login = app
        .post(
            "/v1/auth/login",
            json!({"email": ada, "password": PASSWORD}),
        )
        .await;
    let refresh = json!({"refresh_token": login.body["refresh_token"]});
    assert_eq!(
        app.post("/v1/auth/refresh", refresh.clone()).await.status,
        200
    );
    assert_eq!(app.post("/v1/auth/refresh", refresh).await.status, 401);

    // Password changes, wrong then right; a reset, requested and used.
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let changed = "a second long passphrase";
    send(
        &app,
        Method::POST,
        "/v1/users/me/password",
        &access,
        Some(change("nope", changed)),
    )
    .await;
    let reply = send(
        &app,
        Method::POST,
        "/v1/users/me/password",
        &access,
        Some(change(PASSWORD, changed)),
    )
    .await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    app.post("/v1/auth/password-reset", json!({"email": ada}))
        .await;
    let mut token = None;
    for _ in 0..100 {
        token = app
            .mailbox(ada)
            .await
            .into_iter()
            .find(|m| m["notice"] == "password_reset")
            .map(|m| m["code"].as_str().unwrap().to_owned());
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = json!({"token": token.expect("a reset token"), "new_password": PASSWORD});
    assert_eq!(
        app.post("/v1/auth/password-reset/confirm", body)
            .await
            .status,
        204
    );
    let access = app.onboarded_login(ada, PASSWORD).await;

    // Profile and preferences, with marketing consent.
    let mut patch = app
        .http
        .patch(app.url("/v1/users/me/profile"))
        .bearer_auth(&access);
    patch = patch
        .header("if-match", "\"0\"")
        .json(&json!({"nationality": "GB"}));
    assert_eq!(patch.send().await.unwrap().status(), 200);
    let preferences = json!({
        "language": "en-GB",
        "time_zone": "Europe/London",
        "notifications": {"security": ["email"], "account": ["email"], "marketing": ["email"], "product": []},
        "marketing": {"granted": true, "source": "app"},
    });
    let put = app
        .http
        .put(app.url("/v1/users/me/preferences"))
        .bearer_auth(&access)
        .header("if-match", "\"0\"")
        .json(&preferences);
    let put = put.send().await.unwrap();
    assert_eq!(put.status(), 200, "{:?}", put.text().await);

    // A new phone number and, for a third customer, a new email address, each confirmed with
    // the code sent to it.
    let phone = send(
        &app,
        Method::PUT,
        "/v1/users/me/phone",
        &access,
        Some(json!({"phone": "+447700900555"})),
    )
    .await;
    assert_eq!(phone.status, 202, "{:?}", phone.body);
    let code = app.mailbox("%2B447700900555").await[0]["code"].clone();
    let verified = send(
        &app,
        Method::POST,
        "/v1/users/me/phone/verify",
        &access,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let mover = app.onboarded_customer("mover@example.com", PASSWORD).await;
    let moved = "moved@example.com";
    let email = send(
        &app,
        Method::PUT,
        "/v1/users/me/email",
        &mover,
        Some(json!({"email": moved})),
    )
    .await;
    assert_eq!(email.status, 202, "{:?}", email.body);
    let mut code = Value::Null;
    for _ in 0..100 {
        if let Some(m) = app.mailbox(moved).await.first() {
            code = m["code"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let verified = send(
        &app,
        Method::POST,
        "/v1/users/me/email/verify",
        &mover,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);

    // A second factor: enrolled, asked at login, failed then passed, recovery codes used and
    // replaced, the factor removed; then, on another customer, a lock after failures.
    let started = send(&app, Method::POST, "/v1/mfa/totp", &access, None).await;
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let confirm = format!(
        "/v1/mfa/totp/{}/confirm",
        started.body["factor_id"].as_str().unwrap()
    );
    let done = send(
        &app,
        Method::POST,
        &confirm,
        &access,
        Some(json!({"code": totp_code(&secret, 0)})),
    )
    .await;
    let codes = done.body["recovery_codes"].clone();
    let challenge = app
        .post(
            "/v1/auth/login",
            json!({"email": ada, "password": PASSWORD}),
        )
        .await
        .body["challenge_token"]
        .clone();
    let verify = |code: Value, method: &str| json!({"challenge_token": challenge, "method": method, "code": code});
    app.post(
        "/v1/auth/mfa/verify",
        verify(json!("AAAAA-AAAAA"), "recovery_code"),
    )
    .await;
    let tokens = app
        .post(
            "/v1/auth/mfa/verify",
            verify(codes[0].clone(), "recovery_code"),
        )
        .await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let fresh = tokens.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&app, Method::POST, "/v1/mfa/recovery-codes", &fresh, None)
            .await
            .status,
        200
    );
    let factors = send(&app, Method::GET, "/v1/mfa/factors", &fresh, None).await;
    let factor = factors.body["factors"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = send(
        &app,
        Method::DELETE,
        &format!("/v1/mfa/factors/{factor}"),
        &fresh,
        None,
    )
    .await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);

    let other = "other@example.com";
    let other_access = app.onboarded_customer(other, PASSWORD).await;
    // A KYC document confirmed, and one rejected: its bytes are not the ones declared.
    let statement = b"%PDF-1.7 statement";
    for (uploaded, status) in [
        (&statement[..], "confirmed"),
        (b"%PDF-1.7 forgery!!", "rejected"),
    ] {
        use sha2::Digest;
        let body = json!({
            "kind": "proof_of_address",
            "content_type": "application/pdf",
            "size_bytes": statement.len(),
            "sha256": hex::encode(sha2::Sha256::digest(statement)),
        });
        let declared = send(
            &app,
            Method::POST,
            "/v1/users/me/documents",
            &other_access,
            Some(body),
        )
        .await;
        assert_eq!(declared.status, 201, "{:?}", declared.body);
        let upload = &declared.body["upload"];
        let mut put = reqwest::Client::new().put(upload["url"].as_str().unwrap());
        for (name, value) in upload["headers"].as_object().unwrap() {
            put = put.header(name, value.as_str().unwrap());
        }
        assert_eq!(
            put.body(uploaded.to_vec()).send().await.unwrap().status(),
            200
        );
        let id = declared.body["document"]["id"].as_str().unwrap();
        let confirm = format!("/v1/users/me/documents/{id}/confirm");
        let settled = send(&app, Method::POST, &confirm, &other_access, None).await;
        assert_eq!(settled.body["status"], status, "{:?}", settled.body);
    }
    let started = send(&app, Method::POST, "/v1/mfa/totp", &other_access, None).await;
    let other_secret = started.body["secret"].as_str().unwrap().to_owned();
    let confirm = format!(
        "/v1/mfa/totp/{}/confirm",
        started.body["factor_id"].as_str().unwrap()
    );
    send(
        &app,
        Method::POST,
        &confirm,
        &other_access,
        Some(json!({"code": totp_code(&other_secret, 0)})),
    )
    .await;
    // A second factor by email (enrolling it needs a step-up with the first): enrolled with the
    // code it received, then a code for a step-up.
    let stepped_up = send(
        &app,
        Method::POST,
        "/v1/auth/mfa/step-up",
        &other_access,
        Some(json!({"method": "totp", "code": totp_code(&other_secret, 1)})),
    )
    .await;
    assert_eq!(stepped_up.status, 204, "{:?}", stepped_up.body);
    let started = send(
        &app,
        Method::POST,
        "/v1/mfa/otp",
        &other_access,
        Some(json!({"channel": "email"})),
    )
    .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    let confirm = format!(
        "/v1/mfa/otp/{}/confirm",
        started.body["factor_id"].as_str().unwrap()
    );
    let code = app
        .mailbox(other)
        .await
        .into_iter()
        .rev()
        .find(|m| m["notice"] == "second_factor_code")
        .expect("a code by email")["code"]
        .clone();
    let done = send(
        &app,
        Method::POST,
        &confirm,
        &other_access,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let sent = send(
        &app,
        Method::POST,
        "/v1/mfa/codes",
        &other_access,
        Some(json!({"method": "email_code"})),
    )
    .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    for _ in 0..10 {
        let body = json!({"method": "recovery_code", "code": "ZZZZZ-ZZZZZ"});
        send(
            &app,
            Method::POST,
            "/v1/auth/mfa/step-up",
            &other_access,
            Some(body),
        )
        .await;
    }
    // Two wrong passwords lock the other customer's login for a while.
    for _ in 0..2 {
        app.wrong_password(other, "not it").await;
    }

    // An administrator (granted by the operator's command) locks the first customer.
    let boss = "boss@example.com";
    let boss_access = app.onboarded_customer(boss, PASSWORD).await;
    let admin = app.make_admin(boss, PASSWORD, &boss_access).await;
    let user_id = app.user_id(ada).await;
    let lock = json!({"status": "locked", "reason": "test"});
    let locked = send(
        &app,
        Method::PUT,
        &format!("/v1/admin/users/{user_id}/status"),
        &admin,
        Some(lock),
    )
    .await;
    assert_eq!(locked.status, 200, "{:?}", locked.body);

    // The KYC result event is recorded by the consumer of the KYC service's events; its
    // arrival is tested with that consumer (tests/broker). Verification changes follow KYC
    // results: tests/http/verification.rs and tests/broker/verification.rs publish them.
    // Component deploys, rollbacks and trials are published in tests/http/components.rs and
    // tests/http/trials.rs.
    let not_reached = [
        "user.kyc_result_recorded",
        "user.verification_changed",
        "component.deployed",
        "component.rolled_back",
        "component.trial_started",
        "component.trial_ended",
    ];
    let expected: Vec<String> = catalogued_types()
        .into_iter()
        .filter(|t| !not_reached.contains(&t.as_str()))
        .collect();
    assert!(expected.len() >= 25, "{expected:?}");
    let outbox = app.events().await;
    let outbox_types: std::collections::BTreeSet<&str> =
        outbox.iter().map(|e| e.event_type.as_str()).collect();
    for t in &expected {
        assert!(
            outbox_types.contains(t.as_str()),
            "no {t} in the outbox: {outbox_types:?}"
        );
    }
    for t in &outbox_types {
        assert!(
            expected.iter().any(|e| e == t),
            "{t} is published but not in docs/events.md"
        );
    }
    let outbox = wait_for_published(&app, outbox.len()).await;
    let ids: Vec<String> = outbox.iter().map(|e| e.id.clone()).collect();
    let received = listener.receive(&ids, Duration::from_secs(20)).await;
    for event in &outbox {
        let message = received
            .get(&event.id)
            .unwrap_or_else(|| panic!("{} never arrived", event.event_type));
        assert_eq!(message.routing_key, event.event_type);
        assert!(message.persistent);
        assert_eq!(message.envelope["type"], json!(event.event_type));
        assert_eq!(message.envelope["data"], event.data);
        assert_eq!(message.envelope["schema_version"], json!(1));
        // No secret, code or address travels in an event.
        let text = message.envelope.to_string();
        assert!(!text.contains(&secret) && !text.contains(ada) && !text.contains(PASSWORD));
    }
    listener.stop().await;
}

/// Waits until the relay has marked at least `n` events published; returns every event.
async fn wait_for_published(app: &TestApp, n: usize) -> Vec<usvc::store::outbox::Event> {
    for _ in 0..200 {
        let (published,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL")
                .fetch_one(&app.db)
                .await
                .unwrap();
        if published as usize >= n {
            return app.events().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the relay did not publish {n} events");
}

/// A TCP relay to RabbitMQ that a test can cut (every connection dropped, nothing accepted) and
/// restore on the same port: to the service, the broker went away and came back.
struct Relay {
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Relay {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Self {
            addr,
            accept: Some(tokio::spawn(Self::serve(listener))),
        }
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    async fn serve(listener: TcpListener) {
        let mut links = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            links.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5672").await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
        // Dropping `links` (when this task is aborted) drops every relayed connection.
    }

    fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.accept = Some(tokio::spawn(Self::serve(listener)));
    }
}

async fn events_committed_while_the_broker_is_away_arrive_when_it_returns(backend: Backend) {
    let mut listener = Listener::start().await;
    let mut relay = Relay::start().await;
    let app = app_on(backend, relay.url(), &listener.exchange).await;
    let first = app
        .post(
            "/v1/auth/register",
            application("first@example.com", PASSWORD),
        )
        .await;
    assert_eq!(first.status, 202);
    wait_for_published(&app, 1).await;

    relay.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..10 {
        let email = format!("burst{n}@example.com");
        let reply = app
            .post("/v1/auth/register", application(&email, PASSWORD))
            .await;
        assert_eq!(
            reply.status, 202,
            "registration needs no broker: {:?}",
            reply.body
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (waiting,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        waiting, 10,
        "nothing is marked published without the broker's confirm"
    );

    relay.restore().await;
    let outbox = wait_for_published(&app, 11).await;
    let ids: Vec<String> = outbox.iter().map(|e| e.id.clone()).collect();
    let received = listener.receive(&ids, Duration::from_secs(15)).await;
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !received.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "lost events: {missing:?}");
    listener.stop().await;
}
