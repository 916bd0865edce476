//! Devices: a login from a device not seen before is recorded, published and announced; a device
//! that sends its token back is recognised; customers rename and forget their devices, and end
//! every session but the current one.

use reqwest::Method;
use serde_json::{Value, json};
use usvc_tests::{Backend, Reply, TestApp, backends, spawn};

backends!(
    a_new_device_is_recorded_published_and_announced,
    a_device_that_sends_its_token_back_is_recognised,
    unknown_or_foreign_device_tokens_make_a_new_device,
    a_device_can_be_renamed,
    a_device_name_must_be_present_short_and_printable,
    forgetting_a_device_ends_its_sessions,
    another_customers_device_is_not_found,
    devices_need_a_live_session,
    ending_the_other_sessions_keeps_only_the_current_one,
);

const PASSWORD: &str = "difference engine 1822";
const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// A login from a browser behind `forwarded_for`, sending `device_token` when given.
async fn login_from(
    app: &TestApp,
    email: &str,
    agent: &str,
    forwarded_for: &str,
    device_token: Option<&str>,
) -> Value {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(token) = device_token {
        body["device_token"] = json!(token);
    }
    let response = app
        .http
        .post(app.url("/v1/auth/login"))
        .header("user-agent", agent)
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body
}

/// A request with an optional bearer token and JSON body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app.http.request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::read(request.send().await.unwrap()).await
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body:?}"))
}

async fn devices(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/v1/devices", Some(token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body.as_array().expect("a list").clone()
}

/// The device the request with `token` comes from, as listed.
async fn current_device(app: &TestApp, token: &str) -> Value {
    let list = devices(app, token).await;
    let current: Vec<&Value> = list.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1, "{list:?}");
    current[0].clone()
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/v1/sessions", Some(token)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body.as_array().expect("a list").clone()
}

async fn rename(app: &TestApp, token: &str, device_id: &str, name: &str) -> Reply {
    let path = format!("/v1/devices/{device_id}");
    call(
        app,
        Method::PATCH,
        &path,
        Some(token),
        Some(json!({"name": name})),
    )
    .await
}

async fn forget(app: &TestApp, token: &str, device_id: &str) -> Reply {
    let path = format!("/v1/devices/{device_id}");
    call(app, Method::DELETE, &path, Some(token), None).await
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.get("/v1/users/me", Some(token)).await.status
}

/// The published `auth.new_device` events of one customer.
async fn new_device_events(app: &TestApp, user_id: &str) -> Vec<Value> {
    app.events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.new_device" && e.data["user_id"] == user_id)
        .map(|e| e.data)
        .collect()
}

/// The `new_device` messages in a customer's mailbox.
async fn new_device_mail(app: &TestApp, email: &str) -> Vec<Value> {
    app.mailbox(email)
        .await
        .into_iter()
        .filter(|m| m["notice"] == "new_device")
        .collect()
}

