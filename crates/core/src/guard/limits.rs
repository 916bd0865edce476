//! Rate limits per client address and per account, and the login brake: after a few failed
//! logins each further attempt must wait a growing delay, and after more the account is locked
//! for a while. Accounts are keyed by a hash of the address typed, whether or not a customer
//! has it, so the answers never tell a known address from an unknown one.

use std::{net::IpAddr, sync::Arc, time::Duration};

use anyhow::Context;

use super::Shared;
use crate::secrets::sha256_hex;

/// What a client is trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Register,
    PasswordReset,
    /// Checking a one-time code (email verification).
    CodeCheck,
    /// Checking the current password inside a session (a password change, a
    /// re-authentication): braked and locked with the account's logins, since it is the same
    /// secret being guessed.
    Reauthenticate,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::PasswordReset => "reset",
            Self::CodeCheck => "code",
            Self::Reauthenticate => "reauth",
        }
    }
}

/// Why an attempt is turned away, and when the client may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts in the window.
    RateLimited { retry_after: Duration },
    /// Recent failed logins: wait before the next attempt.
    SlowDown { retry_after: Duration },
    /// Too many failed logins: the account is locked for a while.
    LockedOut { retry_after: Duration },
}

impl Refusal {
    fn reason(self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::SlowDown { .. } => "slowed_down",
            Self::LockedOut { .. } => "locked_out",
        }
    }

    pub fn retry_after(self) -> Duration {
        match self {
            Self::RateLimited { retry_after }
            | Self::SlowDown { retry_after }
            | Self::LockedOut { retry_after } => retry_after,
        }
    }
}

pub struct Guard {
    shared: Arc<Shared>,
    limits: Limits,
}

impl Guard {
    pub fn new(shared: Arc<Shared>, limits: Limits) -> Self {
        Self { shared, limits }
    }

    /// The key an account is known by here: a hash of the normalised address, never the address.
    pub fn account_key(email: &str) -> String {
        sha256_hex(&email.trim().to_lowercase())
    }

    /// Counts one attempt at `action` from `ip` and, when it names one, against an account;
    /// refuses it when a limit is reached or the account is braked or locked.
    pub async fn admit(
        &self,
        action: Action,
        ip: IpAddr,
        account: Option<&str>,
    ) -> Result<(), Refusal> {
        let verdict = self.check(action, ip, account).await;
        if let Err(refusal) = verdict {
            metrics::counter!(
                "usvc_guard_refusals_total",
                "action" => action.name(),
                "reason" => refusal.reason(),
            )
            .increment(1);
        }
        verdict
    }

    async fn check(
        &self,
        action: Action,
        ip: IpAddr,
        account: Option<&str>,
    ) -> Result<(), Refusal> {
        let (per_ip, per_account) = match action {
            Action::Login => (self.limits.login_per_ip, self.limits.login_per_account),
            Action::Register => (
                self.limits.register_per_ip,
                self.limits.code_sends_per_account,
            ),
            Action::PasswordReset => (self.limits.reset_per_ip, self.limits.reset_per_account),
            Action::CodeCheck => (
                self.limits.code_checks_per_ip,
                self.limits.code_checks_per_account,
            ),
            Action::Reauthenticate => (self.limits.login_per_ip, self.limits.login_per_account),
        };
        let client = client_bucket(ip, self.limits.ipv6_prefix);
        self.count(&format!("rate:{}:ip:{client}", action.name()), per_ip)
            .await?;
        let Some(account) = account else {
            return Ok(());
        };
        if matches!(action, Action::Login | Action::Reauthenticate) {
            if let Some((_, left)) = self.shared.get(&format!("lock:{account}")).await {
                return Err(Refusal::LockedOut {
                    retry_after: at_least_a_second(left),
                });
            }
            if let Some((_, left)) = self.shared.get(&format!("wait:{account}")).await {
                return Err(Refusal::SlowDown {
                    retry_after: at_least_a_second(left),
                });
            }
        }
        self.count(
            &format!("rate:{}:acct:{account}", action.name()),
            per_account,
        )
        .await
    }

