//! A real S3-compatible server for tests: `s3s-fs` (installed by `.ci/run` with
//! `cargo install s3s-fs@0.14.1 --features binary --locked`) on a free loopback port, over a
//! folder of its own with one bucket, stopped and removed on drop. It checks SigV4, so tampered
//! and expired presigned URLs are really refused.
//!
//! Without `s3s-fs` on the PATH, [`S3Server::start`] answers `None` with a loud message so a
//! developer's run skips the S3 tests, except under CI (`CI` set), where it panics: the S3 path
//! must never pass untested there.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use usvc::config::S3Settings;

pub const BUCKET: &str = "kyc-documents";
const ACCESS_KEY: &str = "usvc-test";
const SECRET_KEY: &str = "usvc-test-secret";

pub struct S3Server {
    pub endpoint: String,
    child: Child,
    dir: PathBuf,
}

impl S3Server {
    pub async fn start() -> Option<Self> {
        let dir = std::env::temp_dir()
            .join("usvc-tests")
            .join(format!("s3-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join(BUCKET)).expect("creating the bucket folder");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let spawned = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_dir_all(&dir);
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "s3s-fs is not on the PATH, and CI must test the S3 path: \
                         cargo install s3s-fs@0.14.1 --features binary --locked"
                    );
                }
                eprintln!(
                    "\n*** SKIPPED: s3s-fs is not installed, so this S3 test did not run. ***\n\
                     *** Install it: cargo install s3s-fs@0.14.1 --features binary --locked ***\n"
                );
                return None;
            }
            Err(e) => panic!("starting s3s-fs: {e}"),
        };
        let server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("s3s-fs did not answer on port {port} within 10 s");
    }

    /// The settings that point usvc at this server's bucket.
    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".to_owned(),
            bucket: BUCKET.to_owned(),
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
        }
    }

    /// Where the server keeps an object (each bucket is a folder).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.dir.join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
