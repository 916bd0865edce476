//! `usvc:host/users`: the customer directory. The date of birth crosses opened: the component
//! decides on it; it is sealed only at rest.

use wasmtime::component::HasData;

use crate::{
    bindings::usvc::host::users::{CreateError, Host, NewUser, User, UserStatus},
    clock::Clock,
    secrets::SecretBox,
    store::users::{self as store, UserStatus as Status},
};

use super::{Tx, failed};

/// The `users` capability: the call's unit of work, the clock and the key dates of birth are
/// sealed with.
pub struct Directory<'a> {
    pub clock: &'a dyn Clock,
    pub secrets: &'a SecretBox,
    pub tx: Tx<'a>,
}

impl HasData for Directory<'static> {
    type Data<'a> = Directory<'a>;
}

/// The applicant's details as the store takes them.
fn from_wit(user: NewUser) -> store::NewUser {
    store::NewUser {
        email: user.email,
        legal_name: user.legal_name,
        date_of_birth: user.date_of_birth,
        country_of_residence: user.country_of_residence,
        phone: user.phone,
    }
}

/// A date of birth that does not open (another key, or altered) is a fault of the host's data,
/// not of the component or the infrastructure: the call traps.
fn to_wit(secrets: &SecretBox, user: store::User) -> wasmtime::Result<User> {
    let date_of_birth = user.date_of_birth(secrets).map_err(|e| {
        wasmtime::Error::msg(format!(
            "users: a sealed date of birth does not open: {e:#}"
        ))
    })?;
    Ok(User {
        id: user.id,
        email: user.email,
        legal_name: user.legal_name,
        date_of_birth,
        country_of_residence: user.country_of_residence,
        phone: user.phone,
        status: match user.status {
            Status::PendingVerification => UserStatus::PendingVerification,
            Status::Active => UserStatus::Active,
            Status::Locked => UserStatus::Locked,
            Status::Closed => UserStatus::Closed,
        },
        created_at: user.created_at,
    })
}

impl Host for Directory<'_> {
    async fn find_by_email(&mut self, email: String) -> wasmtime::Result<Option<User>> {
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("users.find-by-email"))?;
        let user = store::find_by_email(conn, &email)
            .await
            .map_err(failed("users.find-by-email"))?;
        user.map(|u| to_wit(self.secrets, u)).transpose()
    }

    async fn get(&mut self, id: String) -> wasmtime::Result<Option<User>> {
        let conn = self.tx.conn().await.map_err(failed("users.get"))?;
        store::get(conn, &id)
            .await
            .map_err(failed("users.get"))?
            .map(|u| to_wit(self.secrets, u))
            .transpose()
    }

    async fn create(&mut self, user: NewUser) -> wasmtime::Result<Result<User, CreateError>> {
        let now = self.clock.unix();
        let new = from_wit(user);
        let secrets = self.secrets;
        let conn = self.tx.conn().await.map_err(failed("users.create"))?;
        let created = store::create(conn, secrets, &new, now)
            .await
            .map_err(failed("users.create"))?;
        match created {
            Some(user) => Ok(Ok(to_wit(secrets, user)?)),
            None => Ok(Err(CreateError::EmailTaken)),
        }
    }

    async fn replace_pending(&mut self, id: String, user: NewUser) -> wasmtime::Result<bool> {
        let now = self.clock.unix();
        let new = from_wit(user);
        let secrets = self.secrets;
        let conn = self
            .tx
            .conn()
            .await
            .map_err(failed("users.replace-pending"))?;
        store::replace_pending(conn, secrets, &id, &new, now)
            .await
            .map_err(failed("users.replace-pending"))
    }

    async fn set_status(&mut self, id: String, status: UserStatus) -> wasmtime::Result<bool> {
        let status = match status {
            UserStatus::PendingVerification => Status::PendingVerification,
            UserStatus::Active => Status::Active,
            UserStatus::Locked => Status::Locked,
            UserStatus::Closed => Status::Closed,
        };
        let now = self.clock.unix();
        let conn = self.tx.conn().await.map_err(failed("users.set-status"))?;
        store::set_status(conn, &id, status, now)
            .await
            .map_err(failed("users.set-status"))
    }
}