    /// Counts one password check inside session `session_id`; refuses it beyond the per-session
    /// rate, so one stolen token buys only so many guesses whatever the account's state.
    pub async fn admit_session(&self, session_id: &str) -> Result<(), Refusal> {
        let key = format!("rate:reauth:session:{}", sha256_hex(session_id));
        let verdict = self.count(&key, self.limits.reauth_per_session).await;
        if let Err(refusal) = verdict {
            metrics::counter!(
                "usvc_guard_refusals_total",
                "action" => Action::Reauthenticate.name(),
                "reason" => refusal.reason(),
            )
            .increment(1);
        }
        verdict
    }

    /// Records a failed login. Returns `true` when this failure locked the account.
    pub async fn login_failed(&self, account: &str) -> bool {
        let limits = &self.limits;
        let (failures, _) = self
            .shared
            .incr(&format!("fail:{account}"), limits.lockout)
            .await;
        if failures >= u64::from(limits.failures_before_lockout) {
            self.shared
                .set(&format!("lock:{account}"), "1", limits.lockout)
                .await;
            self.shared.delete(&format!("fail:{account}")).await;
            self.shared.delete(&format!("wait:{account}")).await;
            return true;
        }
        if failures >= u64::from(limits.failures_before_delay) {
            let doublings = (failures - u64::from(limits.failures_before_delay)).min(16) as u32;
            let delay = (limits.failure_delay * 2u32.pow(doublings)).min(limits.max_failure_delay);
            if !delay.is_zero() {
                self.shared
                    .set(&format!("wait:{account}"), "1", delay)
                    .await;
            }
        }
        false
    }

    /// How long a lockout lasts.
    pub fn lockout(&self) -> Duration {
        self.limits.lockout
    }

    /// Failed logins of the account since its last good one (within the lockout window).
    pub async fn recent_failures(&self, account: &str) -> u64 {
        self.shared
            .get(&format!("fail:{account}"))
            .await
            .and_then(|(count, _)| count.parse().ok())
            .unwrap_or(0)
    }

    /// A successful login clears the account's failures.
    pub async fn login_succeeded(&self, account: &str) {
        self.shared.delete(&format!("fail:{account}")).await;
    }

    /// A password reset lifts the brake and the lockout: the customer proved who they are.
    pub async fn unlock(&self, account: &str) {
        for kind in ["fail", "wait", "lock"] {
            self.shared.delete(&format!("{kind}:{account}")).await;
        }
    }

    async fn count(&self, key: &str, rate: Rate) -> Result<(), Refusal> {
        let (count, left) = self.shared.incr(key, rate.per).await;
        if count > u64::from(rate.max) {
            return Err(Refusal::RateLimited {
                retry_after: at_least_a_second(left),
            });
        }
        Ok(())
    }
}

/// `Retry-After` is in whole seconds; round up so a client never retries too early.
fn at_least_a_second(left: Duration) -> Duration {
    Duration::from_secs(left.as_millis().div_ceil(1000).max(1) as u64)
}

/// What a client address is counted as: an IPv4 address (an IPv4-mapped IPv6 one included) as
/// it is, an IPv6 address as its network of `prefix` bits.
pub fn client_bucket(ip: IpAddr, prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let bits = u128::from(v6);
                let prefix = u32::from(prefix.clamp(1, 128));
                let mask = u128::MAX << (128 - prefix);
                format!("{}/{prefix}", std::net::Ipv6Addr::from(bits & mask))
            }
        },
    }
}

/// At most `max` attempts per `per`, counted in fixed windows. Written `max/seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub per: Duration,
}

impl std::str::FromStr for Rate {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let (max, secs) = s
            .split_once('/')
            .context("expected `attempts/seconds`, e.g. `10/60`")?;
        let per = Duration::from_secs(secs.trim().parse()?);
        anyhow::ensure!(!per.is_zero(), "the window must be at least one second");
        Ok(Self {
            max: max.trim().parse()?,
            per,
        })
    }
}

