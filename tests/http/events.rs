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
use usvc_tests::{Backend, Spawn, TestApp, amqp_url, application, backends, spawn_with};

backends!(
    every_event_arrives_on_the_broker_in_its_envelope,
    events_committed_while_the_broker_is_away_arrive_when_it_returns,
);

const PASSWORD: &str = "grace hopper 1906";

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
    app.post(
        "/v1/auth/login",
        json!({"email": "events@example.com", "password": "wrong"}),
    )
    .await
    .assert_problem(401, "/problems/unauthorized");
    let logout = app
        .http
        .post(app.url("/v1/auth/logout"))
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
        let occurred_at = envelope["occurred_at"].as_str().unwrap();
        time::OffsetDateTime::parse(occurred_at, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339");
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
