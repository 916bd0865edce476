//! The real `usvc` binary as a child process: for what only a process of its own shows (its
//! own metrics, its own start-up), killed when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{Reply, components_dir, free_port, metric_in, usvc_binary};

/// A `usvc serve` child process, killed (and its folder removed) when dropped.
pub struct HostProcess {
    child: Child,
    pub base: String,
    /// The gRPC API's address, `http://127.0.0.1:port`.
    pub grpc: String,
    pub http: reqwest::Client,
    dir: PathBuf,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl HostProcess {
    /// Starts `usvc serve` in development mode on embedded defaults (a SQLite file and an
    /// object folder of its own, cheap hashing, warnings logged), with `vars` set over them, and
    /// waits until it is ready.
    pub async fn start(vars: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir()
            .join("usvc-tests")
            .join(format!("process-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("the process's folder");
        let http_port = free_port();
        let grpc_port = free_port();
        let mut command = Command::new(usvc_binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USVC_MODE", "development")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("usvc.db").display()),
            )
            .env("USVC_OBJECTS_DIR", dir.join("objects"))
            .env("USVC_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
            .env("USVC_GRPC_ADDR", format!("127.0.0.1:{grpc_port}"))
            .env("USVC_COMPONENTS_DIR", components_dir())
            // Cheap hashing, as the in-process test hosts use.
            .env("USVC_ARGON2_MEMORY_KIB", "64")
            .env("USVC_ARGON2_ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .stdout(std::fs::File::create(dir.join("stdout.log")).expect("the process's log"))
            .stderr(Stdio::null());
        for (key, value) in vars {
            command.env(key, value);
        }
        let process = Self {
            child: command.spawn().expect("starting the usvc binary"),
            base: format!("http://127.0.0.1:{http_port}"),
            grpc: format!("http://127.0.0.1:{grpc_port}"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            dir,
        };
        let started = Instant::now();
        loop {
            let ready = process.http.get(process.url("/readyz")).send().await;
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the process has logged so far (its standard output).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self.http.get(self.url(path)).send().await;
        Reply::read(response.expect("the host process answers")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        let request = self.http.post(self.url(path)).json(&body);
        Reply::read(request.send().await.expect("the host process answers")).await
    }

    /// The sum of the process's metric `name` over the samples carrying `labels`.
    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = self.get("/metrics").await.body;
        metric_in(text.as_str().expect("the exposition is text"), name, labels)
    }
}
