//! `usvc:host/factors`: second factors kept by the host. TOTP secrets are generated here
//! (160 random bits), sealed before they are stored and opened only to compute codes; recovery
//! codes are generated here and stored as hashes; one-time codes for email and SMS factors are
//! generated here, kept as hashes in the shared key-value store for their short life and sent
//! after the call commits. A component learns only whether a code matched.

use std::time::Duration;

use rand::{Rng, RngCore};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use wasmtime::component::HasData;

use crate::{
    bindings::usvc::host::factors::{Channel, Factor, Host, TotpEnrolment},
    clock::Clock,
    notify::{Notice, Notification},
    secrets::{SecretBox, code_digest, constant_time_eq, sha256_hex},
    store::{factors as store, users},
};

use super::{CapabilityFailure, Tx, failed, kv::Kv};

/// The `factors` capability: the call's unit of work (whose messages leave after its commit),
/// the clock, the key secrets are sealed and codes digested with, and the shared store the
/// short-lived one-time codes live in.
pub struct Factors<'a> {
    pub clock: &'a dyn Clock,
    pub secrets: &'a SecretBox,
    pub tx: Tx<'a>,
    pub kv: Kv<'a>,
}

impl HasData for Factors<'static> {
    type Data<'a> = Factors<'a>;
}

/// The name authenticator apps show above the code.
const ISSUER: &str = "usvc";
const TOTP_STEP_SECS: u64 = 30;
const MAX_SKEW: u8 = 2;
const MAX_RECOVERY_CODES: u8 = 20;
/// The longest a one-time code sent by email or SMS may live.
const MAX_OTP_TTL_SECS: u32 = 900;
/// Recovery codes: 10 characters of base32 (50 bits), shown as `ABCDE-FGHIJ`.
const RECOVERY_CODE_BYTES: usize = 7;

/// The RFC 6238 parameters every authenticator app supports: SHA-1, 6 digits, 30 seconds.
pub fn totp(secret: Vec<u8>, account: &str) -> anyhow::Result<Totp> {
    Ok(Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(TOTP_STEP_SECS)
        .with_skew(0)
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()?)
}

/// The associated data a factor's secret is sealed with: it opens for this factor only.
fn seal_context(user: &str, factor_id: &str) -> String {
    format!("mfa-factor:{user}:{factor_id}")
}

/// Where the live one-time code of a factor is kept (its hash), outside every component's
/// `kv` namespace.
fn otp_key(factor_id: &str) -> String {
    format!("mfa-otp:{factor_id}")
}

fn is_otp_kind(kind: &str) -> bool {
    kind == "email" || kind == "sms"
}

/// Upper case, without separators or spaces: how a recovery code is compared.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn new_recovery_code() -> String {
    let mut bytes = [0u8; RECOVERY_CODE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let encoded = Secret::from(bytes.to_vec()).to_base32();
    format!("{}-{}", &encoded[..5], &encoded[5..10])
}

