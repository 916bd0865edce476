//! Consuming another service's events from RabbitMQ: our durable queue bound to its topic
//! exchange, manual acknowledgements under a prefetch limit, a dead-letter queue for messages that
//! can never be processed, bounded and delayed retries for failures that may pass, and a new
//! connection (with backoff) whenever the broker goes away. What a message means is the
//! [`Handler`]'s business; exactly-once effect is its inbox's.
//!
//! Topology, for a [`Subscription`] with queue `q`:
//!
//! - `q` (durable), bound to the subscription's topic exchange with its routing key, dead-letters
//!   to the fanout exchange `q.dlx`, which feeds the durable queue `q.dlq`;
//! - `q.retry` (durable, no consumer): a failed message waits there for its delay (per-message
//!   `expiration`) and is then dead-lettered back into `q` through the default exchange. The copy
//!   carries the header `x-retries`; the message it replaces is acknowledged only once the broker
//!   has confirmed the copy.

use std::time::Duration;

use anyhow::{Context, bail};
use futures_lite::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        BasicRejectOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
};
use rand::Rng;
use usvc_core::{
    events::inbound::{Disposition, Handler, Message},
    trace::{TRACEPARENT, Trace},
};

/// The header that counts how often a message has been retried.
pub const RETRIES_HEADER: &str = "x-retries";

/// What became of a delivery.
enum Settled {
    Done,
    DeadLettered,
}

/// How often the dead-letter queue's depth is measured.
const DEAD_LETTER_MEASURE: Duration = Duration::from_secs(15);
/// The longest a retry waits, however many came before it.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5 * 60);
/// Reconnection backoff: doubling from the first to the last, plus up to a quarter of jitter.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_LAST: Duration = Duration::from_secs(10);
/// How long connecting, a publisher confirm or closing may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

impl Subscription {
    /// Where failed messages wait before their next attempt.
    pub fn retry_queue(&self) -> String {
        format!("{}.retry", self.queue)
    }

    /// The fanout exchange our queue dead-letters to.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.queue)
    }

    /// Where poison messages, and messages that failed every attempt, end.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.queue)
    }

    /// How long the retry after `retries` earlier retries waits.
    pub fn retry_delay_after(&self, retries: u32) -> Duration {
        self.retry_delay
            .saturating_mul(1 << retries.min(20))
            .min(MAX_RETRY_DELAY)
    }
}

/// One subscription's consumer; [`AmqpConsumer::run`] until the task is aborted.
pub struct AmqpConsumer<H> {
    url: String,
    subscription: Subscription,
    handler: H,
}

impl<H: Handler> AmqpConsumer<H> {
    pub fn new(url: &str, subscription: Subscription, handler: H) -> Self {
        Self {
            url: url.to_owned(),
            subscription,
            handler,
        }
    }

    /// Connects, consumes until the connection fails, and connects again after a backoff. An
    /// outage is logged once when it begins and once when it ends.
    pub async fn run(self) {
        let name = self.handler.name();
        let connected = metrics::gauge!("usvc_consumer_connected", "consumer" => name);
        let mut backoff = RECONNECT_FIRST;
        let mut outage = false;
        loop {
            match self.connect().await {
                Ok((connection, channel, deliveries)) => {
                    if outage {
                        tracing::info!(consumer = name, "consumer reconnected to the broker");
                    } else {
                        tracing::info!(consumer = name, queue = %self.subscription.queue, "consuming");
                    }
                    backoff = RECONNECT_FIRST;
                    connected.set(1.0);
                    let error = self.consume(&channel, deliveries).await;
                    connected.set(0.0);
                    let _ = tokio::time::timeout(
                        BROKER_TIMEOUT,
                        connection.close(0, "reconnecting".into()),
                    )
                    .await;
                    // The outage that begins here is logged once, here.
                    tracing::warn!(consumer = name, error = %format!("{error:#}"), "consumer lost the broker; reconnecting with backoff");
                    outage = true;
                }
                Err(error) if !outage => {
                    tracing::warn!(consumer = name, error = %format!("{error:#}"), "consumer cannot reach the broker; retrying with backoff");
                    outage = true;
                }
                Err(error) => {
                    tracing::debug!(consumer = name, error = %format!("{error:#}"), "consumer still cannot reach the broker");
                }
            }
            let jitter = rand::thread_rng().gen_range(0..=backoff.as_millis() as u64 / 4);
            tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
            backoff = (backoff * 2).min(RECONNECT_LAST);
        }
    }

