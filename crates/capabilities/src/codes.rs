//! One-time codes sent to customers (email verification): issued and checked by the host.

use rand::Rng;

use crate::secrets::{code_digest, constant_time_eq};
use crate::{
    secrets::SecretBox,
    store::{Connection, credentials},
};

/// How long an email code lives and how many wrong guesses kill it.
pub const EMAIL_CODE_TTL_SECS: i64 = 30 * 60;
pub const EMAIL_CODE_MAX_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Valid,
    Invalid,
    Expired,
    Exhausted,
}

/// A fresh six-digit code; its hash replaces any live code of the customer.
pub async fn issue_email_code(
    conn: &mut Connection,
    secrets: &SecretBox,
    user_id: &str,
    now: i64,
) -> sqlx::Result<String> {
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
    credentials::put_email_code(
        conn,
        user_id,
        &code_digest(secrets, &code),
        now + EMAIL_CODE_TTL_SECS,
        now,
    )
    .await?;
    Ok(code)
}

pub async fn check_email_code(
    conn: &mut Connection,
    secrets: &SecretBox,
    user_id: &str,
    code: &str,
    now: i64,
) -> sqlx::Result<CodeCheck> {
    let Some(stored) = credentials::email_code(conn, user_id).await? else {
        return Ok(CodeCheck::Invalid);
    };
    if stored.attempts >= EMAIL_CODE_MAX_ATTEMPTS {
        return Ok(CodeCheck::Exhausted);
    }
    if !constant_time_eq(
        code_digest(secrets, code.trim()).as_bytes(),
        stored.code_hash.as_bytes(),
    ) {
        credentials::count_email_code_attempt(conn, user_id).await?;
        return Ok(if stored.attempts + 1 >= EMAIL_CODE_MAX_ATTEMPTS {
            CodeCheck::Exhausted
        } else {
            CodeCheck::Invalid
        });
    }
    if stored.expires_at <= now {
        return Ok(CodeCheck::Expired);
    }
    credentials::delete_email_code(conn, user_id).await?;
    Ok(CodeCheck::Valid)
}
