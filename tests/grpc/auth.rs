//! `AuthService` over gRPC: ValidateToken, IntrospectToken, RevokeSession.

use serde_json::json;
use tonic::Code;
use usvc_proto::usvc::v1::{IntrospectTokenRequest, RevokeSessionRequest, ValidateTokenRequest};
use usvc_tests::{Backend, backends, spawn};

use super::{Grpc, claims_of, expect_code, reason, violated_fields};

fn validate(token: &str) -> ValidateTokenRequest {
    ValidateTokenRequest {
        access_token: token.to_owned(),
    }
}

async fn validate_token_answers_who_and_how(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app
        .onboarded_customer("val@example.com", "a long passphrase")
        .await;
    let user_id = app.user_id("val@example.com").await;

    let reply = grpc
        .auth()
        .validate_token(grpc.call(validate(&access)))
        .await
        .expect("a valid token validates")
        .into_inner();
    assert_eq!(reply.subject, user_id);
    assert!(!reply.session_id.is_empty());
    assert_eq!(reply.roles, ["customer"]);
    assert_eq!(reply.amr, ["pwd"]);
    let expires = reply.expires_at.expect("an expiry").seconds;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        expires > now && expires <= now + 15 * 60 + 5,
        "{expires} vs {now}"
    );

    // Garbage and a tampered signature.
    let status = expect_code(
        grpc.auth()
            .validate_token(grpc.call(validate("nonsense")))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "TOKEN_INVALID");
    let mut tampered = access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let status = expect_code(
        grpc.auth()
            .validate_token(grpc.call(validate(&tampered)))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "TOKEN_INVALID");

    // Empty: a field violation, not an authentication failure.
    let status = expect_code(
        grpc.auth().validate_token(grpc.call(validate(""))).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["access_token"]);

    // After logout over HTTP, the same token is refused at once.
    let logout = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let status = expect_code(
        grpc.auth()
            .validate_token(grpc.call(validate(&access)))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "SESSION_ENDED");
}

async fn introspection_never_fails_for_a_bad_token(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app
        .onboarded_customer("intro@example.com", "a long passphrase")
        .await;
    let reply = grpc
        .auth()
        .introspect_token(grpc.call(IntrospectTokenRequest {
            token: access.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(reply.active);
    assert_eq!(reply.subject, app.user_id("intro@example.com").await);
    assert_eq!(reply.issuer, "usvc");
    assert_eq!(reply.audience, "usvc");
    assert_eq!(reply.roles, ["customer"]);
    let (iat, exp) = (
        reply.issued_at.unwrap().seconds,
        reply.expires_at.unwrap().seconds,
    );
    assert_eq!(exp - iat, 15 * 60);

    for token in ["", "nonsense", "a.b.c"] {
        let reply = grpc
            .auth()
            .introspect_token(grpc.call(IntrospectTokenRequest {
                token: token.to_owned(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(!reply.active, "{token:?}");
        assert!(reply.subject.is_empty() && reply.session_id.is_empty());
    }
}

async fn revoke_session_acts_for_the_customer(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let mine = app
        .onboarded_customer("rev@example.com", "a long passphrase")
        .await;
    let second = app
        .onboarded_login("rev@example.com", "a long passphrase")
        .await;
    let theirs = app
        .onboarded_customer("other@example.com", "a long passphrase")
        .await;
    let sid = |token: &str| claims_of(token)["sid"].as_str().unwrap().to_owned();
    let revoke = |session: &str, user: &str| RevokeSessionRequest {
        session_id: session.to_owned(),
        user_id: user.to_owned(),
    };

    // Without the customer's token: refused.
    expect_code(
        grpc.auth()
            .revoke_session(grpc.call(revoke(&sid(&second), "")))
            .await,
        Code::Unauthenticated,
    );
    // Someone else's session, named by id only: not found, and it lives on.
    expect_code(
        grpc.auth()
            .revoke_session(grpc.for_user(revoke(&sid(&theirs), ""), &mine))
            .await,
        Code::NotFound,
    );
    // Naming another customer needs the admin role.
    let other_id = app.user_id("other@example.com").await;
    expect_code(
        grpc.auth()
            .revoke_session(grpc.for_user(revoke(&sid(&theirs), &other_id), &mine))
            .await,
        Code::PermissionDenied,
    );
    assert!(
        grpc.auth()
            .validate_token(grpc.call(validate(&theirs)))
            .await
            .is_ok()
    );
    // Empty session id: a field violation.
    let status = expect_code(
        grpc.auth()
            .revoke_session(grpc.for_user(revoke("", ""), &mine))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["session_id"]);

    // The customer's own second session: ended, and refused everywhere at once.
    grpc.auth()
        .revoke_session(grpc.for_user(revoke(&sid(&second), ""), &mine))
        .await
        .expect("own session ends");
    let status = expect_code(
        grpc.auth()
            .validate_token(grpc.call(validate(&second)))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "SESSION_ENDED");
    assert_eq!(app.get("/v1/users/me", Some(&second)).await.status, 401);
    assert_eq!(app.get("/v1/users/me", Some(&mine)).await.status, 200);
    let user_id = app.user_id("rev@example.com").await;
    let trail = app.audit(&user_id).await;
    assert!(trail.iter().any(|e| e.event_type == "auth.session_revoked"
        && e.data["reason"] == json!("ended_by_customer")
        && e.data["session_id"] == json!(sid(&second))));

    // An administrator may end anyone's session.
    let admin = app
        .make_admin("rev@example.com", "a long passphrase", &mine)
        .await;
    grpc.auth()
        .revoke_session(grpc.for_user(revoke(&sid(&theirs), &other_id), &admin))
        .await
        .expect("an admin ends another customer's session");
    assert_eq!(app.get("/v1/users/me", Some(&theirs)).await.status, 401);
    assert_eq!(app.audit_count(&other_id, "auth.session_revoked").await, 1);
}

backends!(
    validate_token_answers_who_and_how,
    introspection_never_fails_for_a_bad_token,
    revoke_session_acts_for_the_customer
);
