//! A stand-in for the KYC service on the local RabbitMQ: exchanges and queues named for one test
//! (removed when it ends), an app consuming from them, result messages, and what the dead-letter
//! queue holds.

use std::time::Duration;

use hmac::{Hmac, Mac};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    message::BasicGetMessage,
    options::{
        BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
        ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable},
};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Mutex;
use usvc::{
    config::Subscription,
    kyc::signature::{PROVIDER_HEADER, SIGNATURE_HEADER},
    store::{inbox, kyc_checks, kyc_results, profiles, verification},
};
use usvc_tests::{Backend, Spawn, TestApp, amqp_url, application, spawn_with};

pub const PASSWORD: &str = "grace hopper 1906";
/// The provider the stand-in signs as, and its key (32 bytes).
pub const PROVIDER: &str = "test-provider";
pub const PROVIDER_KEY: &[u8; 32] = b"kyc results key of test-provider";

pub struct KycService {
    /// Where the app under test consumes from.
    pub subscription: Subscription,
    /// The exchange the app under test publishes its own events to.
    pub app_exchange: String,
    /// Further queues a test declared, deleted with the rest.
    pub extra_queues: Vec<String>,
    connection: Mutex<Option<Connection>>,
}

impl KycService {
    /// Names of its own for everything; three attempts, retries after 300 ms, 600 ms.
    pub async fn start() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let service = Self {
            subscription: Subscription {
                exchange: format!("kyc-test-{id}"),
                queue: format!("usvc-test-{id}.kyc-results"),
                max_attempts: 3,
                retry_delay: Duration::from_millis(300),
                prefetch: 8,
                ..Subscription::kyc_results()
            },
            app_exchange: format!("usvc-test-{id}"),
            extra_queues: Vec::new(),
            connection: Mutex::new(None),
        };
        // Fail here, clearly, when there is no broker.
        service.channel().await;
        service
    }

    /// The app under test on `backend`, publishing to `app_exchange` and consuming results
    /// signed with [`PROVIDER_KEY`].
    pub async fn app(&self, backend: Backend) -> TestApp {
        self.app_with(Spawn::new(backend)).await
    }

    /// The same, over `options`.
    pub async fn app_with(&self, options: Spawn) -> TestApp {
        spawn_with(Spawn {
            amqp: Some((amqp_url(), self.app_exchange.clone())),
            kyc_results: Some(self.subscription.clone()),
            kyc_result_keys: format!(
                "{PROVIDER}={}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PROVIDER_KEY)
            ),
            ..options
        })
        .await
    }

    /// A channel in confirm mode, on a connection opened again if the broker dropped it.
    pub async fn channel(&self) -> Channel {
        let mut connection = self.connection.lock().await;
        if connection.as_ref().is_none_or(|c| !c.status().connected()) {
            *connection = Some(
                Connection::connect(&amqp_url(), ConnectionProperties::default())
                    .await
                    .expect("RabbitMQ on 127.0.0.1:5672 is needed by this test"),
            );
        }
        let channel = connection.as_ref().unwrap().create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        channel
    }

    /// Waits until the app consumes from its queue (declared by the app itself).
    pub async fn wait_for_consumer(&self) {
        for _ in 0..300 {
            if self.consumers(&self.subscription.queue).await >= 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the app never consumed from {}", self.subscription.queue);
    }

    /// Consumers on `queue`; 0 when it does not exist.
    async fn consumers(&self, queue: &str) -> u32 {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match self
            .channel()
            .await
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
        {
            Ok(queue) => queue.consumer_count(),
            Err(_) => 0,
        }
    }

    /// Messages ready in `queue`.
    pub async fn depth(&self, queue: &str) -> u32 {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        self.channel()
            .await
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .unwrap_or_else(|e| panic!("the queue {queue}: {e}"))
            .message_count()
    }

    /// Publishes `body` as the KYC service would (persistent, its id as `message_id`, signed by
    /// [`PROVIDER`]) and waits for the broker's confirm.
    pub async fn publish(&self, body: &[u8]) {
        self.publish_signed(body, Some((PROVIDER, PROVIDER_KEY)))
            .await;
    }

    /// Publishes `body` signed by `signer` (a provider's name and key), or unsigned.
    pub async fn publish_signed(&self, body: &[u8], signer: Option<(&str, &[u8])>) {
        let mut headers = FieldTable::default();
        if let Some((provider, key)) = signer {
            headers.insert(
                PROVIDER_HEADER.into(),
                AMQPValue::LongString(provider.into()),
            );
            headers.insert(
                SIGNATURE_HEADER.into(),
                AMQPValue::LongString(signature(key, body).into()),
            );
        }
        let id = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|m| m["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(id.into())
            .with_headers(headers);
        let confirmation = self
            .channel()
            .await
            .basic_publish(
                self.subscription.exchange.as_str().into(),
                self.subscription.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirmation.is_ack(), "the broker took the message");
    }

    pub async fn publish_json(&self, message: &Value) {
        self.publish(message.to_string().as_bytes()).await;
    }

    /// Takes `n` messages from the dead-letter queue, waiting up to `wait` for them.
    pub async fn dead_letters(&self, n: usize, wait: Duration) -> Vec<BasicGetMessage> {
        let queue = self.subscription.dead_letter_queue();
        let deadline = tokio::time::Instant::now() + wait;
        let mut taken = Vec::new();
        while taken.len() < n && tokio::time::Instant::now() < deadline {
            let got = self
                .channel()
                .await
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap();
            match got {
                Some(message) => taken.push(message),
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        taken
    }
}

impl Drop for KycService {
    fn drop(&mut self) {
        let queues: Vec<String> = [
            self.subscription.queue.clone(),
            self.subscription.retry_queue(),
            self.subscription.dead_letter_queue(),
        ]
        .into_iter()
        .chain(self.extra_queues.drain(..))
        .collect();
        let exchanges = [
            self.subscription.exchange.clone(),
            self.subscription.dead_letter_exchange(),
            self.app_exchange.clone(),
        ];
        // Drop runs inside the test's runtime, so the clean-up gets a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let connection =
                    Connection::connect(&amqp_url(), ConnectionProperties::default()).await?;
                // A channel each: a failed deletion closes its channel, not the others.
                for queue in &queues {
                    let channel = connection.create_channel().await?;
                    let _ = channel
                        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                for exchange in &exchanges {
                    let channel = connection.create_channel().await?;
                    let _ = channel
                        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                }
                let _ = connection.close(0, "done".into()).await;
                Ok::<_, anyhow::Error>(())
            })
        })
        .join();
    }
}

