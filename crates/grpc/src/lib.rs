//! The gRPC front door: `usvc.v1` (AuthService, UserService, ProfileService) served with tonic on
//! its own port, beside the standard health service and reflection. Every RPC calls the same
//! domain code as the HTTP API; this module only authenticates callers and translates.

mod auth;
pub mod callers;
mod observe;
mod profile;
mod status;
mod users;

use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::{Request, Status, service::Routes, transport::server::TcpIncoming};
use usvc_proto::usvc::v1::{
    auth_service_server::AuthServiceServer, profile_service_server::ProfileServiceServer,
    user_service_server::UserServiceServer,
};

use callers::{Caller, CallerKeys};
use usvc_core::{
    auth::{access, tokens::Claims},
    state::AppState,
};

/// Metadata key of the end user's access token, for RPCs that act for a customer.
pub const USER_TOKEN: &str = "x-user-token";

/// Every gRPC service usvc serves, health and reflection included.
pub async fn routes(state: AppState, callers: Arc<CallerKeys>) -> anyhow::Result<Routes> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<AuthServiceServer<auth::AuthApi>>()
        .await;
    health
        .set_serving::<UserServiceServer<users::UserApi>>()
        .await;
    health
        .set_serving::<ProfileServiceServer<profile::ProfileApi>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(usvc_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let mut routes = Routes::builder();
    routes
        .add_service(health_service)
        .add_service(reflection)
        .add_service(AuthServiceServer::new(auth::AuthApi(state.clone())))
        .add_service(UserServiceServer::new(users::UserApi(state.clone())))
        .add_service(ProfileServiceServer::new(profile::ProfileApi(state)));
    let guarded = routes
        .routes()
        .into_axum_router()
        .layer(axum::middleware::from_fn_with_state(
            callers,
            callers::admit,
        ));
    Ok(Routes::from(guarded))
}

/// Serves `routes` on `listener` until `shutdown` resolves, then lets calls in flight finish.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "usvc gRPC listening");
    tonic::transport::Server::builder()
        .layer(observe::ObserveLayer)
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await?;
    Ok(())
}

/// The calling service; [`callers::admit`] has put it there before any handler runs.
fn caller<T>(request: &Request<T>) -> Result<&Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .ok_or_else(|| Status::unauthenticated("a caller token is required"))
}

/// The customer the call acts for, when it carries `x-user-token`; a bad token is refused.
async fn acting_user<T>(state: &AppState, request: &Request<T>) -> Result<Option<Claims>, Status> {
    let Some(value) = request.metadata().get(USER_TOKEN) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .map_err(|_| Status::unauthenticated("x-user-token is not a token"))?;
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let claims = access::authenticate(state, token)
        .await
        .map_err(status::of)?;
    if let Some(user) = request.extensions().get::<observe::CallUser>() {
        user.set(&claims.sub);
    }
    Ok(Some(claims))
}

/// The customer the call must act for.
async fn required_user<T>(state: &AppState, request: &Request<T>) -> Result<Claims, Status> {
    acting_user(state, request).await?.ok_or_else(|| {
        Status::unauthenticated(
            "this RPC acts for a customer: send their access token in x-user-token",
        )
    })
}

/// Refuses a call that acts for a customer: the RPC is for the bank's services only.
fn internal_only<T>(request: &Request<T>) -> Result<(), Status> {
    if request.metadata().contains_key(USER_TOKEN) {
        return Err(Status::permission_denied(
            "this RPC is for internal callers only, not on a customer's behalf",
        ));
    }
    Ok(())
}

fn timestamp(unix: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: unix,
        nanos: 0,
    }
}
