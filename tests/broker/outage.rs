//! A real broker outage: the local RabbitMQ is stopped (`rabbitmqctl stop_app`) and started again
//! during a burst of registrations, with one app on each backend. Every event of the burst reaches
//! a durable queue bound to the app's exchange (duplicates allowed, counted once by id), the
//! outbox ends with nothing unpublished, and the KYC results consumer reconnects and records a
//! result sent after the restart. The broker is always started again, even when the test fails.

use std::{collections::BTreeSet, process::Command, time::Duration};

use anyhow::Context;
use lapin::{
    Connection, ConnectionProperties,
    options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};
use usvc_tests::{Backend, TestApp, amqp_url, application};

use crate::{
    BROKER,
    fixture::{
        KycService, PASSWORD, check_completed, declare_topic, new_id, submitted_check,
        wait_for_result,
    },
};

/// Runs `rabbitmqctl` (or `USVC_TEST_RABBITMQCTL`) with `args`.
fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let program =
        std::env::var("USVC_TEST_RABBITMQCTL").unwrap_or_else(|_| "rabbitmqctl".to_owned());
    let output = Command::new(&program)
        .args(args)
        .output()
        .with_context(|| format!("running {program} (this test stops and starts RabbitMQ)"))?;
    anyhow::ensure!(
        output.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Starts the broker's application and waits until it has started.
fn start_broker() -> anyhow::Result<()> {
    rabbitmqctl(&["start_app"])?;
    rabbitmqctl(&["await_startup"])
}

/// The broker stopped; dropping it starts the broker again, so a failing test never leaves it
/// down for anyone else.
struct Outage {
    stopped: bool,
}

impl Outage {
    /// Stops the broker's application (the Erlang node stays up) and waits until connections are
    /// refused.
    async fn begin() -> Self {
        let outage = Self { stopped: true };
        tokio::task::spawn_blocking(|| rabbitmqctl(&["stop_app"]))
            .await
            .unwrap()
            .expect("stopping RabbitMQ");
        for _ in 0..100 {
            if Connection::connect(&amqp_url(), ConnectionProperties::default())
                .await
                .is_err()
            {
                return outage;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("RabbitMQ still accepts connections after stop_app");
    }

    /// Starts the broker again and waits until it accepts connections.
    async fn end(&mut self) {
        tokio::task::spawn_blocking(start_broker)
            .await
            .unwrap()
            .expect("starting RabbitMQ again");
        self.stopped = false;
        for _ in 0..300 {
            if let Ok(connection) =
                Connection::connect(&amqp_url(), ConnectionProperties::default()).await
            {
                let _ = connection.close(0, "up".into()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("RabbitMQ did not accept connections within 30 s of starting");
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        if self.stopped {
            for _ in 0..3 {
                match start_broker() {
                    Ok(()) => return,
                    Err(e) => eprintln!("starting RabbitMQ again failed: {e:#}"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// One app, its broker names and the durable queue that listens to its events.
struct Side {
    backend: Backend,
    /// Dropped (stopped) before `kyc` deletes the queues it consumes from.
    app: TestApp,
    kyc: KycService,
    events_queue: String,
    registered: usize,
}

impl Side {
    async fn start(backend: Backend) -> Self {
        let mut kyc = KycService::start().await;
        let events_queue = format!("{}.events", kyc.app_exchange);
        let channel = kyc.channel().await;
        declare_topic(&channel, &kyc.app_exchange).await;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(events_queue.as_str().into(), durable, FieldTable::default())
            .await
            .unwrap();
        channel
            .queue_bind(
                events_queue.as_str().into(),
                kyc.app_exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        kyc.extra_queues.push(events_queue.clone());
        let app = kyc.app(backend).await;
        kyc.wait_for_consumer().await;
        Self {
            backend,
            kyc,
            app,
            events_queue,
            registered: 0,
        }
    }

    /// Registers `n` more customers, each from an address of its own (below the rate limit).
    async fn register(&mut self, n: usize) {
        for _ in 0..n {
            let i = self.registered;
            let email = format!("burst{i}@example.com");
            let reply = self
                .app
                .post_from(
                    &format!("192.0.2.{}", i + 1),
                    "/v1/auth/register",
                    application(&email, PASSWORD),
                )
                .await;
            assert_eq!(
                reply.status, 202,
                "{:?}: registration needs no broker: {:?}",
                self.backend, reply.body
            );
            self.registered += 1;
        }
    }

    async fn unpublished(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.app.db)
            .await
            .unwrap();
        n
    }

    /// Waits until the relay has published every event; returns their ids.
    async fn all_published(&self) -> BTreeSet<String> {
        for _ in 0..600 {
            if self.unpublished().await == 0 {
                return self.app.events().await.into_iter().map(|e| e.id).collect();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{:?}: events still wait in the outbox after 60 s",
            self.backend
        );
    }

    /// The distinct event ids in the durable queue, read until `expected` are all in or 30 s
    /// have passed.
    async fn received(&self, expected: &BTreeSet<String>) -> BTreeSet<String> {
        let mut received = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let channel = self.kyc.channel().await;
        while !expected.is_subset(&received) && tokio::time::Instant::now() < deadline {
            let got = channel
                .basic_get(
                    self.events_queue.as_str().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap();
            match got {
                Some(message) => {
                    let envelope: serde_json::Value =
                        serde_json::from_slice(&message.delivery.data).unwrap();
                    received.insert(envelope["id"].as_str().unwrap().to_owned());
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        received
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_lost_when_the_broker_stops_during_a_burst() {
    let _alone = BROKER.write().await;
    let mut sides = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        sides.push(Side::start(backend).await);
    }

    for side in &mut sides {
        side.register(6).await;
    }
    let began = std::time::Instant::now();
    let mut outage = Outage::begin().await;
    for side in &mut sides {
        side.register(8).await;
    }
    for side in &sides {
        assert!(
            side.unpublished().await >= 8,
            "{:?}: events wait in the outbox while the broker is down",
            side.backend
        );
    }
    // The broker comes back while the burst goes on.
    tokio::join!(outage.end(), async {
        for side in &mut sides {
            side.register(6).await;
        }
    });
    eprintln!(
        "stopping and starting the broker took {:.1?}",
        began.elapsed()
    );

    for side in &sides {
        let published = side.all_published().await;
        assert_eq!(
            published.len(),
            20,
            "{:?}: one event per registration",
            side.backend
        );
        let received = side.received(&published).await;
        let lost: Vec<&String> = published.difference(&received).collect();
        assert!(lost.is_empty(), "{:?}: lost events {lost:?}", side.backend);
    }

    // The KYC results consumer found the broker again.
    for side in &mut sides {
        side.kyc.wait_for_consumer().await;
        let user = side.app.user_id("burst0@example.com").await;
        let check = submitted_check(&side.app, &user).await;
        let id = new_id();
        side.kyc
            .publish_json(&check_completed(&id, &user, &check, "approved"))
            .await;
        wait_for_result(&side.app, &user, &id).await;
        side.app.shut_down().await;
    }
}
