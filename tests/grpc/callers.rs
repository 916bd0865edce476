//! Caller authentication: only the services in `USVC_GRPC_CALLERS`, with a short-lived token
//! signed by their own key, reach an RPC.

use tonic::{Code, Request};
use usvc_proto::usvc::v1::{GetUserRequest, ValidateTokenRequest};
use usvc_tests::{
    Backend, GATEWAY, GATEWAY_SEED, backends, caller_token, caller_token_with, spawn,
};

use super::{Grpc, expect_code, with_caller};

async fn only_trusted_callers_with_valid_tokens_get_through(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app
        .onboarded_customer("caller@example.com", "a long passphrase")
        .await;
    let validate = || ValidateTokenRequest {
        access_token: access.clone(),
    };

    // The trusted gateway, with a fresh token: allowed.
    let ok = grpc.auth().validate_token(grpc.call(validate())).await;
    assert!(ok.is_ok(), "{ok:?}");

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let next_year = now + 365 * 86_400;
    let refused = [
        ("no token at all", None),
        (
            "a token issued a year from now, to live a year",
            Some(caller_token_with(
                GATEWAY,
                GATEWAY_SEED,
                serde_json::json!({ "iat": next_year, "exp": next_year + 300 }),
            )),
        ),
        (
            "a token not valid before next year",
            Some(caller_token_with(
                GATEWAY,
                GATEWAY_SEED,
                serde_json::json!({ "iat": now, "nbf": next_year, "exp": now + 300 }),
            )),
        ),
        (
            "an unknown service",
            Some(caller_token("intruder", GATEWAY_SEED, 300)),
        ),
        (
            "the gateway's name, another key",
            Some(caller_token(GATEWAY, 9, 300)),
        ),
        (
            "an expired token",
            Some(caller_token(GATEWAY, GATEWAY_SEED, -120)),
        ),
        (
            "a token living over an hour",
            Some(caller_token(GATEWAY, GATEWAY_SEED, 7200)),
        ),
        ("a customer's access token", Some(access.clone())),
        ("garbage", Some("not-a-jwt".to_owned())),
    ];
    for (case, token) in refused {
        let request = match &token {
            Some(token) => with_caller(validate(), token),
            None => Request::new(validate()),
        };
        let status = expect_code(
            grpc.auth().validate_token(request).await,
            Code::Unauthenticated,
        );
        assert!(status.message().contains("caller"), "{case}: {status:?}");
        let request = match &token {
            Some(token) => with_caller(
                GetUserRequest {
                    user_id: "x".into(),
                },
                token,
            ),
            None => Request::new(GetUserRequest {
                user_id: "x".into(),
            }),
        };
        expect_code(grpc.users().get_user(request).await, Code::Unauthenticated);
    }
}

async fn a_service_not_configured_is_refused_even_with_a_good_signature(backend: Backend) {
    let mut options = usvc_tests::Spawn::new(backend);
    options.grpc_callers = vec![("ledger".to_owned(), 5)];
    let app = usvc_tests::spawn_with(options).await;
    let grpc = Grpc::connect(&app).await;
    let request = ValidateTokenRequest {
        access_token: "x".into(),
    };
    // The gateway is not trusted by this deployment.
    expect_code(
        grpc.auth().validate_token(grpc.call(request.clone())).await,
        Code::Unauthenticated,
    );
    // The ledger is: its call gets past authentication to the token check.
    let status = expect_code(
        grpc.auth()
            .validate_token(with_caller(request, &caller_token("ledger", 5, 60)))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(super::reason(&status), "TOKEN_INVALID");
}

backends!(
    only_trusted_callers_with_valid_tokens_get_through,
    a_service_not_configured_is_refused_even_with_a_good_signature
);
