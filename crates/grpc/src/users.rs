//! `usvc.v1.UserService`: the customer directory for the bank's services, and account locking.
//! A record is whole for the customer it belongs to and for a caller granted `personal-data`;
//! any other caller reads it masked.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tonic::{Request, Response, Status};
use usvc_proto::usvc::v1::{
    self as pb, GetUserByEmailRequest, GetUserRequest, ListUsersRequest, ListUsersResponse,
    UpdateStatusRequest, user_service_server::UserService,
};
use usvc_types::{Email, Violation};

use super::{Caller, acting_user, caller, internal_only, required_user, status, timestamp};
use usvc_core::{
    admin, customers,
    state::AppState,
    store::users::{User, UserStatus},
};

pub struct UserApi(pub AppState);

const DEFAULT_PAGE: i32 = 50;
const MAX_PAGE: i32 = 500;

#[tonic::async_trait]
impl UserService for UserApi {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller = caller(&request)?.clone();
        let actor = acting_user(&self.0, &request).await?;
        let id = request.into_inner().user_id;
        if id.is_empty() {
            return Err(status::invalid_field(
                "user_id",
                "required",
                "the customer's id",
            ));
        }
        if let Some(actor) = &actor
            && actor.sub != id
            && !admin::is_admin(actor)
        {
            return Err(Status::permission_denied(
                "a customer may read only their own record",
            ));
        }
        let user = customers::get(&self.0.caps, &id)
            .await
            .map_err(status::of)?
            .ok_or_else(|| Status::not_found("no such user"))?;
        let whole = caller.personal_data || actor.is_some_and(|a| a.sub == user.id);
        Ok(Response::new(self.view(user, whole).await?))
    }

    async fn get_user_by_email(
        &self,
        request: Request<GetUserByEmailRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let whole = caller(&request)?.personal_data;
        internal_only(&request)?;
        // Parsed as at registration and at a contact change: one answer and one code.
        let email = Email::parse(&request.into_inner().email)
            .map_err(|error| status::invalid(&[Violation::of("email", error)]))?
            .into_string();
        let user = customers::find_by_email(&self.0.caps, &email)
            .await
            .map_err(status::of)?
            .ok_or_else(|| Status::not_found("no such user"))?;
        Ok(Response::new(self.view(user, whole).await?))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let whole = caller(&request)?.personal_data;
        internal_only(&request)?;
        let request = request.into_inner();
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(status::invalid_field(
                    "page_size",
                    "out_of_range",
                    "between 1 and 500, or 0 for the default of 50",
                ));
            }
        };
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(parse_page_token(token).ok_or_else(|| {
                status::invalid_field(
                    "page_token",
                    "invalid_page_token",
                    "use a next_page_token from a previous response",
                )
            })?),
        };
        let filter = match pb::UserStatus::try_from(request.status) {
            Ok(pb::UserStatus::Unspecified) => None,
            Ok(s) => Some(from_pb(s).expect("every specified status maps")),
            Err(_) => {
                return Err(status::invalid_field(
                    "status",
                    "unknown_status",
                    "not a UserStatus value",
                ));
            }
        };
        let after_ref = after.as_ref().map(|(at, id)| (*at, id.as_str()));
        // One more than asked tells whether another page follows.
        let mut page = customers::page(&self.0.caps, after_ref, filter, i64::from(size) + 1)
            .await
            .map_err(status::of)?;
        let next_page_token = if page.len() > size as usize {
            page.truncate(size as usize);
            page.last()
                .map(|u| page_token(u.created_at, &u.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut users = Vec::with_capacity(page.len());
        for user in page {
            users.push(self.view(user, whole).await?);
        }
        Ok(Response::new(ListUsersResponse {
            users,
            next_page_token,
        }))
    }

    async fn update_status(
        &self,
        request: Request<UpdateStatusRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let caller: Caller = caller(&request)?.clone();
        let actor = required_user(&self.0, &request).await?;
        let request = request.into_inner();
        let target = pb::UserStatus::try_from(request.status)
            .ok()
            .and_then(from_pb)
            .ok_or_else(|| {
                status::invalid_field(
                    "status",
                    "status_not_settable",
                    "USER_STATUS_LOCKED, or USER_STATUS_ACTIVE to unlock",
                )
            })?;
        let user = admin::set_status(&self.0, &actor, &request.user_id, target, &request.reason)
            .await
            .map_err(status::of)?;
        let whole = caller.personal_data || actor.sub == user.id;
        Ok(Response::new(self.view(user, whole).await?))
    }
}

impl UserApi {
    /// The record as the API gives it: `whole`, or with its personal data masked.
    async fn view(&self, user: User, whole: bool) -> Result<pb::User, Status> {
        let roles = customers::roles(&self.0.caps, &user.id)
            .await
            .map_err(status::of)?;
        let date_of_birth = customers::date_of_birth(&self.0.caps, &user).map_err(|e| {
            tracing::error!(error = %format!("{e:#}"), "a sealed date of birth does not open");
            Status::internal("internal error")
        })?;
        let phone = user.phone.unwrap_or_default();
        let (email, legal_name, date_of_birth, phone) = if whole {
            (user.email, user.legal_name, date_of_birth, phone)
        } else {
            let masked = (mask::email(&user.email), mask::name(&user.legal_name));
            (masked.0, masked.1, String::new(), mask::phone(&phone))
        };
        Ok(pb::User {
            status: to_pb(user.status) as i32,
            date_of_birth,
            id: user.id,
            email,
            legal_name,
            country_of_residence: user.country_of_residence,
            phone,
            roles,
            created_at: Some(timestamp(user.created_at)),
        })
    }
}

/// Personal data as a caller without `personal-data` reads it: enough to recognise a customer
/// one already knows, not to learn who they are. The date of birth is left out.
mod mask {
    /// `a***@example.com`.
    pub fn email(email: &str) -> String {
        match email.split_once('@') {
            Some((local, domain)) => format!("{}***@{domain}", first(local)),
            None => "***".to_owned(),
        }
    }

    /// `A*** L***`.
    pub fn name(name: &str) -> String {
        let words: Vec<String> = name
            .split_whitespace()
            .map(|w| format!("{}***", first(w)))
            .collect();
        words.join(" ")
    }

    /// `+*********23`: the last two digits.
    pub fn phone(phone: &str) -> String {
        let chars: Vec<char> = phone.chars().collect();
        let keep = chars.len().saturating_sub(2);
        chars
            .iter()
            .enumerate()
            .map(|(i, c)| if i >= keep || *c == '+' { *c } else { '*' })
            .collect()
    }

    fn first(text: &str) -> String {
        text.chars().next().map(String::from).unwrap_or_default()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn masks_keep_only_a_hint() {
            assert_eq!(super::email("ada.lovelace@example.com"), "a***@example.com");
            assert_eq!(super::name("Ada King Lovelace"), "A*** K*** L***");
            assert_eq!(super::phone("+447700900123"), "+**********23");
            assert_eq!(super::phone(""), "");
            assert_eq!(super::email("broken"), "***");
        }
    }
}

fn to_pb(status: UserStatus) -> pb::UserStatus {
    match status {
        UserStatus::PendingVerification => pb::UserStatus::PendingVerification,
        UserStatus::Active => pb::UserStatus::Active,
        UserStatus::Locked => pb::UserStatus::Locked,
        UserStatus::Closed => pb::UserStatus::Closed,
    }
}

fn from_pb(status: pb::UserStatus) -> Option<UserStatus> {
    match status {
        pb::UserStatus::Unspecified => None,
        pb::UserStatus::PendingVerification => Some(UserStatus::PendingVerification),
        pb::UserStatus::Active => Some(UserStatus::Active),
        pb::UserStatus::Locked => Some(UserStatus::Locked),
        pb::UserStatus::Closed => Some(UserStatus::Closed),
    }
}

/// An opaque cursor: where the previous page ended, in creation order.
fn page_token(created_at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn parse_page_token(token: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (at, id) = raw.split_once(':')?;
    (!id.is_empty()).then(|| Some((at.parse().ok()?, id.to_owned())))?
}
