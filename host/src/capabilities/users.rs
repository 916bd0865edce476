//! `usvc:host/users`: the customer directory.

use crate::runtime::{
    CallState,
    bindings::usvc::host::users::{CreateError, Host, NewUser, User, UserStatus},
};
use crate::store::users::{self as store, UserStatus as Status};

use super::failed;

fn to_wit(user: store::User) -> User {
    User {
        id: user.id,
        email: user.email,
        legal_name: user.legal_name,
        date_of_birth: user.date_of_birth,
        country_of_residence: user.country_of_residence,
        phone: user.phone,
        status: match user.status {
            Status::PendingVerification => UserStatus::PendingVerification,
            Status::Active => UserStatus::Active,
            Status::Locked => UserStatus::Locked,
            Status::Closed => UserStatus::Closed,
        },
        created_at: user.created_at,
    }
}

impl Host for CallState {
    async fn find_by_email(&mut self, email: String) -> wasmtime::Result<Option<User>> {
        let conn = self.conn().await.map_err(failed("users.find-by-email"))?;
        let user = store::find_by_email(conn, &email)
            .await
            .map_err(failed("users.find-by-email"))?;
        Ok(user.map(to_wit))
    }

    async fn get(&mut self, id: String) -> wasmtime::Result<Option<User>> {
        let conn = self.conn().await.map_err(failed("users.get"))?;
        Ok(store::get(conn, &id)
            .await
            .map_err(failed("users.get"))?
            .map(to_wit))
    }

    async fn create(&mut self, user: NewUser) -> wasmtime::Result<Result<User, CreateError>> {
        let now = self.caps.clock.unix();
        let new = store::NewUser {
            email: user.email,
            legal_name: user.legal_name,
            date_of_birth: user.date_of_birth,
            country_of_residence: user.country_of_residence,
            phone: user.phone,
        };
        let conn = self.conn().await.map_err(failed("users.create"))?;
        let created = store::create(conn, &new, now)
            .await
            .map_err(failed("users.create"))?;
        Ok(created.map(to_wit).ok_or(CreateError::EmailTaken))
    }

    async fn set_status(&mut self, id: String, status: UserStatus) -> wasmtime::Result<bool> {
        let status = match status {
            UserStatus::PendingVerification => Status::PendingVerification,
            UserStatus::Active => Status::Active,
            UserStatus::Locked => Status::Locked,
            UserStatus::Closed => Status::Closed,
        };
        let now = self.caps.clock.unix();
        let conn = self.conn().await.map_err(failed("users.set-status"))?;
        store::set_status(conn, &id, status, now)
            .await
            .map_err(failed("users.set-status"))
    }
}