    /// A connection, a channel in confirm mode with the prefetch limit, the topology declared, and
    /// the consumer started.
    async fn connect(&self) -> anyhow::Result<(Connection, Channel, lapin::Consumer)> {
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("usvc {}", self.handler.name()).into());
        let connection =
            tokio::time::timeout(BROKER_TIMEOUT, Connection::connect(&self.url, properties))
                .await
                .context("connecting to the broker timed out")?
                .context("connecting to the broker")?;
        let channel = connection.create_channel().await?;
        let started = async {
            self.declare(&channel).await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            channel
                .basic_qos(self.subscription.prefetch, BasicQosOptions::default())
                .await?;
            let deliveries = channel
                .basic_consume(
                    self.subscription.queue.as_str().into(),
                    format!("usvc-{}", self.handler.name()).into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .context("starting to consume")?;
            anyhow::Ok(deliveries)
        };
        match started.await {
            Ok(deliveries) => Ok((connection, channel, deliveries)),
            Err(error) => {
                let _ = connection.close(0, "setup failed".into()).await;
                Err(error)
            }
        }
    }

    /// Declares (idempotently) the exchange we bind to, our queue, its retry queue and its
    /// dead-letter exchange and queue.
    async fn declare(&self, channel: &Channel) -> anyhow::Result<()> {
        let sub = &self.subscription;
        let durable_exchange = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        let durable_queue = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let text = |s: &str| AMQPValue::LongString(LongString::from(s));

        let dlx = sub.dead_letter_exchange();
        let dlq = sub.dead_letter_queue();
        channel
            .exchange_declare(
                dlx.as_str().into(),
                ExchangeKind::Fanout,
                durable_exchange,
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("declaring the exchange {dlx}"))?;
        channel
            .queue_declare(dlq.as_str().into(), durable_queue, FieldTable::default())
            .await
            .with_context(|| format!("declaring the queue {dlq}"))?;
        channel
            .queue_bind(
                dlq.as_str().into(),
                dlx.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let retry = sub.retry_queue();
        let mut retry_args = FieldTable::default();
        retry_args.insert("x-dead-letter-exchange".into(), text(""));
        retry_args.insert("x-dead-letter-routing-key".into(), text(&sub.queue));
        channel
            .queue_declare(retry.as_str().into(), durable_queue, retry_args)
            .await
            .with_context(|| format!("declaring the queue {retry}"))?;

        channel
            .exchange_declare(
                sub.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable_exchange,
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("declaring the exchange {}", sub.exchange))?;
        let mut queue_args = FieldTable::default();
        queue_args.insert("x-dead-letter-exchange".into(), text(&dlx));
        channel
            .queue_declare(sub.queue.as_str().into(), durable_queue, queue_args)
            .await
            .with_context(|| format!("declaring the queue {}", sub.queue))?;
        channel
            .queue_bind(
                sub.queue.as_str().into(),
                sub.exchange.as_str().into(),
                sub.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }

    /// Handles deliveries one at a time, in order, until the connection fails; returns why.
    /// Between deliveries it measures the dead-letter queue's depth now and then.
    async fn consume(&self, channel: &Channel, mut deliveries: lapin::Consumer) -> anyhow::Error {
        let mut measure = tokio::time::interval(DEAD_LETTER_MEASURE);
        loop {
            let delivery = tokio::select! {
                delivery = deliveries.next() => delivery,
                _ = measure.tick() => {
                    if let Err(error) = self.measure_dead_letters(channel).await {
                        return error;
                    }
                    continue;
                }
            };
            let delivery = match delivery {
                Some(Ok(delivery)) => delivery,
                Some(Err(error)) => return anyhow::Error::new(error).context("consuming"),
                None => return anyhow::anyhow!("the broker cancelled the consumer"),
            };
            match self.settle(channel, delivery).await {
                Ok(Settled::DeadLettered) => measure.reset_immediately(),
                Ok(Settled::Done) => {}
                Err(error) => return error,
            }
        }
    }

    /// `usvc_dead_letter_messages`: how many messages wait in our dead-letter queue for someone
    /// to look at them (a passive declare reads the count without changing anything).
    async fn measure_dead_letters(&self, channel: &Channel) -> anyhow::Result<()> {
        let dlq = self.subscription.dead_letter_queue();
        let queue = channel
            .queue_declare(
                dlq.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .with_context(|| format!("measuring the queue {dlq}"))?;
        metrics::gauge!("usvc_dead_letter_messages", "consumer" => self.handler.name())
            .set(f64::from(queue.message_count()));
        Ok(())
    }

    /// Hands one message to the handler, then acknowledges, retries or dead-letters it.
    async fn settle(&self, channel: &Channel, delivery: Delivery) -> anyhow::Result<Settled> {
        let name = self.handler.name();
        let retries = retries_of(&delivery.properties);
        let message_id = loggable_id(&delivery.properties);
        let count = |disposition: &'static str| {
            metrics::counter!("usvc_consumed_messages_total", "consumer" => name, "disposition" => disposition)
                .increment(1);
        };
        let message = Message {
            body: &delivery.data,
            headers: text_headers(&delivery.properties),
        };
        // The handler continues the publisher's trace: what it records carries it on.
        let traceparent = message
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(TRACEPARENT))
            .map(|(_, value)| value.as_str());
        let trace = Trace::continue_from_header(traceparent);
        match trace.scope(self.handler.handle(&message)).await {
            Disposition::Processed => {
                delivery.ack(BasicAckOptions::default()).await?;
                count("processed");
            }
            Disposition::Duplicate => {
                delivery.ack(BasicAckOptions::default()).await?;
                tracing::info!(
                    consumer = name,
                    message_id,
                    "message already processed; skipped"
                );
                count("duplicate");
            }
            Disposition::Poison(reason) => {
                tracing::warn!(consumer = name, message_id, reason = %reason, "message refused; dead-lettered");
                reject(&delivery).await?;
                count("dead_lettered");
                return Ok(Settled::DeadLettered);
            }
            Disposition::Transient(error) => {
                let attempt = retries.saturating_add(1);
                if attempt >= self.subscription.max_attempts {
                    tracing::warn!(consumer = name, message_id, attempt, error = %format!("{error:#}"), "message failed on its last attempt; dead-lettered");
                    reject(&delivery).await?;
                    count("dead_lettered");
                    return Ok(Settled::DeadLettered);
                } else {
                    let delay = self.subscription.retry_delay_after(retries);
                    self.retry_later(channel, &delivery, attempt, delay).await?;
                    delivery.ack(BasicAckOptions::default()).await?;
                    tracing::warn!(consumer = name, message_id, attempt, retry_in_ms = delay.as_millis() as u64, error = %format!("{error:#}"), "message failed; retrying later");
                    count("retried");
                }
            }
        }
        Ok(Settled::Done)
    }

    /// Publishes a copy of the message to the retry queue with `x-retries` set to `retries`,
    /// expiring after `delay`, and waits for the broker's confirm.
    async fn retry_later(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        retries: u32,
        delay: Duration,
    ) -> anyhow::Result<()> {
        let mut headers = FieldTable::default();
        if let Some(original) = delivery.properties.headers() {
            // Dead-lettering history is the broker's to write; the retry count is ours.
            for (key, value) in original.inner() {
                let key = key.as_str();
                if !key.starts_with("x-death")
                    && !key.starts_with("x-first-death")
                    && !key.starts_with("x-last-death")
                    && key != RETRIES_HEADER
                {
                    headers.insert(key.into(), value.clone());
                }
            }
        }
        headers.insert(
            RETRIES_HEADER.into(),
            AMQPValue::LongLongInt(retries.into()),
        );
        let properties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2)
            .with_expiration(delay.as_millis().to_string().into());
        let retry_queue = self.subscription.retry_queue();
        let confirmation = tokio::time::timeout(BROKER_TIMEOUT, async {
            channel
                .basic_publish(
                    "".into(),
                    retry_queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &delivery.data,
                    properties,
                )
                .await?
                .await
        })
        .await
        .context("the broker did not confirm a retry in time")?
        .context("publishing a retry")?;
        if !confirmation.is_ack() {
            bail!("the broker refused a retry (nack)");
        }
        Ok(())
    }
}

