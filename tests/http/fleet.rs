//! Host processes sharing one database: a separate `usvc` process (the real binary, started
//! here) follows a deploy, a trial and a rollback made through another host within seconds.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use usvc::config::Mode;
use usvc_tests::{Backend, Spawn, backends, built, process::HostProcess, spawn_with};

backends!(a_separate_host_process_follows_deploys_trials_and_rollbacks);

const PASSWORD: &str = "plum orchard velvet 42";

/// What the process's `/readyz` says of `kind`.
async fn component(process: &HostProcess, kind: &str) -> Value {
    component_in(&process.get("/readyz").await.body, kind)
}

fn component_in(readiness: &Value, kind: &str) -> Value {
    readiness["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["kind"] == kind)
        .expect("every kind is listed")
        .clone()
}

/// Polls the process's `/readyz` until `kind` satisfies `done`; how long that took.
async fn until(process: &HostProcess, kind: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let component = component(process, kind).await;
        if done(&component) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the host process did not follow: {component}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_separate_host_process_follows_deploys_trials_and_rollbacks(backend: Backend) {
    let app = spawn_with(Spawn {
        mode: Mode::Development,
        ..Spawn::new(backend)
    })
    .await;
    let process = HostProcess::start(&[("DATABASE_URL", &app.database_url)]).await;
    let admin = {
        let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
        app.make_admin("boss@example.com", PASSWORD, &access).await
    };
    let running = component_in(&app.get("/readyz", None).await.body, "mfa")["digest"].clone();
    assert_eq!(component(&process, "mfa").await["digest"], running);

    // Deploys through the in-process host reach the other process within a few seconds.
    let mut stored = Vec::new();
    for tag in ["fleet-1", "fleet-2"] {
        let deployed = app
            .upload_component(
                Method::POST,
                "/v1/admin/components?kind=mfa",
                &admin,
                usvc_tests::variant(&built("mfa.wasm"), tag),
            )
            .await;
        assert_eq!(deployed.status, 201, "{:?}", deployed.body);
        let digest = deployed.body["digest"].clone();
        let took = until(&process, "mfa", |c| c["digest"] == digest).await;
        assert!(took < Duration::from_secs(5), "took {took:?}");
        stored.push(digest);
    }

    // So does a shadow trial: a registration served by the other process is evaluated in the
    // shadow there, and its disagreement lands in the shared decision log.
    let trial = app
        .upload_component(
            Method::PUT,
            "/v1/admin/components/onboarding/trial?mode=shadow",
            &admin,
            built("chaos-onboarding.wasm"),
        )
        .await;
    assert_eq!(trial.status, 201, "{:?}", trial.body);
    let candidate = trial.body["digest"].clone();
    until(&process, "onboarding", |c| {
        c["trial"]["digest"] == candidate
    })
    .await;
    let mut application = usvc_tests::application("grace@example.com", PASSWORD);
    application["legal_name"] = json!("error-after-create");
    let registered = process.post("/v1/auth/register", application).await;
    assert_eq!(registered.status, 202, "{:?}", registered.body);
    let status = app
        .get("/v1/admin/components/onboarding/trial", Some(&admin))
        .await;
    assert_eq!(status.body["disagreements"], 1, "{:?}", status.body);
    let ended = app
        .request_json(
            Method::DELETE,
            "/v1/admin/components/onboarding/trial",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    until(&process, "onboarding", |c| c.get("trial").is_none()).await;

    // And a rollback.
    let first = stored[0].clone();
    let back = app
        .request_json(
            Method::POST,
            "/v1/admin/components/mfa/rollback",
            Some(&admin),
            Some(json!({"digest": first})),
        )
        .await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    let took = until(&process, "mfa", |c| c["digest"] == first).await;
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
