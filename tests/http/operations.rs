//! What operators rely on: probes, metrics, and development-only routes staying out of
//! production.

use usvc::config::Mode;
use usvc_tests::{Backend, Spawn, backends, spawn, spawn_with};

backends!(
    health_and_readiness_report_the_database_and_components,
    readiness_fails_without_components,
    the_dev_mailbox_does_not_exist_in_production,
    the_api_document_is_served_in_every_mode_and_its_page_only_in_development,
    metrics_count_requests_by_route_logins_calls_and_events,
    metrics_can_live_on_an_internal_address_only,
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

/// `usvc serve` in production mode with `extra` set over the keys it always needs: what it
/// printed when it stopped, or `None` once it answered `/readyz` (it is then stopped). A free
/// port another test took before the child bound it is tried again on others.
async fn serve_in_production(extra: &[(&str, &str)]) -> Option<String> {
    for _ in 0..5 {
        match serve_once_in_production(extra).await {
            Some(output) if output.contains("Address already in use") => continue,
            outcome => return outcome,
        }
    }
    panic!("no free port stayed free long enough for usvc serve to bind it");
}

async fn serve_once_in_production(extra: &[(&str, &str)]) -> Option<String> {
    let dir =
        std::env::temp_dir().join(format!("usvc-production-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let http_port = usvc_tests::free_port();
    let mut command = std::process::Command::new(usvc_tests::usvc_binary());
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USVC_MODE", "production")
        .env("USVC_JWT_SIGNING_KEY", usvc_tests::signing_key_pem(9))
        .env(
            "USVC_SECRETS_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("usvc.db").display()),
        )
        .env("USVC_OBJECTS_DIR", dir.join("objects"))
        .env("USVC_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env(
            "USVC_GRPC_ADDR",
            format!("127.0.0.1:{}", usvc_tests::free_port()),
        )
        .env("USVC_COMPONENTS_DIR", usvc_tests::components_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in extra {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("starting the usvc binary");
    let readyz = format!("http://127.0.0.1:{http_port}/readyz");
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let ready = reqwest::get(&readyz).await;
        if ready.is_ok_and(|r| r.status() == 200) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            assert!(!output.status.success(), "a refusal is a failure exit");
            return Some(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("usvc serve neither stopped nor became ready");
}

/// `usvc migrate`, a deployment's init step: applies every migration to a fresh database and exits
/// without serving; run again, it finds nothing to do.
#[tokio::test]
async fn the_migrate_command_prepares_a_fresh_database_and_exits() {
    let dir = std::env::temp_dir().join(format!("usvc-migrate-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("usvc.db").display());
    for _ in 0..2 {
        let output = std::process::Command::new(usvc_tests::usvc_binary())
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{output:?}");
        assert_eq!(stdout.trim(), "migrations applied");
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("usvc.db"));
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    let migrations =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations"))
            .unwrap()
            .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
            .count();
    assert_eq!(applied as usize, migrations);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
    pool.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn production_refuses_to_start_on_the_sandbox_kyc_or_unsigned_kyc_results() {
    // No KYC service: the sandbox would approve everyone.
    let refused = serve_in_production(&[])
        .await
        .expect("production refuses the sandbox KYC");
    assert!(refused.contains("USVC_KYC_GRPC_URL"), "{refused}");
    assert!(refused.contains("USVC_UNSAFE_SANDBOX_KYC"), "{refused}");
    // Consuming KYC results with no provider keys: any publisher could set any outcome.
    let unsigned = serve_in_production(&[
        ("USVC_UNSAFE_SANDBOX_KYC", "true"),
        ("AMQP_URL", "amqp://127.0.0.1:5672/%2f"),
    ])
    .await
    .expect("production refuses unsigned KYC results");
    assert!(unsigned.contains("USVC_KYC_RESULT_KEYS"), "{unsigned}");
    // The sandbox chosen by name starts.
    assert_eq!(
        serve_in_production(&[("USVC_UNSAFE_SANDBOX_KYC", "true")]).await,
        None,
        "a production-mode sandbox chosen on purpose starts"
    );
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

async fn the_api_document_is_served_in_every_mode_and_its_page_only_in_development(
    backend: Backend,
) {
    for mode in [Mode::Development, Mode::Production] {
        let development = mode == Mode::Development;
        let app = spawn_with(Spawn {
            mode,
            ..Spawn::new(backend)
        })
        .await;
        let doc = app.get("/openapi.json", None).await;
        assert_eq!(doc.status, 200, "{mode:?}");
        assert!(doc.content_type.starts_with("application/json"));
        assert_eq!(doc.body["openapi"], "3.1.0");
        assert!(doc.body["paths"]["/v1/auth/login"]["post"].is_object());
        assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
        // Only a development server documents its development routes.
        assert_eq!(doc.body["paths"]["/dev/mailbox"].is_object(), development);
        assert_eq!(doc.body["paths"]["/dev/api"].is_object(), development);

        let page = reqwest::get(app.url("/dev/api")).await.unwrap();
        if development {
            assert_eq!(page.status(), 200);
            let content_type = page.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(content_type.starts_with("text/html"), "{content_type}");
            let html = page.text().await.unwrap();
            assert!(
                html.contains("fetch(\"/openapi.json\")"),
                "the page reads the document"
            );
            // Served whole from the binary: nothing is loaded from elsewhere.
            assert!(!html.contains("<script src"), "no external script");
            assert!(!html.contains("https://"), "no CDN");
        } else {
            assert_eq!(page.status(), 404);
            assert_eq!(page.headers()["content-type"], "application/problem+json");
        }
    }
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

async fn metrics_can_live_on_an_internal_address_only(backend: Backend) {
    let app = spawn_with(Spawn {
        separate_metrics: true,
        ..Spawn::new(backend)
    })
    .await;
    // Not on the address the gateway reaches.
    let public = app.get("/metrics", None).await;
    assert_eq!(public.status, 404, "{:?}", public.body);
    app.get("/healthz", None).await;
    let internal = app.metrics.clone().expect("an internal metrics address");
    let scraped = reqwest::get(format!("{internal}/metrics")).await.unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(text.contains("usvc_http_requests_total"), "{text}");
    // Nothing else is served there.
    let other = reqwest::get(format!("{internal}/v1/users/me"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

/// In production the components directory holds the release's own components and nothing
/// else goes live from it: a bare `mfa.wasm` that is not the one this binary was built with
/// (someone who can write to the directory swapped it) stops start-up, naming the file.
#[tokio::test]
async fn production_starts_only_on_the_baseline_components_it_was_built_with() {
    let dir = std::env::temp_dir().join(format!("usvc-baseline-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["onboarding.wasm", "verification.wasm"] {
        std::fs::write(dir.join(name), usvc_tests::built(name)).unwrap();
    }
    let swapped = usvc_tests::variant(&usvc_tests::built("mfa.wasm"), "swapped-in");
    std::fs::write(dir.join("mfa.wasm"), &swapped).unwrap();
    let components = dir.display().to_string();
    let refused = serve_in_production(&[
        ("USVC_UNSAFE_SANDBOX_KYC", "true"),
        ("USVC_COMPONENTS_DIR", &components),
    ])
    .await
    .expect("production refuses a component that is not its baseline");
    assert!(refused.contains("mfa.wasm"), "{refused}");
    assert!(
        refused.contains("not the mfa component this release was built with"),
        "{refused}"
    );

    // The release's own file starts.
    std::fs::write(dir.join("mfa.wasm"), usvc_tests::built("mfa.wasm")).unwrap();
    let started = serve_in_production(&[
        ("USVC_UNSAFE_SANDBOX_KYC", "true"),
        ("USVC_COMPONENTS_DIR", &components),
    ])
    .await;
    assert_eq!(started, None, "the baseline starts");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One log line per request, on HTTP and on gRPC: its request id, its trace (the caller's, when
/// it sent a valid `traceparent`), the route template, the status, the latency and, once a token
/// named one, the customer. Nothing else a customer sent: no address, no token.
#[tokio::test]
async fn every_request_is_logged_once_with_its_id_trace_route_status_latency_and_customer() {
    use usvc_proto::usvc::v1::{GetProfileRequest, profile_service_client::ProfileServiceClient};
    use usvc_tests::{
        GATEWAY, GATEWAY_SEED, caller_public_key, caller_token, process::HostProcess,
    };

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let callers = format!("{GATEWAY}={}", caller_public_key(GATEWAY_SEED));
    let grants = format!("{GATEWAY}=ProfileService/*,personal-data");
    let process = HostProcess::start(&[
        (
            "RUST_LOG",
            "warn,usvc_http::observe=info,usvc_grpc::observe=info",
        ),
        ("USVC_GRPC_CALLERS", &callers),
        ("USVC_GRPC_GRANTS", &grants),
    ])
    .await;

    let email = "logged@example.com";
    let password = "log lines tell 1911";
    let reply = process
        .post(
            "/v1/auth/register",
            usvc_tests::application(email, password),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let mailbox = process.get(&format!("/dev/mailbox?to={email}")).await;
    let code = mailbox.body[0]["code"].as_str().expect("a code").to_owned();
    let verify = serde_json::json!({"email": email, "code": code});
    assert_eq!(
        process.post("/v1/auth/verify-email", verify).await.status,
        200
    );
    let login = serde_json::json!({"email": email, "password": password});
    let tokens = process.post("/v1/auth/login", login).await;
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let user_id = usvc_tests::claims_of(&access)["sub"]
        .as_str()
        .unwrap()
        .to_owned();

    let me = process
        .http
        .get(process.url("/v1/users/me?debug=1"))
        .bearer_auth(&access)
        .header("x-request-id", "req-from-the-gateway")
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["x-request-id"], "req-from-the-gateway");
    let missing = process.get("/v1/no/such/route").await;
    assert_eq!(missing.status, 404);

    let channel = tonic::transport::Endpoint::from_shared(process.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(GetProfileRequest {});
    let metadata = request.metadata_mut();
    let caller = format!("Bearer {}", caller_token(GATEWAY, GATEWAY_SEED, 60));
    metadata.insert("authorization", caller.parse().unwrap());
    metadata.insert("x-user-token", access.parse().unwrap());
    metadata.insert("x-request-id", "grpc-req-1".parse().unwrap());
    metadata.insert("traceparent", TRACEPARENT.parse().unwrap());
    ProfileServiceClient::new(channel)
        .get_profile(request)
        .await
        .expect("the profile");

    // The line is written as the answer leaves; give the writer a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = process.log();
    let lines: Vec<&str> = log.lines().collect();
    let one = |needle: &str| -> &str {
        let found: Vec<&&str> = lines.iter().filter(|l| l.contains(needle)).collect();
        assert_eq!(found.len(), 1, "one line with {needle} in:\n{log}");
        found[0]
    };

    let http = one("request_id=req-from-the-gateway");
    for field in [
        &format!("trace_id={TRACE_ID}"),
        "method=GET",
        "route=/v1/users/me",
        "status=200",
        "latency_ms=",
        &format!("user_id={user_id}"),
    ] {
        assert!(http.contains(field), "{field} in {http}");
    }
    assert!(!http.contains("debug=1"), "no query string: {http}");

    let register = one("route=/v1/auth/register");
    assert!(
        register.contains("status=202") && register.contains("user_id=-"),
        "{register}"
    );
    assert!(
        !register.contains(TRACE_ID),
        "a trace of its own: {register}"
    );
    let fallback = one("route=unmatched");
    assert!(fallback.contains("status=404"), "{fallback}");

    let grpc = one("request_id=grpc-req-1");
    for field in [
        &format!("trace_id={TRACE_ID}"),
        "method=/usvc.v1.ProfileService/GetProfile",
        "code=Ok",
        "latency_ms=",
        &format!("user_id={user_id}"),
    ] {
        assert!(grpc.contains(field), "{field} in {grpc}");
    }

    for secret in [email, password, access.as_str()] {
        assert!(!log.contains(secret), "the log holds what a customer sent");
    }
}
