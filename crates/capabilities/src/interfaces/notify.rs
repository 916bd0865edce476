//! `usvc:host/notify`: renders a notice for a customer and queues it until the call commits.
//! For an email-verification notice the host issues the one-time code itself.

use wasmtime::component::HasData;

use crate::codes;
use crate::notify::{Notice as HostNotice, Notification};
use crate::store::users;
use crate::{
    bindings::usvc::host::notify::{Host, Notice},
    clock::Clock,
    secrets::SecretBox,
};

use super::{Tx, failed};

/// The `notify` capability: the call's unit of work (whose messages leave after its commit),
/// the clock and the key the codes it issues are digested with.
pub struct Messages<'a> {
    pub clock: &'a dyn Clock,
    pub secrets: &'a SecretBox,
    pub tx: Tx<'a>,
}

impl HasData for Messages<'static> {
    type Data<'a> = Messages<'a>;
}

impl Host for Messages<'_> {
    async fn send(&mut self, to: String, notice: Notice) -> wasmtime::Result<()> {
        let now = self.clock.unix();
        let secrets = self.secrets;
        let conn = self.tx.conn().await.map_err(failed("notify.send"))?;
        let Some(user) = users::get(conn, &to).await.map_err(failed("notify.send"))? else {
            wasmtime::bail!("notify.send: no customer {to}");
        };
        let (notice, code) = match notice {
            Notice::EmailVerification => {
                let code = codes::issue_email_code(conn, secrets, &user.id, now)
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
            self.tx.queue(message.clone().over_sms(phone));
        }
        self.tx.queue(message);
        Ok(())
    }
}
