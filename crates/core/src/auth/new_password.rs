//! A new password: a customer changes theirs (the current one and whatever fresh proof the mfa
//! policy asks; every other session ends) or resets a forgotten one (a one-time token by email,
//! spent atomically with the new password; every session ends). Either way the new password must
//! pass the onboarding component's password policy. Must not: tell a known address from an
//! unknown one when a reset is asked, or leave a reset token usable once its password is set.

use std::net::IpAddr;

use serde_json::json;

use super::{Authenticator, random_token, reauth, second_factor, sha256_hex, tokens::Claims};
use crate::{
    failure::{Failure, Reason},
    guard::Guard,
    notify::{Notice, Notification},
    runtime::mfa::SensitiveAction,
    store::{self, credentials, password_resets, sessions, users},
    trail,
};

/// How long a reset token works.
pub const RESET_TOKEN_TTL_SECS: i64 = 30 * 60;

/// Sets the session's customer's new password after checking `current`, and ends every other
/// session, in one transaction.
pub async fn change(
    auth: &Authenticator,
    claims: &Claims,
    ip: IpAddr,
    current: String,
    new: String,
) -> Result<(), Failure> {
    second_factor::require_fresh(auth, claims, SensitiveAction::ChangePassword).await?;
    let user =
        reauth::prove_password(auth, claims, ip, current, "auth.password_change_failed").await?;
    check_policy(auth, &user.email, &new).await?;

    let hash = auth.caps.passwords.hash(new).await?;
    let now = auth.caps.clock.unix();
    let mut tx = store::begin(&auth.caps.db).await?;
    credentials::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = sessions::revoke_all_except(&mut tx, &user.id, Some(&claims.sid), now).await?;
    let data = json!({ "user_id": user.id, "session_id": claims.sid, "other_sessions_ended": ended.len() });
    trail::record(&mut tx, "auth.password_changed", &user.id, data, now).await?;
    trail::sessions_revoked(&mut tx, &user.id, &ended, "password_changed", now).await?;
    trail::commit(tx, &auth.caps).await?;
    auth.sessions.ended(ended.iter().map(String::as_str)).await;
    Ok(())
}

/// Sends a reset token to `email` when an active account uses it; otherwise does nothing, and
/// says so only in a log line without the address. Callers run it after they have answered, so
/// the timing tells nothing either.
pub async fn send_reset_token(auth: &Authenticator, email: &str) -> anyhow::Result<()> {
    let email = email.trim().to_lowercase();
    let now = auth.caps.clock.unix();
    let mut tx = store::begin(&auth.caps.db).await?;
    let user = match users::find_by_email(&mut tx, &email).await? {
        Some(user) if user.status == users::UserStatus::Active => user,
        _ => {
            tracing::info!("password reset asked for an address without an active account");
            return Ok(());
        }
    };
    let token = random_token();
    let expires_at = now + RESET_TOKEN_TTL_SECS;
    password_resets::create(&mut tx, &sha256_hex(&token), &user.id, now, expires_at).await?;
    let data = json!({ "user_id": user.id, "expires_at": expires_at });
    trail::record(
        &mut tx,
        "auth.password_reset_requested",
        &user.id,
        data,
        now,
    )
    .await?;
    trail::commit(tx, &auth.caps).await?;
    let notice = Notification::render(&user.id, &user.email, Notice::PasswordReset, Some(token));
    auth.caps.notifier.deliver(&notice).await
}

/// Sets a new password with a reset token and ends every session. A refused password leaves
/// the token usable, so the customer can try a better one.
pub async fn confirm_reset(auth: &Authenticator, token: &str, new: String) -> Result<(), Failure> {
    let invalid = || {
        Failure::refused(
            Reason::InvalidResetToken,
            "The reset token is unknown, used or expired: ask for a new one.",
        )
    };
    let token_hash = sha256_hex(token.trim());
    let now = auth.caps.clock.unix();
    let mut conn = auth.caps.db.acquire().await?;
    let user_id = password_resets::owner(&mut conn, &token_hash, now)
        .await?
        .ok_or_else(invalid)?;
    // A token outstanding when the account was locked or closed no longer works.
    let user = users::get(&mut conn, &user_id)
        .await?
        .filter(|user| user.status == users::UserStatus::Active)
        .ok_or_else(invalid)?;
    drop(conn);
    check_policy(auth, &user.email, &new).await?;
    let hash = auth.caps.passwords.hash(new).await?;

    let now = auth.caps.clock.unix();
    let mut tx = store::begin(&auth.caps.db).await?;
    // Spent here, in the same transaction as the new password: two confirmations racing
    // cannot both succeed.
    if password_resets::spend(&mut tx, &token_hash, now)
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    credentials::set_password_hash(&mut tx, &user.id, &hash, now).await?;
    let ended = sessions::revoke_all_except(&mut tx, &user.id, None, now).await?;
    let data = json!({ "user_id": user.id, "sessions_ended": ended.len() });
    trail::record(&mut tx, "auth.password_reset", &user.id, data, now).await?;
    trail::sessions_revoked(&mut tx, &user.id, &ended, "password_reset", now).await?;
    trail::commit(tx, &auth.caps).await?;
    auth.sessions.ended(ended.iter().map(String::as_str)).await;
    auth.guard.unlock(&Guard::account_key(&user.email)).await;
    let notice = Notification::render(&user.id, &user.email, Notice::PasswordWasReset, None);
    if let Err(e) = auth.caps.notifier.deliver(&notice).await {
        tracing::warn!(user_id = %user.id, error = %e, "password-reset notice not delivered");
    }
    Ok(())
}

/// The new password against the onboarding component's policy.
async fn check_policy(auth: &Authenticator, email: &str, password: &str) -> Result<(), Failure> {
    let violations = auth
        .runtime
        .check_password(&auth.caps, email.to_owned(), password.to_owned())
        .await?;
    if violations.is_empty() {
        return Ok(());
    }
    // The policy names the field `password`; in these requests it is `new_password`.
    let violations = violations
        .into_iter()
        .map(|mut v| {
            if v.field == "password" {
                v.field = "new_password".to_owned();
            }
            v
        })
        .collect();
    Err(Failure::invalid(violations))
}