/// The ids of the sessions the audit trail says ended for `reason`.
async fn revoked_for(app: &TestApp, user_id: &str, reason: &str) -> Vec<String> {
    let mut ids: Vec<String> = app
        .audit(user_id)
        .await
        .into_iter()
        .filter(|e| e.event_type == "auth.session_revoked" && e.data["reason"] == reason)
        .map(|e| e.data["session_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn a_new_device_is_recorded_published_and_announced(backend: Backend) {
    let app = spawn(backend).await;
    // The onboarding login sends no user agent and no forwarded address.
    app.onboarded_customer(ADA, PASSWORD).await;
    let login = login_from(&app, ADA, FIREFOX, "203.0.113.7, 198.51.100.23", None).await;
    assert_eq!(login["token_type"], "Bearer");
    assert!(
        login["expires_in"].as_u64().is_some_and(|s| s > 0),
        "{login}"
    );
    let device_token = field(&login, "device_token");
    assert!(device_token.len() >= 20, "{device_token}");
    let access = field(&login, "access_token");

    let list = devices(&app, access).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let firefox = current_device(&app, access).await;
    assert_eq!(firefox["name"], "Firefox on Linux");
    assert_eq!(firefox["user_agent"], FIREFOX);
    // The last forwarded address is the one the trusted gateway saw.
    assert_eq!(firefox["ip"], "198.51.100.23");
    assert!(firefox["first_seen_at"].as_i64().unwrap() > 0);
    assert_eq!(firefox["first_seen_at"], firefox["last_seen_at"]);
    let first = list.iter().find(|d| d["current"] == false).unwrap();
    assert_eq!(first["name"], "Unknown device");
    assert_eq!(first["user_agent"], "");
    assert_eq!(first["ip"], "127.0.0.1");
    assert_ne!(first["id"], firefox["id"]);
    // The device token is the client's secret: never listed.
    assert!(!json!(list).to_string().contains(device_token));

    let user_id = app.user_id(ADA).await;
    let published = new_device_events(&app, &user_id).await;
    assert_eq!(published.len(), 2, "{published:?}");
    let event = published
        .iter()
        .find(|e| e["device_id"] == firefox["id"])
        .expect("an auth.new_device for the Firefox device");
    assert_eq!(event["session_id"], app.get_session_id(&login).as_str());
    assert_eq!(event["user_id"], user_id.as_str());
    assert!(!event.to_string().contains(device_token));
    assert_eq!(app.audit_count(&user_id, "auth.new_device").await, 2);

    let mail = new_device_mail(&app, ADA).await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    for message in &mail {
        assert_eq!(message["to"], ADA);
        assert_eq!(message["user_id"], user_id.as_str());
        assert!(!field(message, "subject").is_empty());
        assert!(message.get("code").is_none(), "{message}");
    }
}

async fn a_device_that_sends_its_token_back_is_recognised(backend: Backend) {
    let app = spawn(backend).await;
    let onboarding = app.onboarded_customer(ADA, PASSWORD).await;
    let first = login_from(&app, ADA, FIREFOX, "198.51.100.23", None).await;
    let token = field(&first, "device_token");
    let device = current_device(&app, field(&first, "access_token")).await;
    let device_id = field(&device, "id");
    // Pretend that login was an hour ago: timestamps are whole seconds.
    sqlx::query(
        "UPDATE devices SET first_seen_at = first_seen_at - 3600, \
         last_seen_at = last_seen_at - 3600 WHERE id = $1",
    )
    .bind(device_id)
    .execute(&app.db)
    .await
    .unwrap();
    let user_id = app.user_id(ADA).await;
    let events_before = new_device_events(&app, &user_id).await.len();
    let mail_before = new_device_mail(&app, ADA).await.len();

    let newer_firefox = FIREFOX.replace("128.0", "129.0");
    let again = login_from(&app, ADA, &newer_firefox, "192.0.2.44", Some(token)).await;
    assert_eq!(field(&again, "device_token"), token);
    let access = field(&again, "access_token");
    let list = devices(&app, access).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let seen = current_device(&app, access).await;
    assert_eq!(seen["id"], device_id);
    assert_eq!(seen["name"], "Firefox on Linux");
    assert_eq!(seen["user_agent"], newer_firefox.as_str());
    assert_eq!(seen["ip"], "192.0.2.44");
    let first_seen = device["first_seen_at"].as_i64().unwrap() - 3600;
    assert_eq!(seen["first_seen_at"], first_seen);
    assert!(
        seen["last_seen_at"].as_i64().unwrap() >= first_seen + 3600,
        "{seen}"
    );
    assert_eq!(new_device_events(&app, &user_id).await.len(), events_before);
    assert_eq!(new_device_mail(&app, ADA).await.len(), mail_before);

    // Sessions name the device they run on.
    let sessions = sessions(&app, access).await;
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let on_firefox: Vec<String> = sessions
        .iter()
        .filter(|s| s["device_id"] == device_id)
        .inspect(|s| assert_eq!(s["device_name"], "Firefox on Linux"))
        .map(|s| field(s, "id").to_owned())
        .collect();
    assert_eq!(
        sorted(on_firefox),
        sorted(vec![app.get_session_id(&first), app.get_session_id(&again)])
    );
    let onboarding_session = sessions
        .iter()
        .find(|s| s["device_id"] != device_id)
        .unwrap();
    assert_eq!(onboarding_session["device_name"], "Unknown device");
    assert!(onboarding_session["device_id"].is_string());
    assert_eq!(me(&app, &onboarding).await, 200);
}

async fn unknown_or_foreign_device_tokens_make_a_new_device(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer(ADA, PASSWORD).await;
    let bob_access = app.onboarded_customer(BOB, PASSWORD).await;
    let ada = login_from(&app, ADA, FIREFOX, "198.51.100.23", None).await;
    let ada_token = field(&ada, "device_token");
    let ada_device = current_device(&app, field(&ada, "access_token")).await;

    // Bob presents Ada's device token: it is not one of his devices.
    let bob = login_from(&app, BOB, CHROME, "192.0.2.8", Some(ada_token)).await;
    assert_ne!(field(&bob, "device_token"), ada_token);
    let bob_device = current_device(&app, field(&bob, "access_token")).await;
    assert_ne!(bob_device["id"], ada_device["id"]);
    assert_eq!(bob_device["name"], "Chrome on Windows");
    let bob_id = app.user_id(BOB).await;
    let bob_events = new_device_events(&app, &bob_id).await;
    assert_eq!(bob_events.len(), 2, "{bob_events:?}");
    assert!(
        bob_events
            .iter()
            .any(|e| e["device_id"] == bob_device["id"])
    );
    assert_eq!(new_device_mail(&app, BOB).await.len(), 2);
    let bob_list = devices(&app, &bob_access).await;
    assert!(bob_list.iter().all(|d| d["id"] != ada_device["id"]));
    // Ada's device was not touched by Bob's login.
    let ada_list = devices(&app, field(&ada, "access_token")).await;
    let unchanged = ada_list
        .iter()
        .find(|d| d["id"] == ada_device["id"])
        .unwrap();
    assert_eq!(unchanged["ip"], "198.51.100.23");
    assert_eq!(unchanged["user_agent"], FIREFOX);

    // A token nobody was given makes a new device too.
    let made_up = login_from(&app, ADA, FIREFOX, "198.51.100.23", Some("made-up-token")).await;
    assert_ne!(field(&made_up, "device_token"), "made-up-token");
    assert_ne!(field(&made_up, "device_token"), ada_token);
    let third = current_device(&app, field(&made_up, "access_token")).await;
    assert_ne!(third["id"], ada_device["id"]);
    assert_eq!(
        devices(&app, field(&made_up, "access_token")).await.len(),
        3
    );
    let ada_id = app.user_id(ADA).await;
    assert_eq!(new_device_events(&app, &ada_id).await.len(), 3);
    assert_eq!(new_device_mail(&app, ADA).await.len(), 3);
}

async fn a_device_can_be_renamed(backend: Backend) {
    let app = spawn(backend).await;
    app.onboarded_customer(ADA, PASSWORD).await;
    let login = login_from(&app, ADA, FIREFOX, "198.51.100.23", None).await;
    let access = field(&login, "access_token");
    let device = current_device(&app, access).await;
    let device_id = field(&device, "id");

    let reply = rename(&app, access, device_id, "  Ada's laptop  ").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["id"], device_id);
    assert_eq!(reply.body["name"], "Ada's laptop");
    assert_eq!(reply.body["user_agent"], FIREFOX);
    assert_eq!(reply.body["first_seen_at"], device["first_seen_at"]);
    let listed = current_device(&app, access).await;
    assert_eq!(listed["name"], "Ada's laptop");
    let sessions = sessions(&app, access).await;
    let current = sessions.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["device_id"], device_id);
    assert_eq!(current["device_name"], "Ada's laptop");
    // The other device keeps its name.
    let list = devices(&app, access).await;
    let other = list.iter().find(|d| d["id"] != device_id).unwrap();
    assert_eq!(other["name"], "Unknown device");

    // The limit counts characters, not bytes.
    let long = "é".repeat(64);
    let reply = rename(&app, access, device_id, &long).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(current_device(&app, access).await["name"], long.as_str());
    // A recognised login does not put the derived name back.
    let token = field(&login, "device_token");
    let again = login_from(&app, ADA, FIREFOX, "198.51.100.23", Some(token)).await;
    let listed = current_device(&app, field(&again, "access_token")).await;
    assert_eq!(listed["id"], device_id);
    assert_eq!(listed["name"], long.as_str());
}

