//! The notification service's client: hands a rendered message to the bank's delivery service.
//! The message body may carry a one-time code, so nothing here logs a request.

use tonic::{Request, transport::Channel};
use usvc_proto::bank::notification::v1::{
    Channel as DeliveryChannel, SendRequest, notification_service_client::NotificationServiceClient,
};

use super::{ClientError, ClientPolicy, resilience::Resilience};
use crate::runtime::notify::{Channel as NoticeChannel, Notification};

pub struct NotificationClient {
    grpc: NotificationServiceClient<Channel>,
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
