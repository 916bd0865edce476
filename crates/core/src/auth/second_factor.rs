//! Second factors around login and sensitive actions: the mfa policy asked after a right
//! password, the challenge kept between the two steps of a login, its completion, and step-ups.
//! The policy (the mfa component) decides; this module keeps the state and opens the session.

use crate::failure::{Failure, Reason};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Authenticator;
use super::{
    login::{LoginError, Origin, TokenPair, open_session},
    random_token, sha256_hex,
    tokens::Claims,
};
use crate::{
    runtime::{
        CallError, ComponentKind,
        mfa::{
            LoginContext, LoginRequirement, Method, Proof, Sending, SensitiveAction, SessionProofs,
            Verification,
        },
    },
    store::{
        devices, factors, password_resets, sessions,
        users::{self, UserStatus},
    },
    trail,
};

/// How long a login challenge waits for its second factor.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// What the first step of a login leaves for the second, under the challenge token's hash.
#[derive(Serialize, Deserialize)]
struct Challenge {
    user_id: String,
    ip: String,
    user_agent: String,
    device_token: Option<String>,
    methods: Vec<Method>,
}

fn challenge_key(token: &str) -> (String, String) {
    let id = sha256_hex(token);
    (format!("mfa-challenge:{id}"), id)
}

#[derive(Debug, thiserror::Error)]
pub enum SecondFactorError {
    /// Unknown, expired, spent or killed challenge token.
    #[error("the challenge is invalid or expired")]
    InvalidChallenge,
    #[error("this method is not allowed for the challenge")]
    MethodNotAllowed,
    /// A wrong or replayed code; the challenge lives on.
    #[error("the code was not accepted")]
    Rejected,
    /// Repeated failures locked the customer's second factors for a while.
    #[error("second factors are locked")]
    Locked,
    /// Codes were sent too recently or too often; ask again after this many seconds.
    #[error("codes were sent too often")]
    Throttled(u32),
    /// The customer has no active factor that sends codes by this method.
    #[error("no factor sends codes by this method")]
    NoSuchFactor,
    /// A sensitive action needs a fresh second factor first.
    #[error("a fresh second factor is required")]
    StepUpRequired,
    /// A sensitive action needs the current password again first.
    #[error("the current password is required again")]
    ReauthenticationRequired,
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Policy(#[from] CallError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<SecondFactorError> for Failure {
    fn from(e: SecondFactorError) -> Self {
        match e {
            SecondFactorError::InvalidChallenge => Failure::unauthenticated(
                Reason::ChallengeInvalid,
                "the challenge is invalid or expired; log in again",
            ),
            SecondFactorError::MethodNotAllowed => Failure::refused(
                Reason::MfaMethodNotAllowed,
                "this method cannot complete the challenge; use one of its `methods`",
            ),
            SecondFactorError::Rejected => Failure::refused(
                Reason::MfaCodeRejected,
                "the code is wrong or was already used",
            ),
            SecondFactorError::Locked => Failure::forbidden(
                Reason::MfaLocked,
                "Too many wrong codes: second factors are locked for a while.",
            ),
            SecondFactorError::Throttled(secs) => {
                Failure::rate_limited(std::time::Duration::from_secs(secs.into()))
            }
            SecondFactorError::NoSuchFactor => Failure::refused(
                Reason::MfaMethodUnavailable,
                "no active second factor sends codes by this method",
            ),
            SecondFactorError::StepUpRequired => Failure::forbidden(
                Reason::StepUpRequired,
                "Confirm with a second factor first: POST /v1/auth/mfa/step-up.",
            ),
            SecondFactorError::ReauthenticationRequired => Failure::forbidden(
                Reason::ReauthenticationRequired,
                "Give your password again first: POST /v1/auth/reauthenticate.",
            ),
            SecondFactorError::Login(e) => e.into(),
            SecondFactorError::Policy(e) => e.into(),
            SecondFactorError::Database(e) => e.into(),
        }
    }
}

/// The mfa policy's answer for a login whose password was right. Without an mfa component a
/// customer with no second factor logs in with the password; one who has a factor, and any
/// staff member, is refused (failing closed), since nothing could check a second factor.
pub(crate) async fn requirement(
    state: &Authenticator,
    user_id: &str,
    email: &str,
    origin: &Origin<'_>,
) -> Result<LoginRequirement, LoginError> {
    let mut conn = state.caps.db.acquire().await?;
    let roles = users::roles(&mut conn, user_id).await?;
    let new_device = match origin.device_token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => !devices::is_known(&mut conn, user_id, &sha256_hex(token)).await?,
        None => true,
    };
    let password_reset_at = password_resets::last_reset_at(&mut conn, user_id).await?;
    drop(conn);
    let failures = state
        .guard
        .recent_failures(&crate::guard::Guard::account_key(email))
        .await;
    let risk = login_risk(new_device, failures);
    let staff = roles
        .iter()
        .any(|role| super::STAFF_ROLES.contains(&role.as_str()));
    let context = LoginContext {
        user: user_id.to_owned(),
        roles,
        new_device,
        password_reset_at,
        risk,
    };
    match state
        .runtime
        .mfa_login_requirement(&state.caps, context)
        .await
    {
        Ok(requirement) => Ok(requirement),
        // Staff reach other customers' data: with nothing to check a second factor, they wait.
        Err(CallError::NotLoaded(ComponentKind::Mfa))
            if !staff && !has_factor(state, user_id).await? =>
        {
            Ok(LoginRequirement::None)
        }
        Err(e) => Err(LoginError::Policy(e)),
    }
}