async fn a_device_name_must_be_present_short_and_printable(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer(ADA, PASSWORD).await;
    let device = current_device(&app, &access).await;
    let device_id = field(&device, "id");
    let too_long = "x".repeat(65);
    let cases = [
        ("", "name_required"),
        ("   ", "name_required"),
        (too_long.as_str(), "name_too_long"),
        ("line\nbreak", "name_invalid"),
        ("bell\u{7}", "name_invalid"),
    ];
    for (name, code) in cases {
        let reply = rename(&app, &access, device_id, name).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(
            reply.violation_codes(),
            [code],
            "{name:?}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["violations"][0]["field"], "name");
    }
    assert_eq!(
        current_device(&app, &access).await["name"],
        "Unknown device"
    );
    let reply = rename(&app, &access, device_id, &"x".repeat(64)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn forgetting_a_device_ends_its_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let onboarding = app.onboarded_customer(ADA, PASSWORD).await;
    let first = login_from(&app, ADA, FIREFOX, "198.51.100.23", None).await;
    let token = field(&first, "device_token");
    let second = login_from(&app, ADA, FIREFOX, "198.51.100.23", Some(token)).await;
    let chrome = login_from(&app, ADA, CHROME, "192.0.2.8", None).await;
    let caller = field(&chrome, "access_token");
    let firefox = current_device(&app, field(&first, "access_token")).await;
    let firefox_id = field(&firefox, "id");
    let user_id = app.user_id(ADA).await;
    // Each session is in use, so the revocation check believes it live for a while.
    for live in [&first, &second] {
        assert_eq!(me(&app, field(live, "access_token")).await, 200);
    }

    let reply = forget(&app, caller, firefox_id).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    // Both sessions on the device end at once, access and refresh alike.
    for ended in [&first, &second] {
        app.get("/v1/users/me", Some(field(ended, "access_token")))
            .await
            .assert_problem(401, "/problems/unauthorized");
        refresh(&app, field(ended, "refresh_token"))
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    assert_eq!(me(&app, caller).await, 200);
    assert_eq!(me(&app, &onboarding).await, 200);
    let list = devices(&app, caller).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|d| d["id"] != firefox_id));
    let live: Vec<String> = sessions(&app, caller)
        .await
        .iter()
        .map(|s| field(s, "id").to_owned())
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(!live.contains(&app.get_session_id(&first)));
    assert_eq!(
        revoked_for(&app, &user_id, "device_forgotten").await,
        sorted(vec![
            app.get_session_id(&first),
            app.get_session_id(&second)
        ])
    );

    // Forgotten means gone: a second time it is not found, and its token no longer counts.
    forget(&app, caller, firefox_id)
        .await
        .assert_problem(404, "/problems/not-found");
    let events_before = new_device_events(&app, &user_id).await.len();
    let back = login_from(&app, ADA, FIREFOX, "198.51.100.23", Some(token)).await;
    assert_ne!(field(&back, "device_token"), token);
    assert_ne!(
        current_device(&app, field(&back, "access_token")).await["id"],
        firefox_id
    );
    assert_eq!(
        new_device_events(&app, &user_id).await.len(),
        events_before + 1
    );
}

async fn another_customers_device_is_not_found(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    let bob_device = current_device(&app, &bob).await;
    let bob_device_id = field(&bob_device, "id");

    assert!(
        devices(&app, &ada)
            .await
            .iter()
            .all(|d| d["id"] != bob_device_id)
    );
    rename(&app, &ada, bob_device_id, "mine now")
        .await
        .assert_problem(404, "/problems/not-found");
    forget(&app, &ada, bob_device_id)
        .await
        .assert_problem(404, "/problems/not-found");
    // An id that exists nowhere answers the same.
    let nowhere = uuid::Uuid::new_v4().to_string();
    rename(&app, &ada, &nowhere, "mine now")
        .await
        .assert_problem(404, "/problems/not-found");
    forget(&app, &ada, &nowhere)
        .await
        .assert_problem(404, "/problems/not-found");

    assert_eq!(me(&app, &bob).await, 200);
    let unchanged = current_device(&app, &bob).await;
    assert_eq!(unchanged["id"], bob_device_id);
    assert_eq!(unchanged["name"], bob_device["name"]);
    let bob_id = app.user_id(BOB).await;
    assert_eq!(app.audit_count(&bob_id, "auth.session_revoked").await, 0);
}

async fn devices_need_a_live_session(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer(ADA, PASSWORD).await;
    let device_id = field(&current_device(&app, &access).await, "id").to_owned();
    let path = format!("/v1/devices/{device_id}");
    let rename_body = Some(json!({"name": "stolen"}));

    app.get("/v1/devices", None)
        .await
        .assert_problem(401, "/problems/unauthorized");
    call(&app, Method::PATCH, &path, None, rename_body.clone())
        .await
        .assert_problem(401, "/problems/unauthorized");
    call(&app, Method::DELETE, &path, None, None)
        .await
        .assert_problem(401, "/problems/unauthorized");
    app.get("/v1/devices", Some("not-a-token"))
        .await
        .assert_problem(401, "/problems/unauthorized");

    let logout = call(&app, Method::POST, "/v1/auth/logout", Some(&access), None).await;
    assert_eq!(logout.status, 204, "{:?}", logout.body);
    app.get("/v1/devices", Some(&access))
        .await
        .assert_problem(401, "/problems/unauthorized");
    call(&app, Method::PATCH, &path, Some(&access), rename_body)
        .await
        .assert_problem(401, "/problems/unauthorized");
    call(&app, Method::DELETE, &path, Some(&access), None)
        .await
        .assert_problem(401, "/problems/unauthorized");

    // None of it changed the device.
    let fresh = app.onboarded_login(ADA, PASSWORD).await;
    let list = devices(&app, &fresh).await;
    let kept = list.iter().find(|d| d["id"] == device_id.as_str());
    assert_eq!(kept.expect("still there")["name"], "Unknown device");
}

async fn ending_the_other_sessions_keeps_only_the_current_one(backend: Backend) {
    let app = spawn(backend).await;
    let onboarding = app.onboarded_customer(ADA, PASSWORD).await;
    let phone = login_from(&app, ADA, CHROME, "192.0.2.8", None).await;
    let tablet = login_from(&app, ADA, FIREFOX, "198.51.100.23", None).await;
    let laptop = login_from(&app, ADA, FIREFOX, "198.51.100.24", None).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    let caller = field(&laptop, "access_token");
    let user_id = app.user_id(ADA).await;
    let before: Vec<String> = sessions(&app, caller)
        .await
        .iter()
        .filter(|s| s["current"] == false)
        .map(|s| field(s, "id").to_owned())
        .collect();
    assert_eq!(before.len(), 3, "{before:?}");
    // Each session is in use, so the revocation check believes it live for a while.
    assert_eq!(me(&app, &onboarding).await, 200);
    for live in [&phone, &tablet] {
        assert_eq!(me(&app, field(live, "access_token")).await, 200);
    }

    let reply = call(
        &app,
        Method::DELETE,
        "/v1/sessions/others",
        Some(caller),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body, json!({"ended": 3}));
    app.get("/v1/users/me", Some(&onboarding))
        .await
        .assert_problem(401, "/problems/unauthorized");
    for ended in [&phone, &tablet] {
        app.get("/v1/users/me", Some(field(ended, "access_token")))
            .await
            .assert_problem(401, "/problems/unauthorized");
        refresh(&app, field(ended, "refresh_token"))
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    assert_eq!(me(&app, caller).await, 200);
    assert_eq!(
        refresh(&app, field(&laptop, "refresh_token")).await.status,
        200
    );
    let left = sessions(&app, caller).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
    assert_eq!(left[0]["id"], app.get_session_id(&laptop).as_str());
    assert_eq!(
        revoked_for(&app, &user_id, "ended_by_customer").await,
        sorted(before)
    );
    // Devices stay: only their sessions ended.
    assert_eq!(devices(&app, caller).await.len(), 4);
    // Another customer's sessions are not the caller's "others".
    assert_eq!(me(&app, &bob).await, 200);

    let again = call(
        &app,
        Method::DELETE,
        "/v1/sessions/others",
        Some(caller),
        None,
    )
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body, json!({"ended": 0}));
    call(&app, Method::DELETE, "/v1/sessions/others", None, None)
        .await
        .assert_problem(401, "/problems/unauthorized");
}
