//! The notification service's client, and the notifier built on it: hands a rendered message to
//! the bank's delivery service.
//! The message body may carry a one-time code, so nothing here logs a request.

use tonic::Request;
use usvc_proto::bank::notification::v1::{
    Channel as DeliveryChannel, SendRequest, notification_service_client::NotificationServiceClient,
};

use super::{ClientError, ClientPolicy, resilience::Resilience};
use usvc_core::notify::{Channel as NoticeChannel, Notification, Notifier};

pub struct NotificationClient {
    grpc: NotificationServiceClient<super::Traced>,
    resilience: Resilience,
}

impl NotificationClient {
    /// A client of the service at `url`; it connects on first use.
    pub fn connect(url: &str, policy: ClientPolicy) -> anyhow::Result<Self> {
        Ok(Self {
            grpc: NotificationServiceClient::new(super::channel(url, &policy)?),
            resilience: Resilience::new("notification", policy),
        })
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// Hands `notification` (an email or an SMS) over for delivery; returns the service's id for it.
    /// `idempotency_key` must be new for each message and the same for every attempt of one.
    pub async fn send(
        &self,
        idempotency_key: &str,
        notification: &Notification,
    ) -> Result<String, ClientError> {
        let message = SendRequest {
            idempotency_key: idempotency_key.to_owned(),
            user_id: notification.user_id.clone(),
            channel: match notification.channel {
                NoticeChannel::Email => DeliveryChannel::Email,
                NoticeChannel::Sms => DeliveryChannel::Sms,
            }
            .into(),
            notice: notification.notice.name().to_owned(),
            recipient: notification.to.clone(),
            subject: notification.subject.clone(),
            body: notification.body.clone(),
        };
        self.resilience
            .call("Send", |left| {
                let mut grpc = self.grpc.clone();
                let mut request = Request::new(message.clone());
                request.set_timeout(left);
                async move { grpc.send(request).await }
            })
            .await
            .map(|response| response.into_inner().notification_id)
    }
}

/// The bank's notification service as a [`Notifier`] (`USVC_NOTIFICATION_GRPC_URL`). Each
/// message gets a fresh idempotency key, so the client's retries never deliver it twice.
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