/// Risk added by a device the customer has never logged in from.
const NEW_DEVICE_RISK: u64 = 40;
/// Risk added by each wrong password since the last good login.
const FAILURE_RISK: u64 = 20;

/// The host's risk score for a login whose password was right, 0 to 100: a device never seen
/// before, and the wrong passwords tried since the last good login. The mfa policy compares it
/// with its configurable threshold (70 by default: a new device after two wrong passwords, or
/// four wrong passwords on a known device).
pub fn login_risk(new_device: bool, recent_failures: u64) -> u8 {
    let device = if new_device { NEW_DEVICE_RISK } else { 0 };
    (device + FAILURE_RISK.saturating_mul(recent_failures)).min(100) as u8
}

/// Whether the customer has an active second factor. Asked only when no mfa component is
/// loaded: a customer without one goes ahead on the password, one with a factor is refused
/// (failing closed), since nothing could check it.
async fn has_factor(state: &Authenticator, user_id: &str) -> sqlx::Result<bool> {
    let mut conn = state.caps.db.acquire().await?;
    Ok(factors::list(&mut conn, user_id)
        .await?
        .iter()
        .any(|f| f.activated_at.is_some()))
}

/// Starts a login challenge; returns its token (only its hash is kept).
pub(crate) async fn open_challenge(
    state: &Authenticator,
    user_id: &str,
    origin: &Origin<'_>,
    methods: &[Method],
    now: i64,
) -> Result<String, LoginError> {
    let token = random_token();
    let (key, _) = challenge_key(&token);
    let challenge = Challenge {
        user_id: user_id.to_owned(),
        ip: origin.ip.to_owned(),
        user_agent: origin.user_agent.to_owned(),
        device_token: origin.device_token.map(str::to_owned),
        methods: methods.to_vec(),
    };
    let value = serde_json::to_string(&challenge).map_err(anyhow::Error::from)?;
    state.caps.kv.set(&key, &value, CHALLENGE_TTL).await;
    let mut conn = state.caps.db.acquire().await?;
    let data = json!({ "user_id": user_id, "methods": methods });
    trail::record(&mut conn, "auth.second_factor_required", user_id, data, now).await?;
    state.caps.outbox_committed.notify_one();
    Ok(token)
}

/// The challenge a login token names, if it is live.
async fn live_challenge(state: &Authenticator, token: &str) -> Option<LiveChallenge> {
    let (key, id) = challenge_key(token.trim());
    let (stored, _) = state.caps.kv.get(&key).await?;
    let challenge = serde_json::from_str(&stored).ok()?;
    Some(LiveChallenge {
        key,
        id,
        stored,
        challenge,
    })
}

/// A live challenge: where it is kept, its id, its stored form (to spend it by) and content.
struct LiveChallenge {
    key: String,
    id: String,
    stored: String,
    challenge: Challenge,
}

fn sent(sending: Sending) -> Result<(), SecondFactorError> {
    match sending {
        Sending::Sent => Ok(()),
        Sending::Throttled(secs) => Err(SecondFactorError::Throttled(secs)),
        Sending::Unavailable => Err(SecondFactorError::NoSuchFactor),
    }
}

/// Sends a one-time code (email or SMS) for a login challenge that allows `method`.
pub async fn send_login_code(
    state: &Authenticator,
    challenge_token: &str,
    method: Method,
) -> Result<(), SecondFactorError> {
    let LiveChallenge {
        id: challenge_id,
        challenge,
        ..
    } = live_challenge(state, challenge_token)
        .await
        .ok_or(SecondFactorError::InvalidChallenge)?;
    if !challenge.methods.contains(&method) {
        return Err(SecondFactorError::MethodNotAllowed);
    }
    let sending = state
        .runtime
        .mfa_send_code(&state.caps, challenge.user_id, Some(challenge_id), method)
        .await?;
    sent(sending)
}

/// Sends a one-time code (email or SMS) for the caller's next step-up.
pub async fn send_step_up_code(
    state: &Authenticator,
    claims: &Claims,
    method: Method,
) -> Result<(), SecondFactorError> {
    let sending = state
        .runtime
        .mfa_send_code(&state.caps, claims.sub.clone(), None, method)
        .await?;
    sent(sending)
}

