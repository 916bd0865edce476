//! `usvc:host/notify`: renders a notice for a customer and queues it until the call commits.
//! For an email-verification notice the host issues the one-time code itself.

use crate::codes;
use crate::notify::{Notice as HostNotice, Notification};
use crate::store::users;
use crate::{
    CallState,
    bindings::usvc::host::notify::{Host, Notice},
};

use super::failed;

impl Host for CallState {
    async fn send(&mut self, to: String, notice: Notice) -> wasmtime::Result<()> {
        let now = self.caps.clock.unix();
        let secrets = self.caps.secrets.clone();
        let conn = self.conn().await.map_err(failed("notify.send"))?;
        let Some(user) = users::get(conn, &to).await.map_err(failed("notify.send"))? else {
            wasmtime::bail!("notify.send: no customer {to}");
        };
        let (notice, code) = match notice {
            Notice::EmailVerification => {
                let code = codes::issue_email_code(conn, &secrets, &user.id, now)
                    .await
                    .map_err(failed("notify.send"))?;
                (HostNotice::EmailVerification, Some(code))
            }
            Notice::RegistrationAttempted => (HostNotice::RegistrationAttempted, None),
            Notice::Welcome => (HostNotice::Welcome, None),
            Notice::SecondFactorAdded => (HostNotice::SecondFactorAdded, None),
            Notice::SecondFactorRemoved => (HostNotice::SecondFactorRemoved, None),
        };
        let message = Notification::render(&user.id, &user.email, notice, code);
        // A security alert reaches every channel the customer has: whoever changed their
        // factors may also read their mail.
        if notice.is_security_alert()
            && let Some(phone) = user.phone.as_deref()
            && users::phone_verified(conn, &user.id)
                .await
                .map_err(failed("notify.send"))?
        {
            self.work
                .notifications
                .push(message.clone().over_sms(phone));
        }
        self.work.notifications.push(message);
        Ok(())
    }
}