/// Rejects without requeueing: the queue dead-letters the message.
async fn reject(delivery: &Delivery) -> lapin::Result<bool> {
    delivery.reject(BasicRejectOptions { requeue: false }).await
}

/// The `x-retries` header, whatever integer type the publisher gave it; 0 when absent.
pub fn retries_of(properties: &BasicProperties) -> u32 {
    let Some(value) = properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(RETRIES_HEADER))
    else {
        return 0;
    };
    let n: i64 = match value {
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => *n,
        _ => 0,
    };
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The message's `message_id` property when it looks like a UUID or another hexadecimal id;
/// never free text, which could be anything.
fn loggable_id(properties: &BasicProperties) -> &str {
    match properties.message_id() {
        Some(id)
            if id.as_str().len() <= 64
                && id
                    .as_str()
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '-') =>
        {
            id.as_str()
        }
        Some(_) => "(not an identifier)",
        None => "(none)",
    }
}

/// The message's text headers (AMQP long and short strings); headers of other types are left out.
fn text_headers(properties: &BasicProperties) -> Vec<(String, String)> {
    let Some(headers) = properties.headers() else {
        return Vec::new();
    };
    headers
        .inner()
        .iter()
        .filter_map(|(name, value)| match value {
            AMQPValue::LongString(s) => Some((name.to_string(), s.to_string())),
            AMQPValue::ShortString(s) => Some((name.to_string(), s.as_str().to_owned())),
            _ => None,
        })
        .collect()
}

