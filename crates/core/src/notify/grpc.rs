//! Delivery through the bank's notification service (`USVC_NOTIFICATION_GRPC_URL`). Each message
//! gets a fresh idempotency key, so the client's retries never deliver it twice.

use crate::clients::notification::NotificationClient;

use super::{Notification, Notifier};

pub struct GrpcNotifier(pub NotificationClient);

#[async_trait::async_trait]
impl Notifier for GrpcNotifier {
    async fn deliver(&self, n: &Notification) -> anyhow::Result<()> {
        let key = uuid::Uuid::now_v7().to_string();
        let id = self.0.send(&key, n).await?;
        tracing::debug!(user_id = %n.user_id, notice = n.notice.name(), notification_id = %id, "handed to the notification service");
        Ok(())
    }
}
