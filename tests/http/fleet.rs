//! Host processes sharing one database: a separate `usvc` process (the real binary, started
//! here) follows a deploy, a trial and a rollback made through another host within seconds.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};
use usvc::config::Mode;
use usvc_tests::{Backend, Reply, Spawn, backends, built, free_port, spawn_with, usvc_binary};

backends!(a_separate_host_process_follows_deploys_trials_and_rollbacks);

const PASSWORD: &str = "plum orchard velvet 42";

/// A `usvc serve` child process, killed when dropped.
struct HostProcess {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HostProcess {
    async fn get(&self, path: &str) -> Reply {
        let response = self.http.get(format!("{}{path}", self.base)).send().await;
        Reply::read(response.expect("the host process answers")).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        Reply::read(request.send().await.expect("the host process answers")).await
    }

    /// What `/readyz` says of `kind`.
    async fn component(&self, kind: &str) -> Value {
        component_in(&self.get("/readyz").await.body, kind)
    }
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

/// Starts `usvc serve` on `database_url` (development mode, embedded defaults otherwise) and
/// waits until it is ready.
async fn start_host_process(database_url: &str) -> HostProcess {
    let http_port = free_port();
    let child = Command::new(usvc_binary())
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USVC_MODE", "development")
        .env("DATABASE_URL", database_url)
        .env("USVC_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("USVC_GRPC_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("USVC_COMPONENTS_DIR", usvc_tests::components_dir())
        // Cheap hashing, as the in-process test hosts use.
        .env("USVC_ARGON2_MEMORY_KIB", "64")
        .env("USVC_ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the usvc binary");
    let process = HostProcess {
        child,
        base: format!("http://127.0.0.1:{http_port}"),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
    };
    let started = Instant::now();
    loop {
        let ready = process
            .http
            .get(format!("{}/readyz", process.base))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return process;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the host process never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the process's `/readyz` until `kind` satisfies `done`; how long that took.
async fn until(process: &HostProcess, kind: &str, done: impl Fn(&Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let component = process.component(kind).await;
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
    let process = start_host_process(&app.database_url).await;
    let admin = {
        let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
        app.make_admin("boss@example.com", PASSWORD, &access).await
    };
    let running = component_in(&app.get("/readyz", None).await.body, "mfa")["digest"].clone();
    assert_eq!(process.component("mfa").await["digest"], running);

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
