//! Changing the phone number or the email address: a request records the change and sends a
//! six-digit code to the NEW number (by SMS) or address; the change takes effect only when that
//! code comes back. What the new number or address may be is the onboarding policy's to say
//! (`changes.check-phone`, `changes.check-email`): the rules of registration. Codes are stored as SHA-256 and compared in constant time; they expire, a
//! change dies after [`MAX_CODE_ATTEMPTS`] wrong codes, and a new code waits
//! [`RESEND_AFTER_SECS`]. Whether a second factor is needed first is the caller's check
//! (`second_factor::require_fresh`), as for every sensitive action.
//!
//! An email address another customer has gets the same answer, the same stored change and the
//! same throttling as a free one, but its code is never sent and nobody is told, so the request
//! reveals nothing about who banks here (a code to a free address is sent after the answer, so
//! timing does not tell either); the switch itself re-checks the address in the same
//! statement. Must not: put a number, address or code in an event, audit row or log line.

use crate::failure::{Failure, Reason};
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use super::Profiles;
use crate::{
    notify::{Notice, Notification, Notifier},
    runtime::{CallError, onboarding::Violation},
    secrets::{code_digest, constant_time_eq},
    store::{
        self, Connection, Transaction,
        contact_changes::{self, ContactChannel, PendingChange},
        users,
    },
    trail,
};

/// How long a code sent by SMS works: a text arrives in seconds.
pub const PHONE_CODE_TTL_SECS: i64 = 10 * 60;
/// How long a code sent by email works, as for the registration code.
pub const EMAIL_CODE_TTL_SECS: i64 = 30 * 60;
/// Wrong codes that end a change.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// How long a customer waits before another code is sent on the same channel.
pub const RESEND_AFTER_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("the new value breaks {} rule(s)", .0.len())]
    Invalid(Vec<Violation>),
    /// A code was sent on this channel moments ago.
    #[error("a code was sent moments ago")]
    TooSoon { retry_after: Duration },
    /// The code is wrong, no change is waiting, or the waiting one died of wrong codes (alike).
    #[error("the code is not valid")]
    InvalidCode,
    #[error("the code has expired")]
    ExpiredCode,
    #[error("no such customer")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The onboarding policy, which decides what a new address or number may be, did not answer.
    #[error(transparent)]
    Policy(#[from] CallError),
}

impl From<ContactError> for Failure {
    fn from(e: ContactError) -> Self {
        match e {
            ContactError::Invalid(violations) => Failure::invalid(violations),
            ContactError::TooSoon { retry_after } => Failure::rate_limited(retry_after),
            ContactError::InvalidCode => Failure::refused(
                Reason::InvalidCode,
                "The code is wrong, or no change is waiting for one. After five wrong codes the \
                 change ends: ask for a new code.",
            ),
            ContactError::ExpiredCode => Failure::refused(
                Reason::ExpiredCode,
                "The code has expired: ask for a new one.",
            ),
            ContactError::NotFound => Failure::not_found("no such customer"),
            ContactError::Database(e) => e.into(),
            ContactError::Policy(e) => e.into(),
        }
    }
}

/// A change waiting for its code: when that code stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSent {
    pub expires_at: i64,
}

/// The waiting change when `code` is its code and still valid; otherwise the refusal, with the
/// wrong guess counted (the change deleted at the last one) or the expired change deleted.
async fn check_code(
    conn: &mut Connection,
    secrets: &crate::secrets::SecretBox,
    user_id: &str,
    channel: ContactChannel,
    code: &str,
    now: i64,
) -> sqlx::Result<Result<PendingChange, ContactError>> {
    let Some(pending) = contact_changes::pending(conn, user_id, channel).await? else {
        return Ok(Err(ContactError::InvalidCode));
    };
    if !constant_time_eq(
        code_digest(secrets, code.trim()).as_bytes(),
        pending.code_hash.as_bytes(),
    ) {
        if pending.attempts + 1 >= MAX_CODE_ATTEMPTS {
            contact_changes::delete(conn, user_id, channel).await?;
        } else {
            contact_changes::count_attempt(conn, user_id, channel).await?;
        }
        return Ok(Err(ContactError::InvalidCode));
    }
    if pending.expires_at <= now {
        contact_changes::delete(conn, user_id, channel).await?;
        return Ok(Err(ContactError::ExpiredCode));
    }
    Ok(Ok(pending))
}

