//! `UserService` over gRPC: reads for the bank's services, paging, and locking by an admin.

use tonic::Code;
use usvc_proto::usvc::v1::{
    GetUserByEmailRequest, GetUserRequest, ListUsersRequest, UpdateStatusRequest, UserStatus,
    ValidateTokenRequest,
};
use usvc_tests::{Backend, application, backends, spawn};

use super::{Grpc, expect_code, reason, violated_fields, violation_codes};

fn get(id: &str) -> GetUserRequest {
    GetUserRequest {
        user_id: id.to_owned(),
    }
}

async fn get_user_and_by_email(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let access = app
        .onboarded_customer("reader@example.com", "a long passphrase")
        .await;
    let other = app
        .onboarded_customer("someone@example.com", "a long passphrase")
        .await;
    let id = app.user_id("reader@example.com").await;

    let user = grpc
        .users()
        .get_user(grpc.call(get(&id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.id, id);
    assert_eq!(user.email, "reader@example.com");
    assert_eq!(user.status(), UserStatus::Active);
    assert_eq!(user.roles, ["customer"]);
    assert_eq!(user.legal_name, "Ada Lovelace");
    assert!(user.created_at.is_some());

    // By email, case-insensitively; internal callers only.
    let by_email = grpc
        .users()
        .get_user_by_email(grpc.call(GetUserByEmailRequest {
            email: " READER@example.com ".to_owned(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_email, user);
    expect_code(
        grpc.users()
            .get_user_by_email(grpc.for_user(
                GetUserByEmailRequest {
                    email: "someone@example.com".to_owned(),
                },
                &access,
            ))
            .await,
        Code::PermissionDenied,
    );
    let missing = GetUserByEmailRequest {
        email: "nobody@example.com".to_owned(),
    };
    expect_code(
        grpc.users().get_user_by_email(grpc.call(missing)).await,
        Code::NotFound,
    );
    let status = expect_code(
        grpc.users()
            .get_user_by_email(grpc.call(GetUserByEmailRequest {
                email: "not an address".to_owned(),
            }))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["email"]);

    // Acting for a customer: their own record only.
    let own = grpc
        .users()
        .get_user(grpc.for_user(get(&id), &access))
        .await;
    assert_eq!(own.unwrap().into_inner().id, id);
    expect_code(
        grpc.users().get_user(grpc.for_user(get(&id), &other)).await,
        Code::PermissionDenied,
    );
    // A bad customer token is an authentication failure, not a silent internal call.
    let status = expect_code(
        grpc.users()
            .get_user(grpc.for_user(get(&id), "garbage"))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "TOKEN_INVALID");

    expect_code(
        grpc.users().get_user(grpc.call(get("no-such-id"))).await,
        Code::NotFound,
    );
    let status = expect_code(
        grpc.users().get_user(grpc.call(get(""))).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["user_id"]);
}

/// `GetUserByEmail` parses the address as registration and a contact change do (`usvc-types`):
/// the same code, `email.invalid`, and an address no one could register is not looked up.
async fn an_email_address_is_read_as_at_registration(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    for address in ["not an address", "ada@localhost", "ada@example.c0m", ""] {
        let status = expect_code(
            grpc.users()
                .get_user_by_email(grpc.call(GetUserByEmailRequest {
                    email: address.to_owned(),
                }))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), ["email"], "{address:?}");
        assert_eq!(violation_codes(&status), ["email.invalid"], "{address:?}");
    }
}

async fn list_users_pages_through_everyone_once(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    for i in 0..5 {
        app.onboarded_customer(&format!("page{i}@example.com"), "a long passphrase")
            .await;
    }
    // One customer who never verified.
    let reply = app
        .post(
            "/v1/auth/register",
            application("pending@example.com", "a long passphrase"),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = grpc
            .users()
            .list_users(grpc.call(ListUsersRequest {
                page_size: 2,
                page_token: token.clone(),
                status: 0,
            }))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.users.len() <= 2);
        seen.extend(page.users.into_iter().map(|u| u.email));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..5).map(|i| format!("page{i}@example.com")).collect();
    expected.push("pending@example.com".to_owned());
    assert_eq!(seen, expected, "creation order, each once");

    let pending = grpc
        .users()
        .list_users(grpc.call(ListUsersRequest {
            page_size: 0,
            page_token: String::new(),
            status: UserStatus::PendingVerification as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    let emails: Vec<_> = pending.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["pending@example.com"]);
    assert!(pending.next_page_token.is_empty());

    for (size, page_token, status, field) in [
        (501, "", 0, "page_size"),
        (-1, "", 0, "page_size"),
        (10, "not-a-token", 0, "page_token"),
        (10, "", 99, "status"),
    ] {
        let status = expect_code(
            grpc.users()
                .list_users(grpc.call(ListUsersRequest {
                    page_size: size,
                    page_token: page_token.to_owned(),
                    status,
                }))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(violated_fields(&status), [field]);
    }
    let access = app
        .onboarded_login("page0@example.com", "a long passphrase")
        .await;
    expect_code(
        grpc.users()
            .list_users(grpc.for_user(ListUsersRequest::default(), &access))
            .await,
        Code::PermissionDenied,
    );
}

fn set_status(user_id: &str, status: UserStatus, reason: &str) -> UpdateStatusRequest {
    UpdateStatusRequest {
        user_id: user_id.to_owned(),
        status: status as i32,
        reason: reason.to_owned(),
    }
}

async fn an_admin_locks_and_unlocks_an_account(backend: Backend) {
    let app = spawn(backend).await;
    let grpc = Grpc::connect(&app).await;
    let victim = app
        .onboarded_customer("victim@example.com", "a long passphrase")
        .await;
    let victim_id = app.user_id("victim@example.com").await;
    app.onboarded_customer("boss@example.com", "a long passphrase")
        .await;
    let boss_id = app.user_id("boss@example.com").await;

    // Not an admin yet: refused, nothing changes.
    let customer = app
        .onboarded_login("boss@example.com", "a long passphrase")
        .await;
    let status = expect_code(
        grpc.users()
            .update_status(grpc.for_user(
                set_status(&victim_id, UserStatus::Locked, "fraud"),
                &customer,
            ))
            .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason(&status), "ADMIN_ROLE_REQUIRED");
    // No customer token at all.
    expect_code(
        grpc.users()
            .update_status(grpc.call(set_status(&victim_id, UserStatus::Locked, "fraud")))
            .await,
        Code::Unauthenticated,
    );

    let admin = app
        .make_admin("boss@example.com", "a long passphrase", &customer)
        .await;
    let roles = super::claims_of(&admin)["roles"].clone();
    assert_eq!(roles, serde_json::json!(["customer", "admin"]));

    // Bad requests: every broken field named.
    let status = expect_code(
        grpc.users()
            .update_status(grpc.for_user(set_status(&victim_id, UserStatus::Closed, " "), &admin))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["status", "reason"]);
    expect_code(
        grpc.users()
            .update_status(grpc.for_user(set_status("nobody", UserStatus::Locked, "fraud"), &admin))
            .await,
        Code::NotFound,
    );

    // Lock: the account's sessions end at once and login is refused.
    let locked = grpc
        .users()
        .update_status(grpc.for_user(
            set_status(&victim_id, UserStatus::Locked, "suspected fraud"),
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(locked.status(), UserStatus::Locked);
    let status = expect_code(
        grpc.auth()
            .validate_token(grpc.call(ValidateTokenRequest {
                access_token: victim.clone(),
            }))
            .await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&status), "SESSION_ENDED");
    let login = app
        .post(
            "/v1/auth/login",
            serde_json::json!({ "email": "victim@example.com", "password": "a long passphrase" }),
        )
        .await;
    assert_eq!(login.status, 403, "{:?}", login.body);
    let trail = app.audit(&victim_id).await;
    let change = trail
        .iter()
        .find(|e| e.event_type == "user.status_changed")
        .expect("the change is audited");
    assert_eq!(change.data["by"], serde_json::json!(boss_id));
    assert_eq!(change.data["to"], "locked");
    assert_eq!(change.data["reason"], "suspected fraud");

    // Unlock: the customer can log in again.
    let unlocked = grpc
        .users()
        .update_status(grpc.for_user(
            set_status(&victim_id, UserStatus::Active, "cleared"),
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unlocked.status(), UserStatus::Active);
    app.onboarded_login("victim@example.com", "a long passphrase")
        .await;

    // A customer who never verified cannot be activated by staff.
    let reply = app
        .post(
            "/v1/auth/register",
            application("unverified@example.com", "a long passphrase"),
        )
        .await;
    assert_eq!(reply.status, 202);
    let pending_id = app.user_id("unverified@example.com").await;
    expect_code(
        grpc.users()
            .update_status(grpc.for_user(
                set_status(&pending_id, UserStatus::Active, "please"),
                &admin,
            ))
            .await,
        Code::FailedPrecondition,
    );
}

backends!(
    get_user_and_by_email,
    an_email_address_is_read_as_at_registration,
    list_users_pages_through_everyone_once,
    an_admin_locks_and_unlocks_an_account
);
