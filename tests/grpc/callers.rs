//! Caller authentication: only the services in `USVC_GRPC_CALLERS`, with a short-lived token
//! signed by their own key, reach an RPC.

use tonic::{Code, Request};
use usvc_proto::usvc::v1::{
    GetUserByEmailRequest, GetUserRequest, ListUsersRequest, ValidateTokenRequest,
};
use usvc_tests::{
    Backend, GATEWAY, GATEWAY_SEED, Spawn, backends, caller_token, caller_token_with, spawn,
    spawn_with,
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
    a_service_not_configured_is_refused_even_with_a_good_signature,
    each_caller_calls_only_the_rpcs_it_is_granted_and_reads_masked_data_unless_granted,
);

/// Three more services beside the gateway: `ledger` with no grants configured (the default:
/// token checks and calls for a customer), `crm` granted the directory but not personal data,
/// `kyc-ops` granted one RPC and personal data.
async fn each_caller_calls_only_the_rpcs_it_is_granted_and_reads_masked_data_unless_granted(
    backend: Backend,
) {
    let app = spawn_with(Spawn {
        grpc_callers: vec![
            (GATEWAY.to_owned(), GATEWAY_SEED),
            ("ledger".to_owned(), 21),
            ("crm".to_owned(), 22),
            ("kyc-ops".to_owned(), 23),
        ],
        grpc_grants: format!(
            "{GATEWAY}=AuthService/*,UserService/*,ProfileService/*,personal-data;\
             crm=UserService/ListUsers,UserService/GetUserByEmail,UserService/GetUser;\
             kyc-ops=UserService/GetUser,personal-data"
        ),
        ..Spawn::new(backend)
    })
    .await;
    let grpc = Grpc::connect(&app).await;
    let access = app
        .onboarded_customer("ada@example.com", "a long passphrase")
        .await;
    let id = app.user_id("ada@example.com").await;
    let [ledger, crm, kyc_ops] = [("ledger", 21), ("crm", 22), ("kyc-ops", 23)]
        .map(|(name, seed)| caller_token(name, seed, 300));
    let get = || GetUserRequest {
        user_id: id.clone(),
    };
    let list = || ListUsersRequest::default();
    let by_email = || GetUserByEmailRequest {
        email: "ada@example.com".into(),
    };

    // The ledger, with the default grants: token checks and a customer's own record.
    let validate = ValidateTokenRequest {
        access_token: access.clone(),
    };
    let validated = grpc
        .auth()
        .validate_token(with_caller(validate, &ledger))
        .await;
    assert!(validated.is_ok(), "{validated:?}");
    for refused in [
        grpc.users()
            .list_users(with_caller(list(), &ledger))
            .await
            .map(drop),
        grpc.users()
            .get_user_by_email(with_caller(by_email(), &ledger))
            .await
            .map(drop),
    ] {
        let status = expect_code(refused, Code::PermissionDenied);
        assert!(status.message().contains("ledger"), "{status:?}");
    }
    let masked = grpc
        .users()
        .get_user(with_caller(get(), &ledger))
        .await
        .unwrap()
        .into_inner();
    assert_masked(&masked);
    let mut own = with_caller(get(), &ledger);
    own.metadata_mut()
        .insert("x-user-token", access.parse().unwrap());
    let own = grpc.users().get_user(own).await.unwrap().into_inner();
    assert_eq!(
        own.email, "ada@example.com",
        "a customer's own record is whole"
    );
    assert_eq!(own.date_of_birth, "1990-12-10");

    // The CRM: the directory, masked; nothing else.
    let listed = grpc
        .users()
        .list_users(with_caller(list(), &crm))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.users.len(), 1);
    assert_masked(&listed.users[0]);
    let found = grpc
        .users()
        .get_user_by_email(with_caller(by_email(), &crm))
        .await
        .unwrap();
    assert_masked(found.get_ref());
    let validate = ValidateTokenRequest {
        access_token: access.clone(),
    };
    expect_code(
        grpc.auth()
            .validate_token(with_caller(validate, &crm))
            .await,
        Code::PermissionDenied,
    );

    // KYC operations: one RPC, personal data whole.
    let whole = grpc
        .users()
        .get_user(with_caller(get(), &kyc_ops))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(whole.email, "ada@example.com");
    assert_eq!(whole.legal_name, "Ada Lovelace");
    assert_eq!(whole.date_of_birth, "1990-12-10");
    assert_eq!(whole.phone, "+447700900123");
    expect_code(
        grpc.users().list_users(with_caller(list(), &kyc_ops)).await,
        Code::PermissionDenied,
    );
    // Health stays open to every prober.
    let health = tonic_health::pb::health_client::HealthClient::new(grpc.channel())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await;
    assert!(health.is_ok(), "{health:?}");
}

#[track_caller]
fn assert_masked(user: &usvc_proto::usvc::v1::User) {
    assert_eq!(user.email, "a***@example.com", "{user:?}");
    assert_eq!(user.legal_name, "A*** L***");
    assert_eq!(user.date_of_birth, "");
    assert_eq!(user.phone, "+**********23");
    assert_eq!(user.country_of_residence, "GB");
}
