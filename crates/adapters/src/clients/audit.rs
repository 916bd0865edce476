//! The audit service's client, and the forwarder that feeds it: the local `audit_events` table
//! is the outbox of the bank's central audit log. Rows are written in the transaction of the
//! change they record; [`AuditForwarder`] sends the ones not yet forwarded, oldest first, and
//! marks each once the service has it. A failure ends the round and the next one starts again
//! from the oldest row left, so none is lost; the event id makes a repeated send harmless.

use std::{sync::Arc, time::Duration};

use tonic::Request;
use usvc_proto::bank::audit::v1::{RecordRequest, audit_service_client::AuditServiceClient};

use super::{ClientError, ClientPolicy, resilience::Resilience};
use usvc_core::{
    clock::Clock,
    store::{
        Database,
        audit::{self, AuditEvent},
    },
};

pub struct AuditClient {
    grpc: AuditServiceClient<super::Traced>,
    resilience: Resilience,
}

impl AuditClient {
    /// A client of the service at `url`; it connects on first use.
    pub fn connect(url: &str, policy: ClientPolicy) -> anyhow::Result<Self> {
        Ok(Self {
            grpc: AuditServiceClient::new(super::channel(url, &policy)?),
            resilience: Resilience::new("audit", policy),
        })
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// Records `event` in the central log; `Ok(true)` when it was there already.
    pub async fn record(&self, event: &AuditEvent) -> Result<bool, ClientError> {
        let message = RecordRequest {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            user_id: event.user_id.clone(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: event.occurred_at,
                nanos: 0,
            }),
            data_json: event.data.to_string(),
            source: "usvc".to_owned(),
        };
        self.resilience
            .call("Record", |left| {
                let mut grpc = self.grpc.clone();
                let mut request = Request::new(message.clone());
                request.set_timeout(left);
                async move { grpc.record(request).await }
            })
            .await
            .map(|response| response.into_inner().duplicate)
    }
}

/// Moves audit rows not yet forwarded to the audit service, oldest first, then marks them.
pub struct AuditForwarder {
    db: Database,
    client: AuditClient,
    clock: Arc<dyn Clock>,
}

const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 100;

impl AuditForwarder {
    pub fn new(db: Database, client: AuditClient, clock: Arc<dyn Clock>) -> Self {
        // Exported from the start, at zero, for the alerts and the dashboard.
        metrics::counter!("usvc_audit_forwarded_total").increment(0);
        metrics::counter!("usvc_audit_forward_failures_total").increment(0);
        Self { db, client, clock }
    }

    /// Runs until the task is aborted. An outage is logged once when it starts and once when
    /// forwarding resumes.
    pub async fn run(self) {
        let mut failing = false;
        loop {
            match self.forward_once().await {
                Ok(n) => {
                    if failing {
                        failing = false;
                        tracing::info!("audit forwarding resumed");
                    }
                    if n as i64 == BATCH {
                        continue;
                    }
                }
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(error = %format!("{error:#}"), "audit forwarding failed; rows wait in audit_events and are retried");
                }
                Err(error) => {
                    tracing::debug!(error = %format!("{error:#}"), "audit forwarding still failing")
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Forwards one batch; returns how many rows it forwarded. Stops at the first failure, so
    /// no row overtakes an older one.
    pub async fn forward_once(&self) -> anyhow::Result<usize> {
        let events = audit::unforwarded(&mut *self.db.acquire().await?, BATCH).await?;
        for event in &events {
            if let Err(e) = self.client.record(event).await {
                metrics::counter!("usvc_audit_forward_failures_total").increment(1);
                return Err(e.into());
            }
            audit::mark_forwarded(&mut *self.db.acquire().await?, &event.id, self.clock.unix())
                .await?;
            metrics::counter!("usvc_audit_forwarded_total").increment(1);
        }
        Ok(events.len())
    }
}
