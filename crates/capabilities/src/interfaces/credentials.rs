//! `usvc:host/credentials`: passwords are hashed here (Argon2id) and codes checked here; no hash
//! or stored code is ever returned to a component.

use wasmtime::component::HasData;

use crate::codes::{self, CodeCheck as Check};
use crate::store::credentials as store;
use crate::{
    bindings::usvc::host::credentials::{CodeCheck, Host},
    clock::Clock,
    password::PasswordHasher,
    secrets::SecretBox,
};

use super::{CapabilityFailure, Tx, failed};

/// The `credentials` capability: the password hasher (and a count of the hashes this call
/// made), the clock, the key email codes are digested with, and the call's unit of work.
pub struct Passwords<'a> {
    pub clock: &'a dyn Clock,
    pub secrets: &'a SecretBox,
    pub hasher: &'a PasswordHasher,
    pub hashed: &'a mut u32,
    pub tx: Tx<'a>,
}

impl HasData for Passwords<'static> {
    type Data<'a> = Passwords<'a>;
}

/// Longer passwords are refused before hashing, so nobody can make the host hash megabytes.
const MAX_PASSWORD_BYTES: usize = 1024;

impl Host for Passwords<'_> {
    async fn set_password(&mut self, user: String, password: String) -> wasmtime::Result<()> {
        if password.len() > MAX_PASSWORD_BYTES {
            wasmtime::bail!(
                "credentials.set-password: password longer than {MAX_PASSWORD_BYTES} bytes"
            );
        }
        // Hash before touching the transaction, so no database lock is held while hashing.
        let hash = self.hasher.hash(password).await.map_err(|source| {
            wasmtime::Error::from(CapabilityFailure {
                capability: "credentials.set-password",
                source,
            })
        })?;
        *self.hashed += 1;
        let now = self.clock.unix();
        let conn = self
            .tx
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
        let now = self.clock.unix();
        let secrets = self.secrets;
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("credentials.check-email-code"))?;
        let check = codes::check_email_code(conn, secrets, &user, &code, now)
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
