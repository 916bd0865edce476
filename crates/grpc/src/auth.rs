//! `usvc.v1.AuthService`: token validation for the gateway, introspection, session revocation.

use tonic::{Request, Response, Status};
use usvc_proto::usvc::v1::{
    IntrospectTokenRequest, IntrospectTokenResponse, RevokeSessionRequest, RevokeSessionResponse,
    ValidateTokenRequest, ValidateTokenResponse, auth_service_server::AuthService,
};

use super::{caller, required_user, status, timestamp};
use usvc_core::{
    admin,
    auth::{access, access::Denied, sessions},
    state::AppState,
};

pub struct AuthApi(pub AppState);

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        caller(&request)?;
        let token = request.into_inner().access_token;
        if token.is_empty() {
            return Err(status::invalid_field(
                "access_token",
                "required",
                "the access token to validate",
            ));
        }
        let claims = access::authenticate(&self.0, &token)
            .await
            .map_err(status::of)?;
        Ok(Response::new(ValidateTokenResponse {
            subject: claims.sub,
            session_id: claims.sid,
            roles: claims.roles,
            amr: claims.amr,
            expires_at: Some(timestamp(claims.exp)),
        }))
    }

    async fn introspect_token(
        &self,
        request: Request<IntrospectTokenRequest>,
    ) -> Result<Response<IntrospectTokenResponse>, Status> {
        caller(&request)?;
        let token = request.into_inner().token;
        let claims = match access::authenticate(&self.0, &token).await {
            Ok(claims) => claims,
            Err(Denied::Unavailable(e)) => return Err(status::of(e)),
            Err(_) => return Ok(Response::new(IntrospectTokenResponse::default())),
        };
        Ok(Response::new(IntrospectTokenResponse {
            active: true,
            subject: claims.sub,
            session_id: claims.sid,
            roles: claims.roles,
            amr: claims.amr,
            issuer: claims.iss,
            audience: claims.aud,
            issued_at: Some(timestamp(claims.iat)),
            expires_at: Some(timestamp(claims.exp)),
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<RevokeSessionRequest>,
    ) -> Result<Response<RevokeSessionResponse>, Status> {
        caller(&request)?;
        let actor = required_user(&self.0, &request).await?;
        let request = request.into_inner();
        if request.session_id.is_empty() {
            return Err(status::invalid_field(
                "session_id",
                "required",
                "the session to end",
            ));
        }
        let (user_id, reason) = if request.user_id.is_empty() || request.user_id == actor.sub {
            (actor.sub.as_str(), "ended_by_customer")
        } else if admin::is_admin(&actor) {
            (request.user_id.as_str(), "ended_by_admin")
        } else {
            return Err(Status::permission_denied(
                "only the admin role may end another customer's session",
            ));
        };
        // Someone else's session is "not found", as over HTTP: the answer confirms nothing.
        if sessions::end(&self.0, user_id, &request.session_id, reason)
            .await
            .map_err(status::of)?
        {
            Ok(Response::new(RevokeSessionResponse {}))
        } else {
            Err(Status::not_found("no live session with that id"))
        }
    }
}