/// The second step of a login: the code for the challenge, then the session.
pub async fn complete_login(
    state: &Authenticator,
    challenge_token: &str,
    method: Method,
    code: &str,
) -> Result<TokenPair, SecondFactorError> {
    let LiveChallenge {
        key,
        id: challenge_id,
        stored,
        challenge,
    } = live_challenge(state, challenge_token)
        .await
        .ok_or(SecondFactorError::InvalidChallenge)?;
    if !challenge.methods.contains(&method) {
        return Err(SecondFactorError::MethodNotAllowed);
    }
    let verification = state
        .runtime
        .mfa_verify(
            &state.caps,
            challenge.user_id.clone(),
            Some(challenge_id),
            method,
            code.to_owned(),
        )
        .await?;
    match verification {
        Verification::Accepted => {}
        Verification::Rejected | Verification::Replayed => return Err(SecondFactorError::Rejected),
        Verification::ChallengeDead => {
            state.caps.kv.delete(&key).await;
            return Err(SecondFactorError::InvalidChallenge);
        }
        Verification::Locked => {
            state.caps.kv.delete(&key).await;
            return Err(SecondFactorError::Locked);
        }
    }
    // Spent: the same token never opens a second session — of two requests racing with it,
    // one deletes it and the other is refused.
    if !state.caps.kv.delete_if(&key, &stored).await {
        return Err(SecondFactorError::InvalidChallenge);
    }
    let mut conn = state.caps.db.acquire().await?;
    let user = users::get(&mut conn, &challenge.user_id).await?;
    drop(conn);
    // Locked or closed while the challenge waited: no session.
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
        return Err(SecondFactorError::InvalidChallenge);
    };
    let origin = Origin {
        ip: &challenge.ip,
        user_agent: &challenge.user_agent,
        device_token: challenge.device_token.as_deref(),
    };
    let now = state.caps.clock.unix();
    Ok(open_session(state, &user, &origin, Some(method), now).await?)
}

/// A fresh second factor for the caller's session, for the sensitive actions that follow.
pub async fn step_up(
    state: &Authenticator,
    claims: &Claims,
    method: Method,
    code: &str,
) -> Result<(), SecondFactorError> {
    let verification = state
        .runtime
        .mfa_verify(
            &state.caps,
            claims.sub.clone(),
            None,
            method,
            code.to_owned(),
        )
        .await?;
    match verification {
        Verification::Accepted => {
            let mut conn = state.caps.db.acquire().await?;
            let now = state.caps.clock.unix();
            sessions::mark_second_factor(&mut conn, &claims.sid, now).await?;
            Ok(())
        }
        Verification::Locked => Err(SecondFactorError::Locked),
        Verification::Rejected | Verification::Replayed | Verification::ChallengeDead => {
            Err(SecondFactorError::Rejected)
        }
    }
}

/// Asks the mfa policy what `action` needs of this session first: a fresh second factor, the
/// password again, or nothing. Without an mfa component only actions that need no proof from a
/// customer without factors go ahead; anything else fails closed.
pub async fn require_fresh(
    state: &Authenticator,
    claims: &Claims,
    action: SensitiveAction,
) -> Result<(), SecondFactorError> {
    let mut conn = state.caps.db.acquire().await?;
    let proofs = SessionProofs {
        second_factor_at: sessions::second_factor_at(&mut conn, &claims.sid).await?,
        password_at: sessions::password_at(&mut conn, &claims.sid).await?,
    };
    drop(conn);
    let proof = match state
        .runtime
        .mfa_proof_required(&state.caps, claims.sub.clone(), action, proofs)
        .await
    {
        Ok(proof) => proof,
        Err(CallError::NotLoaded(ComponentKind::Mfa))
            if matches!(
                action,
                SensitiveAction::ChangePassword
                    | SensitiveAction::RemoveFactor
                    | SensitiveAction::NewRecoveryCodes
            ) && !has_factor(state, &claims.sub).await? =>
        {
            Proof::None
        }
        Err(e) => return Err(e.into()),
    };
    match proof {
        Proof::None => Ok(()),
        Proof::SecondFactor => Err(SecondFactorError::StepUpRequired),
        Proof::Password => Err(SecondFactorError::ReauthenticationRequired),
    }
}

/// `user_id`'s second factors (active or still being enrolled) and how many unused recovery
/// codes they hold.
pub async fn enrolled(
    state: &Authenticator,
    user_id: &str,
) -> sqlx::Result<(Vec<factors::Factor>, u32)> {
    let mut conn = state.caps.db.acquire().await?;
    let list = factors::list(&mut conn, user_id).await?;
    let left = factors::recovery_codes_left(&mut conn, user_id).await?;
    Ok((list, left))
}

#[cfg(test)]
mod tests {
    use super::login_risk;

    #[test]
    fn risk_grows_with_a_new_device_and_wrong_passwords() {
        assert_eq!(login_risk(false, 0), 0);
        assert_eq!(login_risk(true, 0), 40);
        assert_eq!(login_risk(false, 2), 40);
        assert_eq!(login_risk(true, 2), 80);
        assert_eq!(login_risk(true, 9), 100);
        assert_eq!(login_risk(false, u64::MAX), 100);
    }
}
