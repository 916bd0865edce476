//! Messages to customers: what a notice says, and where it is delivered. Delivery happens only
//! after the unit of work that asked for it has committed.

mod mailbox;

pub use mailbox::DevMailbox;

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    EmailVerification,
    RegistrationAttempted,
    Welcome,
    /// A login from a device the customer had not used before.
    NewDevice,
    /// A password-reset token, on request.
    PasswordReset,
    /// The password was reset and every session ended.
    PasswordWasReset,
    /// A one-time code for a second factor (login, step-up or enrolment), by email or SMS.
    SecondFactorCode,
    /// A second factor was added to the account.
    SecondFactorAdded,
    /// A second factor was removed from the account.
    SecondFactorRemoved,
    /// The customer's verification tier or status changed.
    VerificationChanged,
    /// A code, by SMS to a new phone number, that proves the customer receives texts there.
    PhoneVerification,
    /// A code, to a new email address, that proves the customer reads mail there.
    EmailChangeVerification,
    /// To the old address: the account's email address was changed.
    EmailChanged,
}

/// How a message reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Notice {
    /// The notice's stable name, as in the dev mailbox and the notification service's
    /// `notice` field.
    pub fn name(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::RegistrationAttempted => "registration_attempted",
            Self::Welcome => "welcome",
            Self::NewDevice => "new_device",
            Self::PasswordReset => "password_reset",
            Self::PasswordWasReset => "password_was_reset",
            Self::SecondFactorCode => "second_factor_code",
            Self::SecondFactorAdded => "second_factor_added",
            Self::SecondFactorRemoved => "second_factor_removed",
            Self::VerificationChanged => "verification_changed",
            Self::PhoneVerification => "phone_verification",
            Self::EmailChangeVerification => "email_change_verification",
            Self::EmailChanged => "email_changed",
        }
    }

    /// Whether the notice warns of a change to how the account is protected, which the
    /// customer hears of on every channel they have.
    pub fn is_security_alert(self) -> bool {
        matches!(self, Self::SecondFactorAdded | Self::SecondFactorRemoved)
    }

    /// Whether the notice always goes by SMS (`to` is a phone number); a second-factor code goes
    /// by SMS only for an SMS factor (see [`Notification::over_sms`]).
    pub fn by_sms(self) -> bool {
        matches!(self, Self::PhoneVerification)
    }
}