/// A queue of ours bound to another service's topic exchange, and how its messages are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The other service's durable topic exchange.
    pub exchange: String,
    /// The routing key (binding pattern) of the messages wanted.
    pub routing_key: String,
    /// Our durable queue; `<queue>.retry` and `<queue>.dlq` are declared beside it.
    pub queue: String,
    /// Attempts a message gets while it fails for reasons that may pass; after the last one it
    /// goes to the dead-letter queue.
    pub max_attempts: u32,
    /// Wait before the first retry; each further retry waits twice as long (at most 5 minutes).
    pub retry_delay: Duration,
    /// Unacknowledged messages the broker may hand us at once.
    pub prefetch: u16,
}

impl Subscription {
    /// The KYC service's `kyc.check.completed` results on the queue `usvc.kyc-results`.
    pub fn kyc_results() -> Self {
        Self {
            exchange: "kyc.events".to_owned(),
            routing_key: "kyc.check.completed".to_owned(),
            queue: "usvc.kyc-results".to_owned(),
            max_attempts: 5,
            retry_delay: Duration::from_secs(1),
            prefetch: 16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_bound() {
        let sub = Subscription {
            retry_delay: Duration::from_millis(500),
            ..Subscription::kyc_results()
        };
        let delays: Vec<u128> = (0..4)
            .map(|n| sub.retry_delay_after(n).as_millis())
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 4000]);
        assert_eq!(sub.retry_delay_after(40), MAX_RETRY_DELAY);
    }

    #[test]
    fn the_retry_count_is_read_from_any_integer_header() {
        let with = |value| {
            let mut headers = FieldTable::default();
            headers.insert(RETRIES_HEADER.into(), value);
            BasicProperties::default().with_headers(headers)
        };
        assert_eq!(retries_of(&BasicProperties::default()), 0);
        assert_eq!(retries_of(&with(AMQPValue::LongLongInt(3))), 3);
        assert_eq!(retries_of(&with(AMQPValue::ShortShortUInt(2))), 2);
        assert_eq!(retries_of(&with(AMQPValue::LongInt(-4))), 0);
        assert_eq!(retries_of(&with(AMQPValue::LongString("7".into()))), 0);
    }

    #[test]
    fn a_handler_sees_the_text_headers_only() {
        let mut headers = FieldTable::default();
        headers.insert("x-provider".into(), AMQPValue::LongString("acme".into()));
        headers.insert("x-short".into(), AMQPValue::ShortString("s".into()));
        headers.insert(RETRIES_HEADER.into(), AMQPValue::LongLongInt(3));
        let properties = BasicProperties::default().with_headers(headers);
        let message = Message {
            body: b"",
            headers: text_headers(&properties),
        };
        assert_eq!(message.header("x-provider").as_deref(), Some("acme"));
        assert_eq!(message.header("x-short").as_deref(), Some("s"));
        assert_eq!(message.header(RETRIES_HEADER), None);
        assert_eq!(message.header("x-absent"), None);
        assert!(text_headers(&BasicProperties::default()).is_empty());
    }

    #[test]
    fn only_identifiers_are_logged() {
        let with = |id: &str| BasicProperties::default().with_message_id(id.into());
        let id = "019ad1c2-7f3e-7a41-9c55-2b1e0f6d8a90";
        assert_eq!(loggable_id(&with(id)), id);
        for text in ["ada@example.com", "ada.lovelace"] {
            assert_eq!(loggable_id(&with(text)), "(not an identifier)");
        }
        assert_eq!(loggable_id(&BasicProperties::default()), "(none)");
    }
}
