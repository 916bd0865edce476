//! Event delivery: the outbox relay, which moves committed events to the [`Broker`] (RabbitMQ,
//! in `usvc-adapters`, when `AMQP_URL` is configured) and always to the in-process bus. Delivery
//! is at least once; consumers deduplicate by event id. `inbound` is the other direction: other
//! services' events as their handlers see them.

pub mod envelope;
pub mod inbound;

use std::{sync::Arc, time::Duration};

use tokio::sync::{Notify, broadcast};

pub use self::envelope::Envelope;
use crate::{
    clock::Clock,
    store::{
        Connection, Database,
        outbox::{self, Event},
    },
};

/// In-process publish/subscribe for events, used when no broker is configured.
#[derive(Clone)]
pub struct EventBus(broadcast::Sender<Event>);

impl Default for EventBus {
    fn default() -> Self {
        Self(broadcast::channel(1024).0)
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}

/// Where committed events go beyond this process: a durable bus that confirms each one.
#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Publishes one event; `Ok` only once the bus has confirmed it.
    async fn publish(&self, envelope: &Envelope<'_>) -> anyhow::Result<()>;
}

/// Moves committed outbox events to the broker (when configured) and the bus, oldest first,
/// then marks them published. An event the broker has not confirmed stops the round, so no
/// later event overtakes it: per-customer order holds.
pub struct OutboxRelay {
    db: Database,
    bus: EventBus,
    broker: Option<Box<dyn Broker>>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
}

const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 100;

impl OutboxRelay {
    /// `wake` is rung whenever a unit of work with events commits.
    pub fn new(
        db: Database,
        bus: EventBus,
        broker: Option<Box<dyn Broker>>,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> Self {
        // Exported from the start, at zero, for the alerts and the dashboard.
        metrics::counter!("usvc_events_published_total").increment(0);
        metrics::counter!("usvc_event_publish_failures_total").increment(0);
        Self {
            db,
            bus,
            broker,
            clock,
            wake,
        }
    }

    /// Runs until the task is aborted; a failed round is logged and retried on the next tick.
    pub async fn run(self) {
        loop {
            match self.relay_once().await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "outbox relay round failed; retrying")
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Publishes one batch; returns how many events it delivered.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        let mut conn = self.db.acquire().await?;
        // Measured before publishing, so a round the broker fails still shows the backlog.
        self.measure_backlog(&mut conn).await?;
        let events = outbox::pending(&mut conn, BATCH).await?;
        for event in &events {
            if let Some(broker) = &self.broker
                && let Err(e) = broker.publish(&Envelope::of(event)).await
            {
                metrics::counter!("usvc_event_publish_failures_total").increment(1);
                return Err(e);
            }
            metrics::counter!("usvc_events_published_total").increment(1);
            // No subscriber is not a failure: the in-process bus has no durable queue.
            let _ = self.bus.0.send(event.clone());
            outbox::mark_published(&mut conn, &event.id, self.clock.unix()).await?;
        }
        Ok(events.len())
    }

    /// `usvc_outbox_pending_events` and `usvc_outbox_lag_seconds` (the age of the oldest event
    /// not yet delivered; 0 when none waits): a broker outage shows here before anywhere else.
    async fn measure_backlog(&self, conn: &mut Connection) -> anyhow::Result<()> {
        let (pending, oldest) = outbox::backlog(conn).await?;
        let lag = oldest.map_or(0, |at| self.clock.unix().saturating_sub(at).max(0));
        metrics::gauge!("usvc_outbox_pending_events").set(pending as f64);
        metrics::gauge!("usvc_outbox_lag_seconds").set(lag as f64);
        Ok(())
    }
}
