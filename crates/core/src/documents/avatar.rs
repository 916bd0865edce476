//! The customer's avatar: one PNG or JPEG image (by its magic bytes, at most
//! [`MAX_BYTES`]) kept in the object store under `avatars/<user id>`. The host receives and
//! serves it itself; no URL is presigned for it.

use super::{
    objects::ObjectStore,
    sniff::{self, JPEG, PNG},
};
use crate::failure::Failure;

/// The largest avatar accepted.
pub const MAX_BYTES: usize = 1 << 20;

fn key(user_id: &str) -> String {
    format!("avatars/{user_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    #[error("an avatar is a PNG or JPEG image")]
    NotAnImage,
    #[error("an avatar is at most {MAX_BYTES} bytes")]
    TooLarge,
    #[error("object storage: {0:#}")]
    Storage(#[from] anyhow::Error),
}

impl From<AvatarError> for Failure {
    fn from(e: AvatarError) -> Self {
        match e {
            AvatarError::TooLarge => {
                Failure::invalid_field("avatar", "avatar.too_large", "An avatar is at most 1 MiB.")
            }
            AvatarError::NotAnImage => {
                Failure::invalid_field("avatar", "avatar.not_an_image", "Send a PNG or JPEG image.")
            }
            AvatarError::Storage(e) => Failure::unavailable(e),
        }
    }
}

/// Replaces the customer's avatar; answers its content type.
pub async fn replace(
    objects: &dyn ObjectStore,
    user_id: &str,
    image: Vec<u8>,
) -> Result<&'static str, AvatarError> {
    if image.len() > MAX_BYTES {
        return Err(AvatarError::TooLarge);
    }
    let content_type = match sniff::content_type(&image) {
        Some(t) if t == PNG || t == JPEG => t,
        _ => return Err(AvatarError::NotAnImage),
    };
    objects.put(&key(user_id), image, content_type).await?;
    tracing::info!(user_id, content_type, "avatar replaced");
    Ok(content_type)
}

/// The customer's avatar and its content type, if they have one.
pub async fn get(
    objects: &dyn ObjectStore,
    user_id: &str,
) -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
    let Some(image) = objects.get(&key(user_id), MAX_BYTES as u64).await? else {
        return Ok(None);
    };
    let content_type = sniff::content_type(&image).unwrap_or("application/octet-stream");
    Ok(Some((image, content_type)))
}

/// Removes the customer's avatar (none is not an error).
pub async fn remove(objects: &dyn ObjectStore, user_id: &str) -> anyhow::Result<()> {
    objects.delete(&key(user_id)).await
}
