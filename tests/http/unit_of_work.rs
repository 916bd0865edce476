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