/// Rate limits and the login brake. The defaults suit one customer's honest use.
#[derive(Debug, Clone)]
pub struct Limits {
    pub login_per_ip: Rate,
    pub login_per_account: Rate,
    pub register_per_ip: Rate,
    /// Verification codes sent to one address (registrations naming it).
    pub code_sends_per_account: Rate,
    pub reset_per_ip: Rate,
    pub reset_per_account: Rate,
    pub code_checks_per_ip: Rate,
    pub code_checks_per_account: Rate,
    /// Password checks inside one session (a password change, a re-authentication).
    pub reauth_per_session: Rate,
    /// Failed logins after which each further attempt waits `failure_delay`, doubling.
    pub failures_before_delay: u32,
    pub failure_delay: Duration,
    pub max_failure_delay: Duration,
    /// Failed logins after which the account is locked for `lockout`.
    pub failures_before_lockout: u32,
    pub lockout: Duration,
    /// IPv6 clients are counted per network of this prefix length (`USVC_LIMIT_IPV6_PREFIX`,
    /// 64 by default): one customer line usually holds a whole /64.
    pub ipv6_prefix: u8,
}

impl Default for Limits {
    fn default() -> Self {
        let rate = |max, secs| Rate {
            max,
            per: Duration::from_secs(secs),
        };
        Self {
            login_per_ip: rate(60, 60),
            login_per_account: rate(20, 60),
            register_per_ip: rate(20, 3600),
            code_sends_per_account: rate(5, 3600),
            reset_per_ip: rate(20, 3600),
            reset_per_account: rate(5, 3600),
            code_checks_per_ip: rate(60, 600),
            code_checks_per_account: rate(20, 600),
            reauth_per_session: rate(5, 900),
            failures_before_delay: 3,
            failure_delay: Duration::from_secs(1),
            max_failure_delay: Duration::from_secs(30),
            failures_before_lockout: 10,
            lockout: Duration::from_secs(15 * 60),
            ipv6_prefix: 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(limits: Limits) -> Guard {
        Guard::new(Arc::new(Shared::in_memory()), limits)
    }

    #[test]
    fn ipv6_clients_count_per_network() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_bucket(a, 64), client_bucket(b, 64));
        assert_ne!(client_bucket(a, 64), client_bucket(c, 64));
        assert_eq!(client_bucket(a, 64), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_bucket(mapped, 64), "192.0.2.1");
    }

    fn ip() -> IpAddr {
        "192.0.2.1".parse().unwrap()
    }

    #[tokio::test]
    async fn attempts_beyond_the_rate_are_refused_with_the_time_left() {
        let guard = guard(Limits {
            login_per_ip: Rate {
                max: 2,
                per: Duration::from_secs(60),
            },
            ..Limits::default()
        });
        assert!(guard.admit(Action::Login, ip(), None).await.is_ok());
        assert!(guard.admit(Action::Login, ip(), None).await.is_ok());
        let refusal = guard.admit(Action::Login, ip(), None).await.unwrap_err();
        assert_eq!(
            refusal,
            Refusal::RateLimited {
                retry_after: Duration::from_secs(60)
            }
        );
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(guard.admit(Action::Login, other, None).await.is_ok());
    }

    #[tokio::test]
    async fn failures_brake_then_lock_the_account() {
        let guard = guard(Limits {
            failures_before_delay: 2,
            failure_delay: Duration::from_secs(1),
            failures_before_lockout: 4,
            lockout: Duration::from_secs(600),
            ..Limits::default()
        });
        let account = Guard::account_key("Ada@Example.com ");
        assert_eq!(account, Guard::account_key("ada@example.com"));
        assert!(!guard.login_failed(&account).await);
        assert!(
            guard
                .admit(Action::Login, ip(), Some(&account))
                .await
                .is_ok()
        );
        assert!(!guard.login_failed(&account).await);
        assert_eq!(
            guard.admit(Action::Login, ip(), Some(&account)).await,
            Err(Refusal::SlowDown {
                retry_after: Duration::from_secs(1)
            })
        );
        assert!(!guard.login_failed(&account).await);
        assert!(guard.login_failed(&account).await);
        assert_eq!(
            guard.admit(Action::Login, ip(), Some(&account)).await,
            Err(Refusal::LockedOut {
                retry_after: Duration::from_secs(600)
            })
        );
    }
}