/// Refuses a new code while the last one on `channel` is younger than [`RESEND_AFTER_SECS`].
async fn throttle(
    conn: &mut Connection,
    user_id: &str,
    channel: ContactChannel,
    now: i64,
) -> Result<(), ContactError> {
    if let Some(pending) = contact_changes::pending(conn, user_id, channel).await? {
        let wait = pending.sent_at + RESEND_AFTER_SECS - now;
        if wait > 0 {
            return Err(ContactError::TooSoon {
                retry_after: Duration::from_secs(wait.unsigned_abs()),
            });
        }
    }
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

fn unchanged(field: &str, message: &str) -> ContactError {
    ContactError::Invalid(vec![Violation {
        code: format!("{field}.unchanged"),
        field: field.to_owned(),
        message: message.to_owned(),
    }])
}

fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// After the commit; a failed delivery is logged (without the message) and the customer asks
/// again once the resend wait is over.
async fn deliver(notifier: &dyn Notifier, notice: &Notification) {
    if let Err(e) = notifier.deliver(notice).await {
        tracing::warn!(user_id = %notice.user_id, notice = notice.notice.name(), error = %e, "notification not delivered");
    }
}

impl Profiles {
    /// Records a change of phone number to `raw` (E.164) and texts a code to it.
    pub async fn request_phone_change(
        &self,
        user_id: &str,
        raw: &str,
    ) -> Result<CodeSent, ContactError> {
        let (runtime, caps) = (&self.runtime, &self.caps);
        let phone = runtime
            .check_phone(caps, user_id, raw.to_owned())
            .await?
            .map_err(ContactError::Invalid)?;
        let now = caps.clock.unix();
        let mut tx = store::begin(&caps.db).await?;
        let user = users::get(&mut tx, user_id)
            .await?
            .ok_or(ContactError::NotFound)?;
        if user.phone.as_deref() == Some(phone.as_str())
            && users::phone_verified(&mut tx, user_id).await?
        {
            return Err(unchanged(
                "phone",
                "This is already your verified phone number.",
            ));
        }
        throttle(&mut tx, user_id, ContactChannel::Phone, now).await?;
        let code = new_code();
        let expires_at = now + PHONE_CODE_TTL_SECS;
        let hash = code_digest(&caps.secrets, &code);
        contact_changes::put(
            &mut tx,
            user_id,
            ContactChannel::Phone,
            &phone,
            &hash,
            now,
            expires_at,
        )
        .await?;
        trail::commit(tx, caps).await?;
        let notice = Notification::render(user_id, &phone, Notice::PhoneVerification, Some(code));
        deliver(&*caps.notifier, &notice).await;
        Ok(CodeSent { expires_at })
    }

    /// Sets the phone number waiting for `code`, as verified; `user.phone_changed` and its audit row
    /// commit with it.
    pub async fn confirm_phone_change(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<String, ContactError> {
        let caps = &self.caps;
        let now = caps.clock.unix();
        let (mut tx, pending) = self
            .spend_code(user_id, ContactChannel::Phone, code, now)
            .await?;
        if !users::set_verified_phone(&mut tx, user_id, &pending.new_value, now).await? {
            return Err(ContactError::NotFound);
        }
        contact_changes::delete(&mut tx, user_id, ContactChannel::Phone).await?;
        let data = json!({ "user_id": user_id, "verified": true });
        trail::record(&mut tx, "user.phone_changed", user_id, data, now).await?;
        trail::commit(tx, caps).await?;
        tracing::info!(user_id, "phone number changed");
        Ok(pending.new_value)
    }

    /// Records a change of email address to `raw` and emails a code to it, unless another customer
    /// has that address: then the same change is recorded, with a code nobody receives.
    pub async fn request_email_change(
        &self,
        user_id: &str,
        raw: &str,
    ) -> Result<CodeSent, ContactError> {
        let (runtime, caps) = (&self.runtime, &self.caps);
        let email = runtime
            .check_email(caps, user_id, raw.to_owned())
            .await?
            .map_err(ContactError::Invalid)?;
        let now = caps.clock.unix();
        let mut tx = store::begin(&caps.db).await?;
        let user = users::get(&mut tx, user_id)
            .await?
            .ok_or(ContactError::NotFound)?;
        if user.email == email {
            return Err(unchanged("email", "This is already your email address."));
        }
        throttle(&mut tx, user_id, ContactChannel::Email, now).await?;
        let taken = users::email_taken(&mut tx, &email).await?;
        let code = new_code();
        let expires_at = now + EMAIL_CODE_TTL_SECS;
        let hash = code_digest(&caps.secrets, &code);
        contact_changes::put(
            &mut tx,
            user_id,
            ContactChannel::Email,
            &email,
            &hash,
            now,
            expires_at,
        )
        .await?;
        trail::commit(tx, caps).await?;
        if !taken {
            // After the answer, so that its timing does not tell a sent code from an unsent one.
            let notice =
                Notification::render(user_id, &email, Notice::EmailChangeVerification, Some(code));
            let notifier = caps.notifier.clone();
            tokio::spawn(crate::trace::carried(async move {
                deliver(&*notifier, &notice).await
            }));
        }
        Ok(CodeSent { expires_at })
    }

    /// Switches to the address waiting for `code`, records `user.email_changed` with its audit row,
    /// and tells the old address.
    pub async fn confirm_email_change(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<String, ContactError> {
        let caps = &self.caps;
        let now = caps.clock.unix();
        let (mut tx, pending) = self
            .spend_code(user_id, ContactChannel::Email, code, now)
            .await?;
        let user = users::get(&mut tx, user_id)
            .await?
            .ok_or(ContactError::NotFound)?;
        contact_changes::delete(&mut tx, user_id, ContactChannel::Email).await?;
        let switched = match users::set_email(&mut tx, user_id, &pending.new_value, now).await {
            Ok(switched) => switched,
            // A registration took the address between the check and the write (PostgreSQL): the
            // transaction is spoilt, so the change ends in one of its own.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let mut tx = store::begin(&caps.db).await?;
                contact_changes::delete(&mut tx, user_id, ContactChannel::Email).await?;
                trail::commit(tx, caps).await?;
                return Err(ContactError::InvalidCode);
            }
            Err(e) => return Err(e.into()),
        };
        if !switched {
            // Someone has the address (it was taken all along, or since): the change ends as if the
            // code were wrong.
            trail::commit(tx, caps).await?;
            return Err(ContactError::InvalidCode);
        }
        let data = json!({ "user_id": user_id });
        trail::record(&mut tx, "user.email_changed", user_id, data, now).await?;
        trail::commit(tx, caps).await?;
        tracing::info!(user_id, "email address changed");
        let notice = Notification::render(user_id, &user.email, Notice::EmailChanged, None);
        deliver(&*caps.notifier, &notice).await;
        Ok(pending.new_value)
    }

    /// A transaction holding the change waiting on `channel`, when `code` is its code. A wrong
    /// guess is counted (and may end the change) and committed, though the request fails.
    async fn spend_code(
        &self,
        user_id: &str,
        channel: ContactChannel,
        code: &str,
        now: i64,
    ) -> Result<(Transaction, PendingChange), ContactError> {
        let mut tx = store::begin(&self.caps.db).await?;
        match check_code(&mut tx, &self.caps.secrets, user_id, channel, code, now).await? {
            Ok(pending) => Ok((tx, pending)),
            Err(refusal) => {
                trail::commit(tx, &self.caps).await?;
                Err(refusal)
            }
        }
    }
}