/// The lower-case hex HMAC-SHA256 of `body` under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A `kyc.check.completed` message about `user_id`'s check `check_id`, completed now.
pub fn check_completed(id: &str, user_id: &str, check_id: &str, outcome: &str) -> Value {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    check_completed_at(id, user_id, check_id, outcome, now)
}

/// The same, completed at `at`.
pub fn check_completed_at(
    id: &str,
    user_id: &str,
    check_id: &str,
    outcome: &str,
    at: time::OffsetDateTime,
) -> Value {
    let occurred_at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({
        "id": id,
        "type": "kyc.check.completed",
        "occurred_at": occurred_at,
        "subject": user_id,
        "data": {
            "check_id": check_id,
            "user_id": user_id,
            "outcome": outcome,
            "reasons": if outcome == "approved" { json!([]) } else { json!(["document_expired"]) },
            "provider_reference": "provider-ref-0001",
        },
        "schema_version": 1,
    })
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A check handed to the KYC service for `user_id` a moment ago, as the verification flow notes
/// it before submitting; returns its id.
pub async fn submitted_check(app: &TestApp, user_id: &str) -> String {
    let check_id = new_id();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The test apps seal with the development key.
    let secrets = usvc::secrets::SecretBox::new(&usvc::secrets::DEVELOPMENT_KEY);
    let mut conn = app.db.acquire().await.unwrap();
    let profile = profiles::get(&mut conn, &secrets, user_id)
        .await
        .unwrap()
        .expect("a customer");
    let identity = usvc::verification::identity_digest(&secrets, &profile);
    kyc_checks::submitted(&mut conn, &check_id, user_id, &identity, now - 1)
        .await
        .unwrap();
    check_id
}

/// The check the verification policy asked for and the app submitted for `user_id`.
pub async fn open_check(app: &TestApp, user_id: &str) -> String {
    let mut conn = app.db.acquire().await.unwrap();
    let state = verification::get(&mut conn, user_id).await.unwrap();
    let check_id = state
        .and_then(|s| s.open_check_id)
        .expect("the policy asked for a check");
    assert!(
        kyc_checks::get(&mut conn, &check_id)
            .await
            .unwrap()
            .is_some(),
        "the open check was submitted"
    );
    check_id
}

/// Registers `email`; returns the new customer's id.
pub async fn customer(app: &TestApp, email: &str) -> String {
    let reply = app
        .post("/v1/auth/register", application(email, PASSWORD))
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.user_id(email).await
}

/// The KYC results recorded for `user_id`.
pub async fn results(app: &TestApp, user_id: &str) -> Vec<kyc_results::KycResult> {
    let mut conn = app.db.acquire().await.unwrap();
    kyc_results::for_user(&mut conn, user_id).await.unwrap()
}

/// Waits until `user_id` has a result from message `message_id`; returns every result.
pub async fn wait_for_result(
    app: &TestApp,
    user_id: &str,
    message_id: &str,
) -> Vec<kyc_results::KycResult> {
    for _ in 0..300 {
        let results = results(app, user_id).await;
        if results.iter().any(|r| r.message_id == message_id) {
            return results;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the result of message {message_id} was never recorded");
}

/// Whether the inbox holds `message_id`.
pub async fn in_inbox(app: &TestApp, message_id: &str) -> bool {
    let mut conn = app.db.acquire().await.unwrap();
    inbox::contains(&mut conn, message_id).await.unwrap()
}

/// The `x-death` entries of a dead-lettered message, as (queue, reason).
pub fn deaths(properties: &BasicProperties) -> Vec<(String, String)> {
    let Some(AMQPValue::FieldArray(deaths)) = properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-death"))
    else {
        return Vec::new();
    };
    deaths
        .as_slice()
        .iter()
        .filter_map(|death| match death {
            AMQPValue::FieldTable(death) => {
                let text = |key: &str| match death.inner().get(key) {
                    Some(AMQPValue::LongString(s)) => s.to_string(),
                    _ => String::new(),
                };
                Some((text("queue"), text("reason")))
            }
            _ => None,
        })
        .collect()
}

/// Declares a durable topic exchange, as the app does when it first publishes.
pub async fn declare_topic(channel: &Channel, exchange: &str) {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
}
