//! gRPC integration tests: the real application's `usvc.v1` services, health and reflection,
//! through a real tonic client on loopback, against SQLite and PostgreSQL.

mod auth;
mod callers;
mod discovery;
mod profile;
mod users;

use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;
use usvc_proto::usvc::v1::{
    auth_service_client::AuthServiceClient, profile_service_client::ProfileServiceClient,
    user_service_client::UserServiceClient,
};
pub use usvc_tests::claims_of;
use usvc_tests::{GATEWAY, GATEWAY_SEED, TestApp, caller_token};

/// A connection to a test app's gRPC port, calling as the trusted `gateway` service.
pub struct Grpc {
    channel: Channel,
    caller: String,
}

impl Grpc {
    pub async fn connect(app: &TestApp) -> Self {
        let channel = Channel::from_shared(app.grpc.clone())
            .expect("a valid URI")
            .connect()
            .await
            .expect("the gRPC port accepts connections");
        Self {
            channel,
            caller: caller_token(GATEWAY, GATEWAY_SEED, 300),
        }
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// `message` as an internal call from the gateway.
    pub fn call<T>(&self, message: T) -> Request<T> {
        with_caller(message, &self.caller)
    }

    /// `message` from the gateway, acting for the customer whose access token is `access`.
    pub fn for_user<T>(&self, message: T, access: &str) -> Request<T> {
        let mut request = self.call(message);
        request
            .metadata_mut()
            .insert("x-user-token", access.parse().expect("ASCII token"));
        request
    }

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel())
    }

    pub fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel())
    }

    pub fn profile(&self) -> ProfileServiceClient<Channel> {
        ProfileServiceClient::new(self.channel())
    }
}

pub fn with_caller<T>(message: T, caller_token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {caller_token}")
            .parse()
            .expect("ASCII token"),
    );
    request
}

/// Asserts `status` has `code`, and returns it for further checks.
#[track_caller]
pub fn expect_code(result: Result<impl std::fmt::Debug, Status>, code: Code) -> Status {
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), code, "{status:?}");
    status
}

/// The fields an `INVALID_ARGUMENT` status names in its `BadRequest` details.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("field violations in the details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The `ErrorInfo` reason of `status`.
pub fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .expect("an ErrorInfo in the details")
        .reason
}

/// The `code` part of every field violation (`"<code>: <message>"`), sorted.
pub fn violation_codes(status: &Status) -> Vec<String> {
    let mut codes: Vec<String> = status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|v| {
            v.description
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    codes.sort();
    codes
}
