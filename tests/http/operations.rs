//! What operators rely on: probes, metrics, and development-only routes staying out of
//! production.

use usvc::config::Mode;
use usvc_tests::{Backend, Spawn, backends, spawn, spawn_with};

backends!(
    health_and_readiness_report_the_database_and_components,
    readiness_fails_without_components,
    the_dev_mailbox_does_not_exist_in_production,
    metrics_count_requests_by_route_logins_calls_and_events,
);

#[tokio::test]
async fn settings_for_an_unknown_component_kind_stop_start_up() {
    let vars = [(
        "USVC_COMPONENT_ONBORDING__ALLOWED_COUNTRIES".to_owned(),
        "GB".to_owned(),
    )];
    let mut config = usvc::config::Config::from_vars(vars).unwrap();
    config.database_url = "sqlite::memory:".into();
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let error = usvc::app::Application::build(config)
        .await
        .err()
        .expect("start-up refuses");
    assert!(error.to_string().contains("onbording"), "{error}");
}

async fn health_and_readiness_report_the_database_and_components(backend: Backend) {
    let app = spawn(backend).await;
    let health = app.get("/healthz", None).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["database"], true);
    assert_eq!(ready.body["components"][0]["kind"], "onboarding");
    assert_eq!(
        ready.body["components"][0]["digest"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

async fn readiness_fails_without_components(backend: Backend) {
    let empty = std::env::temp_dir().join(format!("usvc-empty-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&empty).unwrap();
    let app = spawn_with(Spawn {
        components_dir: empty,
        ..Spawn::new(backend)
    })
    .await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["components"][0]["loaded"], false);
    let reply = app
        .post(
            "/v1/auth/register",
            usvc_tests::application("a@example.com", "long enough secret"),
        )
        .await;
    reply.assert_problem(503, "/problems/component-unavailable");
}

async fn the_dev_mailbox_does_not_exist_in_production(backend: Backend) {
    let app = spawn_with(Spawn {
        mode: Mode::Production,
        ..Spawn::new(backend)
    })
    .await;
    app.get("/dev/mailbox", None)
        .await
        .assert_problem(404, "/problems/not-found");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
}

async fn metrics_count_requests_by_route_logins_calls_and_events(backend: Backend) {
    let app = spawn(backend).await;
    // The recorder is shared by every app in this test process: compare before and after.
    let before = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = app
        .onboarded_customer("metrics@example.com", "reliable measures 1901")
        .await;
    assert_eq!(
        app.get(&format!("/v1/users/me?n={}", 1), Some(&token))
            .await
            .status,
        200
    );
    let wrong = serde_json::json!({"email": "metrics@example.com", "password": "wrong"});
    app.post("/v1/auth/login", wrong)
        .await
        .assert_problem(401, "/problems/unauthorized");

    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let after = response.text().await.unwrap();
    let grew = |name: &str, labels: &[&str]| {
        usvc_tests::metric_in(&after, name, labels) - usvc_tests::metric_in(&before, name, labels)
    };
    assert!(
        grew(
            "usvc_http_requests_total",
            &[r#"route="/v1/users/me""#, r#"status="200""#]
        ) >= 1.0
    );
    assert!(
        grew(
            "usvc_http_requests_total",
            &[r#"route="/v1/auth/login""#, r#"status="401""#]
        ) >= 1.0
    );
    assert!(grew("usvc_logins_total", &[r#"outcome="succeeded""#]) >= 1.0);
    assert!(grew("usvc_logins_total", &[r#"outcome="invalid_credentials""#]) >= 1.0);
    assert!(
        grew(
            "usvc_component_calls_total",
            &[r#"kind="onboarding""#, r#"outcome="committed""#]
        ) >= 2.0
    );
    assert!(after.contains("usvc_http_request_duration_seconds_bucket"));
    // Routes are templates; no query string, address or id ever becomes a label.
    assert!(!after.contains("metrics@example.com") && !after.contains("?n="));
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let later = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        usvc_tests::metric_in(&later, "usvc_events_published_total", &[])
            - usvc_tests::metric_in(&before, "usvc_events_published_total", &[])
            >= 3.0
    );
}