/// A rendered message for one customer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification {
    pub user_id: String,
    pub channel: Channel,
    /// The email address, or the phone number for SMS.
    pub to: String,
    pub notice: Notice,
    pub subject: String,
    pub body: String,
    /// The one-time code the message carries, if any. Never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Notification {
    pub fn render(user_id: &str, to: &str, notice: Notice, code: Option<String>) -> Self {
        let (subject, body) = match (notice, &code) {
            (Notice::EmailVerification, Some(code)) => (
                "Confirm your email address".to_owned(),
                format!("Your verification code is {code}. It expires in 30 minutes."),
            ),
            (Notice::EmailVerification, None) => (
                "Confirm your email address".to_owned(),
                "Request a new verification code in the app.".to_owned(),
            ),
            (Notice::RegistrationAttempted, _) => (
                "Someone tried to register with your address".to_owned(),
                "Somebody tried to open an account with this email address, which already \
                 has one. If it was you, log in or reset your password. If not, you can ignore \
                 this message."
                    .to_owned(),
            ),
            (Notice::Welcome, _) => (
                "Welcome".to_owned(),
                "Your email address is confirmed and your account is open.".to_owned(),
            ),
            (Notice::NewDevice, _) => (
                "New sign-in to your account".to_owned(),
                "Your account was just signed in to from a device it had not been used on \
                 before. If this was you, there is nothing to do. If not, reset your password \
                 now: every session will end."
                    .to_owned(),
            ),
            (Notice::PasswordReset, Some(token)) => (
                "Reset your password".to_owned(),
                format!(
                    "Use this token to choose a new password: {token}. It works once and \
                     expires in 30 minutes. If you did not ask for it, ignore this message: \
                     your password has not changed."
                ),
            ),
            (Notice::PasswordReset, None) => (
                "Reset your password".to_owned(),
                "Ask for a new password-reset message in the app.".to_owned(),
            ),
            (Notice::SecondFactorCode, Some(code)) => (
                "Your security code".to_owned(),
                format!(
                    "Your usvc security code is {code}. It expires in a few minutes. Never \
                     share it: we will never ask you for it."
                ),
            ),
            (Notice::SecondFactorCode, None) => (
                "Your security code".to_owned(),
                "Ask for a new security code in the app.".to_owned(),
            ),
            (Notice::SecondFactorAdded, _) => (
                "A second factor was added to your account".to_owned(),
                "A new way to confirm it is you (an authenticator app, or codes by email or SMS) \
                 was just added to your account. If this was not you, contact us at once."
                    .to_owned(),
            ),
            (Notice::SecondFactorRemoved, _) => (
                "A second factor was removed from your account".to_owned(),
                "A way to confirm it is you was just removed from your account. If this was not \
                 you, contact us at once."
                    .to_owned(),
            ),
            (Notice::PhoneVerification, code) => (
                String::new(),
                format!(
                    "Your code to confirm this phone number is {}. It expires in 10 minutes.",
                    code.as_deref()
                        .unwrap_or("not available: ask for a new one")
                ),
            ),
            (Notice::EmailChangeVerification, code) => (
                "Confirm your new email address".to_owned(),
                format!(
                    "Your code to make this your account's email address is {}. It expires in \
                     30 minutes. If you did not ask for it, ignore this message.",
                    code.as_deref()
                        .unwrap_or("not available: ask for a new one")
                ),
            ),
            (Notice::EmailChanged, _) => (
                "Your email address was changed".to_owned(),
                "Your account's email address has just been changed and messages now go to the \
                 new one. If this was not you, contact us at once."
                    .to_owned(),
            ),
            (Notice::PasswordWasReset, _) => (
                "Your password was reset".to_owned(),
                "Your password has just been reset and every session has ended. If this was \
                 not you, contact us at once."
                    .to_owned(),
            ),
            (Notice::VerificationChanged, _) => (
                "Your verification has changed".to_owned(),
                "Your identity verification has a new outcome. Open the app to see your tier, \
                 its limits and anything still required."
                    .to_owned(),
            ),
        };
        Self {
            user_id: user_id.to_owned(),
            channel: if notice.by_sms() {
                Channel::Sms
            } else {
                Channel::Email
            },
            to: to.to_owned(),
            notice,
            subject,
            body,
            code,
        }
    }
}

impl Notification {
    /// The same message, sent by SMS to `phone` instead.
    pub fn over_sms(self, phone: &str) -> Self {
        Self {
            channel: Channel::Sms,
            to: phone.to_owned(),
            ..self
        }
    }
}

#[async_trait::async_trait]
pub trait Notifier: Send + Sync + 'static {
    async fn deliver(&self, notification: &Notification) -> anyhow::Result<()>;
}

/// Writes one line per message to the log: the notice and the customer id, never the address,
/// the body or a code.
pub struct LogNotifier;

#[async_trait::async_trait]
impl Notifier for LogNotifier {
    async fn deliver(&self, n: &Notification) -> anyhow::Result<()> {
        tracing::info!(user_id = %n.user_id, notice = ?n.notice, "notification sent");
        Ok(())
    }
}

/// Delivers to each notifier in turn, stopping at the first that fails.
pub struct Fanout(pub Vec<Arc<dyn Notifier>>);

#[async_trait::async_trait]
impl Notifier for Fanout {
    async fn deliver(&self, n: &Notification) -> anyhow::Result<()> {
        for notifier in &self.0 {
            notifier.deliver(n).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_named_as_it_is_serialised() {
        for notice in [
            Notice::EmailVerification,
            Notice::RegistrationAttempted,
            Notice::Welcome,
            Notice::NewDevice,
            Notice::PasswordReset,
            Notice::PasswordWasReset,
            Notice::SecondFactorCode,
            Notice::SecondFactorAdded,
            Notice::SecondFactorRemoved,
            Notice::VerificationChanged,
            Notice::PhoneVerification,
            Notice::EmailChangeVerification,
            Notice::EmailChanged,
        ] {
            assert_eq!(serde_json::to_value(notice).unwrap(), notice.name());
        }
    }
}
