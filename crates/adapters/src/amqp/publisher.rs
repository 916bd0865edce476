//! Publishing to RabbitMQ (lapin): one durable topic exchange, the event type as routing key,
//! persistent messages, and a publisher confirm awaited for every message before the outbox row
//! is marked published; the event's trace travels in the `traceparent` header. The connection is
//! opened lazily and rebuilt after any failure.

use std::time::Duration;

use anyhow::{Context, bail};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::{AMQPValue, FieldTable, LongString},
};
use tokio::sync::Mutex;

use usvc_core::{
    events::{Broker, Envelope},
    trace::TRACEPARENT,
};

/// How long the broker has to confirm one message.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

pub struct AmqpPublisher {
    url: String,
    exchange: String,
    link: Mutex<Option<(Connection, Channel)>>,
}

impl AmqpPublisher {
    pub fn new(url: &str, exchange: &str) -> Self {
        Self {
            url: url.to_owned(),
            exchange: exchange.to_owned(),
            link: Mutex::new(None),
        }
    }

    /// Publishes one event and waits for the broker to confirm it. On any failure the link is
    /// dropped, so the next call reconnects.
    pub async fn publish(&self, envelope: &Envelope<'_>) -> anyhow::Result<()> {
        let mut link = self.link.lock().await;
        let result = tokio::time::timeout(CONFIRM_TIMEOUT, self.publish_on(&mut link, envelope))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the broker did not confirm in time")));
        if result.is_err()
            && let Some((connection, _)) = link.take()
        {
            let _ = connection.close(0, "reconnecting".into()).await;
        }
        result
    }

    async fn publish_on(
        &self,
        link: &mut Option<(Connection, Channel)>,
        envelope: &Envelope<'_>,
    ) -> anyhow::Result<()> {
        if link.as_ref().is_none_or(|(c, _)| !c.status().connected()) {
            *link = Some(self.connect().await?);
        }
        let Some((_, channel)) = link.as_ref() else {
            bail!("no channel to the broker");
        };
        let payload = serde_json::to_vec(envelope)?;
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(envelope.id.into())
            .with_type(envelope.event_type.into())
            .with_app_id("usvc".into());
        if let Some(traceparent) = envelope.traceparent {
            let mut headers = FieldTable::default();
            headers.insert(
                TRACEPARENT.into(),
                AMQPValue::LongString(LongString::from(traceparent)),
            );
            properties = properties.with_headers(headers);
        }
        let confirmation = channel
            .basic_publish(
                self.exchange.as_str().into(),
                envelope.event_type.into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await
            .context("publishing")?
            .await
            .context("waiting for the publisher confirm")?;
        if !confirmation.is_ack() {
            bail!("the broker refused the message (nack)");
        }
        Ok(())
    }

    async fn connect(&self) -> anyhow::Result<(Connection, Channel)> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .context("connecting to the broker")?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .context("declaring the exchange")?;
        tracing::info!(exchange = %self.exchange, "connected to the broker");
        Ok((connection, channel))
    }
}

#[async_trait::async_trait]
impl Broker for AmqpPublisher {
    async fn publish(&self, envelope: &Envelope<'_>) -> anyhow::Result<()> {
        AmqpPublisher::publish(self, envelope).await
    }
}
