//! `usvc:host/credentials`: passwords are hashed here (Argon2id) and codes checked here; no hash
//! or stored code is ever returned to a component.

use crate::codes::{self, CodeCheck as Check};
use crate::store::credentials as store;
use crate::{
    CallState,
    bindings::usvc::host::credentials::{CodeCheck, Host},
};

use super::{CapabilityFailure, failed};

/// Longer passwords are refused before hashing, so nobody can make the host hash megabytes.
const MAX_PASSWORD_BYTES: usize = 1024;

impl Host for CallState {
    async fn set_password(&mut self, user: String, password: String) -> wasmtime::Result<()> {
        if password.len() > MAX_PASSWORD_BYTES {
            wasmtime::bail!(
                "credentials.set-password: password longer than {MAX_PASSWORD_BYTES} bytes"
            );
        }
        // Hash before touching the transaction, so no database lock is held while hashing.
        let hash = self.caps.passwords.hash(password).await.map_err(|source| {
            wasmtime::Error::from(CapabilityFailure {
                capability: "credentials.set-password",
                source,
            })
        })?;
        self.password_hashes += 1;
        let now = self.caps.clock.unix();
        let conn = self
            .conn()
            .await
            .map_err(failed("credentials.set-password"))?;
        store::set_password_hash(conn, &user, &hash, now)
            .await
            .map_err(failed("credentials.set-password"))
    }

    async fn check_email_code(
        &mut self,
        user: String,
        code: String,
    ) -> wasmtime::Result<CodeCheck> {
        let now = self.caps.clock.unix();
        let secrets = self.caps.secrets.clone();
        let conn = self
            .conn()
            .await
            .map_err(failed("credentials.check-email-code"))?;
        let check = codes::check_email_code(conn, &secrets, &user, &code, now)
            .await
            .map_err(failed("credentials.check-email-code"))?;
        Ok(match check {
            Check::Valid => CodeCheck::Valid,
            Check::Invalid => CodeCheck::Invalid,
            Check::Expired => CodeCheck::Expired,
            Check::Exhausted => CodeCheck::Exhausted,
        })
    }
}