impl Host for Factors<'_> {
    async fn all(&mut self, user: String) -> wasmtime::Result<Vec<Factor>> {
        let conn = self.tx.conn().await.map_err(failed("factors.all"))?;
        let factors = store::list(conn, &user)
            .await
            .map_err(failed("factors.all"))?;
        Ok(factors
            .into_iter()
            .map(|f| Factor {
                id: f.id,
                kind: f.kind,
                active: f.activated_at.is_some(),
                created_at: f.created_at,
            })
            .collect())
    }

    async fn enrol_totp(&mut self, user: String) -> wasmtime::Result<TotpEnrolment> {
        let mut secret = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let conn = self.tx.conn().await.map_err(failed("factors.enrol-totp"))?;
        let email = crate::store::users::get(conn, &user)
            .await
            .map_err(failed("factors.enrol-totp"))?
            .map(|u| u.email)
            .ok_or_else(|| wasmtime::format_err!("factors.enrol-totp: no such user"))?;
        let totp = totp(secret.clone(), &email).map_err(|source| CapabilityFailure {
            capability: "factors.enrol-totp",
            source,
        })?;
        let factor_id = uuid::Uuid::now_v7().to_string();
        let sealed = self.secrets.seal(&secret, &seal_context(&user, &factor_id));
        let now = self.clock.unix();
        let conn = self.tx.conn().await.map_err(failed("factors.enrol-totp"))?;
        store::insert(conn, &factor_id, &user, "totp", &sealed, now)
            .await
            .map_err(failed("factors.enrol-totp"))?;
        let uri = totp.to_url().map_err(|e| CapabilityFailure {
            capability: "factors.enrol-totp",
            source: e.into(),
        })?;
        Ok(TotpEnrolment {
            factor_id,
            secret: totp.secret().to_base32(),
            uri,
        })
    }

    async fn match_totp(
        &mut self,
        user: String,
        factor_id: String,
        code: String,
        skew: u8,
    ) -> wasmtime::Result<Option<i64>> {
        if skew > MAX_SKEW {
            wasmtime::bail!("factors.match-totp: a skew of at most {MAX_SKEW} steps");
        }
        let conn = self.tx.conn().await.map_err(failed("factors.match-totp"))?;
        let factors = store::list(conn, &user)
            .await
            .map_err(failed("factors.match-totp"))?;
        let Some(factor) = factors
            .into_iter()
            .find(|f| f.id == factor_id && f.kind == "totp")
        else {
            return Ok(None);
        };
        let secret = self
            .secrets
            .open(&factor.secret, &seal_context(&user, &factor.id))
            .map_err(|source| CapabilityFailure {
                capability: "factors.match-totp",
                source,
            })?;
        let totp = totp(secret, "customer").map_err(|source| CapabilityFailure {
            capability: "factors.match-totp",
            source,
        })?;
        let now = self.clock.unix().max(0) as u64;
        let code = code.trim();
        // One step at a time, nearest first; each comparison is constant-time.
        let origin = now / TOTP_STEP_SECS;
        let mut steps = vec![origin];
        for d in 1..=u64::from(skew) {
            steps.push(origin + d);
            steps.push(origin.saturating_sub(d));
        }
        Ok(steps
            .into_iter()
            .find(|step| totp.check(code, step * TOTP_STEP_SECS).is_some())
            .map(|step| step as i64))
    }

    async fn enrol_otp(
        &mut self,
        user: String,
        channel: Channel,
    ) -> wasmtime::Result<Option<String>> {
        let conn = self.tx.conn().await.map_err(failed("factors.enrol-otp"))?;
        let customer = users::get(conn, &user)
            .await
            .map_err(failed("factors.enrol-otp"))?
            .ok_or_else(|| wasmtime::format_err!("factors.enrol-otp: no such user"))?;
        let kind = match channel {
            Channel::Email => "email",
            Channel::Sms if customer.phone.is_some() => "sms",
            Channel::Sms => return Ok(None),
        };
        let factor_id = uuid::Uuid::now_v7().to_string();
        let now = self.clock.unix();
        let conn = self.tx.conn().await.map_err(failed("factors.enrol-otp"))?;
        store::insert(conn, &factor_id, &user, kind, "", now)
            .await
            .map_err(failed("factors.enrol-otp"))?;
        Ok(Some(factor_id))
    }

    async fn send_otp(
        &mut self,
        user: String,
        factor_id: String,
        ttl_secs: u32,
    ) -> wasmtime::Result<bool> {
        if !(1..=MAX_OTP_TTL_SECS).contains(&ttl_secs) {
            wasmtime::bail!("factors.send-otp: a code lives 1 to {MAX_OTP_TTL_SECS} seconds");
        }
        let conn = self.tx.conn().await.map_err(failed("factors.send-otp"))?;
        let factors = store::list(conn, &user)
            .await
            .map_err(failed("factors.send-otp"))?;
        let Some(factor) = factors
            .into_iter()
            .find(|f| f.id == factor_id && is_otp_kind(&f.kind))
        else {
            return Ok(false);
        };
        let conn = self.tx.conn().await.map_err(failed("factors.send-otp"))?;
        let Some(customer) = users::get(conn, &user)
            .await
            .map_err(failed("factors.send-otp"))?
        else {
            return Ok(false);
        };
        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
        let message = Notification::render(
            &customer.id,
            &customer.email,
            Notice::SecondFactorCode,
            Some(code.clone()),
        );
        let message = match (factor.kind.as_str(), &customer.phone) {
            ("sms", Some(phone)) => message.over_sms(phone),
            ("sms", None) => return Ok(false),
            _ => message,
        };
        // The expiry is kept beside the hash and checked by the host's clock (which tests can
        // move); the store's own expiry only clears the key away.
        let expires_at = self.clock.unix() + i64::from(ttl_secs);
        self.kv
            .write(
                &otp_key(&factor.id),
                &format!("{expires_at}:{}", code_digest(self.secrets, &code)),
                Duration::from_secs(ttl_secs.into()),
            )
            .await;
        self.tx.queue(message);
        Ok(true)
    }

    async fn match_otp(
        &mut self,
        user: String,
        factor_id: String,
        code: String,
    ) -> wasmtime::Result<bool> {
        let conn = self.tx.conn().await.map_err(failed("factors.match-otp"))?;
        let factors = store::list(conn, &user)
            .await
            .map_err(failed("factors.match-otp"))?;
        if !factors
            .iter()
            .any(|f| f.id == factor_id && is_otp_kind(&f.kind))
        {
            return Ok(false);
        }
        let key = otp_key(&factor_id);
        let Some(stored) = self.kv.read(&key).await else {
            return Ok(false);
        };
        let Some((expires_at, expected)) = stored.split_once(':') else {
            return Ok(false);
        };
        if expires_at
            .parse::<i64>()
            .is_ok_and(|at| at <= self.clock.unix())
        {
            self.kv.remove(&key).await;
            return Ok(false);
        }
        let given = code_digest(self.secrets, code.trim());
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Ok(false);
        }
        // Spent: a code opens one door once — of two requests racing with it, one deletes it.
        Ok(self.kv.remove_if(&key, &stored).await)
    }

    async fn activate(&mut self, user: String, factor_id: String) -> wasmtime::Result<bool> {
        let now = self.clock.unix();
        let conn = self.tx.conn().await.map_err(failed("factors.activate"))?;
        store::activate(conn, &user, &factor_id, now)
            .await
            .map_err(failed("factors.activate"))
    }

    async fn remove(&mut self, user: String, factor_id: String) -> wasmtime::Result<bool> {
        let conn = self.tx.conn().await.map_err(failed("factors.remove"))?;
        store::remove(conn, &user, &factor_id)
            .await
            .map_err(failed("factors.remove"))
    }

    async fn replace_recovery_codes(
        &mut self,
        user: String,
        count: u8,
    ) -> wasmtime::Result<Vec<String>> {
        if count > MAX_RECOVERY_CODES {
            wasmtime::bail!("factors.replace-recovery-codes: at most {MAX_RECOVERY_CODES} codes");
        }
        let codes: Vec<String> = (0..count).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| code_digest(self.secrets, &normalise_recovery_code(c)))
            .collect();
        let now = self.clock.unix();
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("factors.replace-recovery-codes"))?;
        store::replace_recovery_codes(conn, &user, &hashes, now)
            .await
            .map_err(failed("factors.replace-recovery-codes"))?;
        Ok(codes)
    }

    async fn spend_recovery_code(&mut self, user: String, code: String) -> wasmtime::Result<bool> {
        let code = normalise_recovery_code(&code);
        let hash = code_digest(self.secrets, &code);
        // Codes issued before they were keyed are kept as bare SHA-256 until spent or replaced.
        let legacy = sha256_hex(&code);
        let now = self.clock.unix();
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("factors.spend-recovery-code"))?;
        let spent = store::spend_recovery_code(conn, &user, &hash, now)
            .await
            .map_err(failed("factors.spend-recovery-code"))?;
        if spent {
            return Ok(true);
        }
        store::spend_recovery_code(conn, &user, &legacy, now)
            .await
            .map_err(failed("factors.spend-recovery-code"))
    }

    async fn recovery_codes_left(&mut self, user: String) -> wasmtime::Result<u32> {
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("factors.recovery-codes-left"))?;
        store::recovery_codes_left(conn, &user)
            .await
            .map_err(failed("factors.recovery-codes-left"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_compared_without_case_or_separators() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalise_recovery_code(&code.to_lowercase().replace('-', " ")),
            normalise_recovery_code(&code)
        );
    }

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", 8 digits there; the last six
        // digits of its 8-digit code are the 6-digit code for the same step.
        let totp = totp(b"12345678901234567890".to_vec(), "test").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.generate(1_111_111_109).to_string(), "081804");
    }
}
