//! Staff actions on a customer's account — locking and unlocking — with who acted and why.
//! HTTP (`/v1/admin/...`) and gRPC (`UserService.UpdateStatus`) both call these.

use crate::failure::{Failure, Reason};
use serde_json::json;

use crate::auth::Authenticator;
use crate::{
    auth::tokens::Claims,
    runtime::onboarding::Violation,
    store::{
        self, sessions,
        users::{self, User, UserStatus},
    },
    trail,
};

pub use crate::auth::{ADMIN, STAFF_ROLES};

/// What granting a role did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The customer with this id now holds the role (`user.role_granted` recorded).
    Granted(String),
    /// They held it already; nothing was written.
    AlreadyHeld(String),
}

/// Grants a staff role to the customer with `email`, from the operator's command line
/// (`usvc users grant`). It ends their sessions and takes effect at their next login, which needs
/// a second factor.
pub async fn grant_role(
    db: &crate::store::Database,
    email: &str,
    role: &str,
    now: i64,
) -> anyhow::Result<Grant> {
    anyhow::ensure!(
        STAFF_ROLES.contains(&role),
        "unknown role {role:?}: admin, compliance or support"
    );
    let mut tx = store::begin(db).await?;
    let email = email.trim().to_lowercase();
    let user = users::find_by_email(&mut tx, &email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no customer has that email address"))?;
    if !users::grant_role(&mut tx, &user.id, role, now).await? {
        return Ok(Grant::AlreadyHeld(user.id));
    }
    let data = json!({ "user_id": user.id, "role": role });
    trail::record(&mut tx, "user.role_granted", &user.id, data, now).await?;
    // Sessions opened before the grant end: the role arrives only with a new login, and staff
    // logins need a second factor.
    let ended = sessions::revoke_all_except(&mut tx, &user.id, None, now).await?;
    trail::sessions_revoked(&mut tx, &user.id, &ended, "role_granted", now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, role, "staff role granted");
    Ok(Grant::Granted(user.id))
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the acting user does not hold the admin role")]
    NotAdmin,
    #[error("the request breaks {} rule(s)", .0.len())]
    Invalid(Vec<Violation>),
    #[error("no such user")]
    NotFound,
    /// The account is in a state this change cannot leave (closed, or not yet verified).
    #[error("{0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotAdmin => Failure::forbidden(
                Reason::AdminRoleRequired,
                "this action needs the admin role",
            ),
            AdminError::Invalid(violations) => Failure::invalid(violations),
            AdminError::NotFound => Failure::not_found("no such user"),
            AdminError::Conflict(detail) => Failure::conflict(Reason::Conflict, detail),
            AdminError::Database(e) => e.into(),
        }
    }
}

/// Whether the caller may act as `role` staff: the token carries the role and its session gave
/// a second factor (`amr` `mfa`). A role on a password alone is never enough, whatever issued it.
pub fn acts_as(claims: &Claims, role: &str) -> bool {
    claims.roles.iter().any(|r| r == role) && claims.amr.iter().any(|m| m == "mfa")
}

pub fn is_admin(claims: &Claims) -> bool {
    acts_as(claims, ADMIN)
}

/// Locks (`Locked`) or unlocks (`Active`) `user_id`. Locking ends every session at once.
/// Setting the status an account already has changes nothing and records nothing.
pub async fn set_status(
    state: &Authenticator,
    actor: &Claims,
    user_id: &str,
    target: UserStatus,
    reason: &str,
) -> Result<User, AdminError> {
    if !is_admin(actor) {
        return Err(AdminError::NotAdmin);
    }
    let reason = reason.trim();
    let mut violations = Vec::new();
    if !matches!(target, UserStatus::Locked | UserStatus::Active) {
        violations.push(violation(
            "status",
            "status_not_settable",
            "only `locked` and `active` (unlock) can be set",
        ));
    }
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        violations.push(violation(
            "reason",
            "reason_required",
            "give a reason of 1 to 500 characters, without control characters",
        ));
    }
    if !violations.is_empty() {
        return Err(AdminError::Invalid(violations));
    }

    let now = state.caps.clock.unix();
    let mut tx = store::begin(&state.caps.db).await?;
    let mut user = users::get(&mut tx, user_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if user.status == target {
        return Ok(user);
    }
    match (user.status, target) {
        (UserStatus::Closed, _) => return Err(AdminError::Conflict("the account is closed")),
        (UserStatus::PendingVerification, UserStatus::Active) => {
            return Err(AdminError::Conflict(
                "the account is not verified yet; only the customer can activate it",
            ));
        }
        _ => {}
    }
    users::set_status(&mut tx, user_id, target, now).await?;
    let data = json!({
        "user_id": user_id,
        "from": user.status.as_str(),
        "to": target.as_str(),
        "by": actor.sub,
        "reason": reason,
    });
    trail::record(&mut tx, "user.status_changed", user_id, data, now).await?;
    let ended = if target == UserStatus::Locked {
        let ended = sessions::revoke_all_except(&mut tx, user_id, None, now).await?;
        trail::sessions_revoked(&mut tx, user_id, &ended, "account_locked", now).await?;
        ended
    } else {
        Vec::new()
    };
    trail::commit(tx, &state.caps).await?;
    state.sessions.ended(ended.iter().map(String::as_str)).await;
    tracing::info!(user_id, by = %actor.sub, to = target.as_str(), "account status changed");
    user.status = target;
    Ok(user)
}

fn violation(field: &str, code: &str, message: &str) -> Violation {
    Violation {
        code: code.to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}
