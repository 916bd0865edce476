//! The devices a customer has logged in from: listed (marking the one the session came from),
//! renamed, or forgotten. Forgetting a device ends its sessions in the same transaction; its
//! next login counts as a new device. Someone else's device is "not found", never "forbidden".

use super::{Authenticator, tokens::Claims};
use crate::{
    failure::Failure,
    store::{
        self,
        devices::{self, Device},
        sessions,
    },
    trail,
};

/// The longest device name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The session's customer's devices, each with whether the session came from it.
pub async fn list(auth: &Authenticator, claims: &Claims) -> sqlx::Result<Vec<(Device, bool)>> {
    let mut conn = auth.caps.db.acquire().await?;
    let current = sessions::device_of(&mut conn, &claims.sid).await?;
    let list = devices::list(&mut conn, &claims.sub).await?;
    Ok(list
        .into_iter()
        .map(|device| {
            let current = current.as_deref() == Some(device.id.as_str());
            (device, current)
        })
        .collect())
}

/// Names one of `user_id`'s devices: trimmed, 1 to 64 characters, no control characters.
pub async fn rename(
    auth: &Authenticator,
    user_id: &str,
    device_id: &str,
    name: &str,
) -> Result<Device, Failure> {
    let name = name.trim();
    let problem = if name.is_empty() {
        Some(("name_required", "A device needs a name."))
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(("name_too_long", "A device name has at most 64 characters."))
    } else if name.chars().any(char::is_control) {
        Some((
            "name_invalid",
            "A device name cannot contain control characters.",
        ))
    } else {
        None
    };
    if let Some((code, message)) = problem {
        return Err(Failure::invalid_field("name", code, message));
    }
    let mut conn = auth.caps.db.acquire().await?;
    devices::rename(&mut conn, user_id, device_id, name)
        .await?
        .ok_or(Failure::not_found("no such device"))
}

/// Forgets one of `user_id`'s devices and ends its sessions.
pub async fn forget(auth: &Authenticator, user_id: &str, device_id: &str) -> Result<(), Failure> {
    let now = auth.caps.clock.unix();
    let mut tx = store::begin(&auth.caps.db).await?;
    let ended = sessions::revoke_by_device(&mut tx, user_id, device_id, now).await?;
    if !devices::delete(&mut tx, user_id, device_id).await? {
        return Err(Failure::not_found("no such device"));
    }
    trail::sessions_revoked(&mut tx, user_id, &ended, "device_forgotten", now).await?;
    trail::commit(tx, &auth.caps).await?;
    auth.sessions.ended(ended.iter().map(String::as_str)).await;
    Ok(())
}
