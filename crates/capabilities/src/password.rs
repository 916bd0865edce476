//! Argon2id password hashing on a bounded blocking pool, so a flood of logins queues instead of
//! starving every other request of CPU.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::limits::PasswordHashing;

#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified when the account does not exist so that an
    /// unknown email costs the same time as a wrong password.
    decoy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(config: &PasswordHashing) -> anyhow::Result<Self> {
        metrics::gauge!("usvc_password_hashes_running").increment(0.0);
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid Argon2id parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = SaltString::generate(&mut OsRng);
        let decoy_hash = argon2
            .hash_password(decoy.as_str().as_bytes(), &SaltString::generate(&mut OsRng))
            .map_err(|e| anyhow::anyhow!("hashing the decoy password: {e}"))?
            .to_string();
        Ok(Self {
            argon2,
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            decoy_hash: Arc::new(decoy_hash),
        })
    }

    /// A PHC-format Argon2id hash with a fresh salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let argon2 = self.argon2.clone();
        self.run(move || {
            argon2
                .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await?
    }

    /// Checks `password` against `stored`; with no stored hash it still spends the time of one
    /// verification and answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let argon2 = self.argon2.clone();
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy_hash.as_ref().clone());
        let matches = self
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && matches)
    }

    /// Spends the time of one hash and discards it: for paths that must not be faster than
    /// the ones that hash, so that timing reveals nothing.
    pub async fn spend_one_hash(&self) -> anyhow::Result<()> {
        self.verify(String::new(), None).await.map(drop)
    }

    /// Runs `work` on the blocking pool under a permit that the work itself holds: a caller
    /// dropped mid-hash (a client hanging up) lets its hash finish but not a queued one start,
    /// so at most `max_concurrent` hashes run however many requests are abandoned.
    async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> anyhow::Result<R> {
        let permit = self.permits.clone().acquire_owned().await?;
        Ok(tokio::task::spawn_blocking(move || {
            let running = metrics::gauge!("usvc_password_hashes_running");
            running.increment(1.0);
            let result = work();
            running.decrement(1.0);
            drop(permit);
            result
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(&PasswordHashing {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = cheap();
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let hasher = cheap();
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn the_default_cost_is_owasps() {
        let config = PasswordHashing::default();
        assert_eq!(
            (config.memory_kib, config.iterations, config.parallelism),
            (19 * 1024, 2, 1)
        );
    }
}
