//! A component call is one unit of work: when it refuses, traps, loops or blows its memory after
//! writing, nothing it wrote survives, the request gets a clean problem, and the host serves on.

use usvc_tests::{Backend, Spawn, application, backends, spawn_with};

/// An app whose onboarding component is the deliberately misbehaving chaos fixture.
async fn chaos_app(backend: Backend) -> usvc_tests::TestApp {
    let fixture = usvc_tests::components_dir().join("chaos-onboarding.wasm");
    assert!(
        fixture.exists(),
        "{} missing: run `make components`",
        fixture.display()
    );
    let dir = std::env::temp_dir().join(format!("usvc-chaos-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&fixture, dir.join("onboarding.wasm")).unwrap();
    spawn_with(Spawn {
        components_dir: dir,
        call_deadline_ms: 1000,
        ..Spawn::new(backend)
    })
    .await
}

fn chaos(behaviour: &str, email: &str) -> serde_json::Value {
    let mut body = application(email, "long enough secret");
    body["legal_name"] = behaviour.into();
    body
}

backends!(
    an_error_after_writing_leaves_nothing,
    a_trap_after_writing_leaves_nothing_and_the_host_serves_on,
    an_endless_loop_is_stopped_at_the_deadline,
    a_memory_blow_up_is_contained,
    each_kind_runs_under_its_own_limits_and_exceeding_one_is_counted,
);

async fn assert_nothing_written(app: &usvc_tests::TestApp) {
    assert!(
        app.users().await.is_empty(),
        "a user survived the failed call"
    );
    assert!(
        app.events().await.is_empty(),
        "an event survived the failed call"
    );
}

/// The next, well-behaved call succeeds and commits: the failure stayed with its request.
async fn assert_the_host_serves_on(app: &usvc_tests::TestApp) {
    let reply = app
        .post("/v1/auth/register", chaos("well-behaved", "ok@example.com"))
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(app.users().await.len(), 1);
}

async fn an_error_after_writing_leaves_nothing(backend: Backend) {
    let app = chaos_app(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            chaos("error-after-create", "e@example.com"),
        )
        .await;
    reply.assert_problem(422, "/problems/validation");
    assert_eq!(reply.violation_codes(), ["chaos.refused"]);
    assert_nothing_written(&app).await;
    assert!(app.mailbox("e@example.com").await.is_empty());
}

async fn a_trap_after_writing_leaves_nothing_and_the_host_serves_on(backend: Backend) {
    let app = chaos_app(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            chaos("trap-after-create", "t@example.com"),
        )
        .await;
    reply.assert_problem(500, "/problems/component-failed");
    assert_nothing_written(&app).await;

    assert_the_host_serves_on(&app).await;
}

async fn an_endless_loop_is_stopped_at_the_deadline(backend: Backend) {
    let app = chaos_app(backend).await;
    let started = std::time::Instant::now();
    let reply = app
        .post(
            "/v1/auth/register",
            chaos("loop-after-create", "l@example.com"),
        )
        .await;
    reply.assert_problem(503, "/problems/component-timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_nothing_written(&app).await;
    assert_the_host_serves_on(&app).await;
}

async fn a_memory_blow_up_is_contained(backend: Backend) {
    let app = chaos_app(backend).await;
    let reply = app
        .post(
            "/v1/auth/register",
            chaos("oom-after-create", "m@example.com"),
        )
        .await;
    reply.assert_problem(500, "/problems/component-failed");
    assert_nothing_written(&app).await;
    assert_the_host_serves_on(&app).await;
}

/// How many onboarding calls this test process has seen stopped by `limit`.
async fn exceeded(app: &usvc_tests::TestApp, limit: &str) -> f64 {
    let limit = format!(r#"limit="{limit}""#);
    app.metric(
        "usvc_component_limit_exceeded_total",
        &[r#"kind="onboarding""#, &limit],
    )
    .await
}

async fn each_kind_runs_under_its_own_limits_and_exceeding_one_is_counted(backend: Backend) {
    use usvc::{config::KindLimits, runtime::ComponentKind};
    // Onboarding: one instance, one second, 16 MiB. Mfa keeps the runtime's five seconds.
    let app = spawn_with(Spawn {
        mode: usvc::config::Mode::Development,
        call_deadline_ms: 5000,
        kind_limits: vec![(
            ComponentKind::Onboarding,
            KindLimits {
                deadline: Some(std::time::Duration::from_millis(1000)),
                memory_bytes: Some(16 << 20),
                instances: Some(1),
            },
        )],
        ..Spawn::new(backend)
    })
    .await;
    let password = "long enough secret";
    let access = app.onboarded_customer("ada@example.com", password).await;
    let admin = app.make_admin("ada@example.com", password, &access).await;
    let deployed = app
        .upload_component(
            reqwest::Method::POST,
            "/v1/admin/components?kind=onboarding",
            &admin,
            usvc_tests::built("chaos-onboarding.wasm"),
        )
        .await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);
    let before = (
        exceeded(&app, "instances").await,
        exceeded(&app, "deadline").await,
        exceeded(&app, "memory").await,
    );

    // The only onboarding instance loops for its second; a second registration waits half of
    // its deadline for it and is turned away; a login meanwhile (mfa) is not held up at all.
    let looping = {
        let app_url = app.url("/v1/auth/register");
        let http = app.http.clone();
        tokio::spawn(async move {
            let reply = http
                .post(app_url)
                .json(&chaos("loop-after-create", "l@example.com"))
                .send()
                .await
                .unwrap();
            reply.status().as_u16()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let waited = std::time::Instant::now();
    let turned_away = app
        .post("/v1/auth/register", chaos("well-behaved", "w@example.com"))
        .await;
    turned_away.assert_problem(503, "/problems/component-timeout");
    assert!(waited.elapsed() < std::time::Duration::from_millis(900));
    let login = app
        .post(
            "/v1/auth/login",
            serde_json::json!({"email": "ada@example.com", "password": password}),
        )
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(looping.await.unwrap(), 503);
    // Other tests of this process count too: at least one more each.
    assert!(exceeded(&app, "instances").await >= before.0 + 1.0);
    assert!(exceeded(&app, "deadline").await >= before.1 + 1.0);

    // 16 MiB is this kind's cap (the runtime's is 64 MiB).
    let reply = app
        .post(
            "/v1/auth/register",
            chaos("oom-after-create", "m@example.com"),
        )
        .await;
    reply.assert_problem(500, "/problems/component-failed");
    assert!(exceeded(&app, "memory").await >= before.2 + 1.0);
    assert!(
        app.users()
            .await
            .iter()
            .all(|u| u.email == "ada@example.com"),
        "nothing the failed calls wrote survived"
    );

    // The kind serves on once its instance is free.
    let reply = app
        .post("/v1/auth/register", chaos("well-behaved", "ok@example.com"))
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}
