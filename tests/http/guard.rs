//! The guard: rate limits per address and per account, the login brake and lockout and their
//! expiry, both alike for known and unknown addresses; revocation taking effect at once; and
//! login staying up when Redis goes down. The PostgreSQL runs keep the guard's state in the
//! local Redis, the SQLite runs in memory.

use std::{
    process::{Child, Command},
    time::Duration,
};

use serde_json::{Value, json};
use usvc::config::{Limits, Rate};
use usvc_tests::{Backend, Spawn, TestApp, backends, process::HostProcess, spawn_with};

backends!(
    login_attempts_beyond_the_per_address_rate_are_refused,
    failed_logins_brake_then_lock_and_the_lock_expires,
    a_lockout_answers_alike_for_known_and_unknown_addresses,
    registrations_and_code_checks_are_rate_limited,
    a_password_reset_is_rate_limited_per_account,
    a_revoked_session_stops_working_at_once,
    revocation_checks_are_cached_and_catch_up_within_seconds,
    varying_addresses_does_not_escape_the_rate_limit,
    a_wrong_password_answers_as_fast_as_an_unknown_address,
);

const PASSWORD: &str = "charles babbage 1791";

fn rate(max: u32, secs: u64) -> Rate {
    Rate {
        max,
        per: Duration::from_secs(secs),
    }
}

async fn app_with(backend: Backend, limits: Limits) -> TestApp {
    spawn_with(Spawn {
        limits,
        ..Spawn::new(backend)
    })
    .await
}

fn credentials(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

async fn login_attempts_beyond_the_per_address_rate_are_refused(backend: Backend) {
    let limits = Limits {
        login_per_ip: rate(3, 60),
        ..Limits::default()
    };
    let app = app_with(backend, limits).await;
    for n in 0..3 {
        let email = format!("nobody{n}@example.com");
        let reply = app
            .post_from("198.51.100.1", "/v1/auth/login", credentials(&email, "x"))
            .await;
        reply.assert_problem(401, "/problems/unauthorized");
    }
    let refused = app
        .post_from(
            "198.51.100.1",
            "/v1/auth/login",
            credentials("a@example.com", "x"),
        )
        .await;
    refused.assert_problem(429, "/problems/too-many-requests");
    let retry_after = refused.retry_after.expect("a Retry-After header");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Another client is not affected.
    app.post_from(
        "198.51.100.2",
        "/v1/auth/login",
        credentials("a@example.com", "x"),
    )
    .await
    .assert_problem(401, "/problems/unauthorized");
}

async fn failed_logins_brake_then_lock_and_the_lock_expires(backend: Backend) {
    let limits = Limits {
        failures_before_delay: 2,
        failure_delay: Duration::from_secs(1),
        failures_before_lockout: 3,
        lockout: Duration::from_secs(2),
        ..Limits::default()
    };
    let app = app_with(backend, limits).await;
    let email = "lovelace@example.com";
    app.onboarded_customer(email, PASSWORD).await;
    let wrong = || credentials(email, "not the password");
    for _ in 0..2 {
        app.post("/v1/auth/login", wrong())
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    // Two failures: the next attempt must wait, even with the right password.
    let braked = app
        .post("/v1/auth/login", credentials(email, PASSWORD))
        .await;
    braked.assert_problem(429, "/problems/login-delayed");
    assert_eq!(braked.retry_after, Some(1));

    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.post("/v1/auth/login", wrong())
        .await
        .assert_problem(401, "/problems/unauthorized");
    // The third failure locked the account.
    let locked = app
        .post("/v1/auth/login", credentials(email, PASSWORD))
        .await;
    locked.assert_problem(429, "/problems/login-locked");
    assert!(matches!(locked.retry_after, Some(1..=2)), "{locked:?}");
    let user = &app.users().await[0];
    usvc_tests::bank::eventually("the lockout's record", Duration::from_secs(10), || async {
        app.audit_count(&user.id, "auth.locked_out").await == 1
    })
    .await;

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = app
        .post("/v1/auth/login", credentials(email, PASSWORD))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn a_lockout_answers_alike_for_known_and_unknown_addresses(backend: Backend) {
    let limits = Limits {
        failures_before_delay: 100,
        failures_before_lockout: 3,
        lockout: Duration::from_secs(60),
        ..Limits::default()
    };
    let app = app_with(backend, limits).await;
    app.onboarded_customer("known@example.com", PASSWORD).await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let mut replies = Vec::new();
        for _ in 0..4 {
            replies.push(
                app.post("/v1/auth/login", credentials(email, "wrong"))
                    .await,
            );
        }
        answers.push(replies);
    }
    let (known, unknown) = (&answers[0], &answers[1]);
    for (k, u) in known.iter().zip(unknown) {
        assert_eq!((k.status, &k.body), (u.status, &u.body));
    }
    known[3].assert_problem(429, "/problems/login-locked");
    assert_eq!(known[3].retry_after, unknown[3].retry_after);
}

async fn registrations_and_code_checks_are_rate_limited(backend: Backend) {
    let limits = Limits {
        register_per_ip: rate(2, 3600),
        code_sends_per_account: rate(2, 3600),
        code_checks_per_ip: rate(2, 600),
        ..Limits::default()
    };
    let app = app_with(backend, limits).await;
    let apply = |email: &str| usvc_tests::application(email, PASSWORD);
    for email in ["r1@example.com", "r2@example.com"] {
        let reply = app
            .post_from("203.0.113.1", "/v1/auth/register", apply(email))
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    app.post_from("203.0.113.1", "/v1/auth/register", apply("r3@example.com"))
        .await
        .assert_problem(429, "/problems/too-many-requests");

    // Codes sent to one address are limited whichever client asks.
    for ip in ["203.0.113.2", "203.0.113.3"] {
        let reply = app
            .post_from(ip, "/v1/auth/register", apply("r4@example.com"))
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    app.post_from("203.0.113.4", "/v1/auth/register", apply("r4@example.com"))
        .await
        .assert_problem(429, "/problems/too-many-requests");

    let guess = json!({"email": "r2@example.com", "code": "000000"});
    for _ in 0..2 {
        app.post_from("203.0.113.5", "/v1/auth/verify-email", guess.clone())
            .await
            .assert_problem(400, "/problems/invalid-code");
    }
    app.post_from("203.0.113.5", "/v1/auth/verify-email", guess)
        .await
        .assert_problem(429, "/problems/too-many-requests");
}

async fn a_password_reset_is_rate_limited_per_account(backend: Backend) {
    let limits = Limits {
        reset_per_account: rate(2, 3600),
        ..Limits::default()
    };
    let app = app_with(backend, limits).await;
    let body = json!({"email": "someone@example.com"});
    for ip in ["192.0.2.10", "192.0.2.11"] {
        let reply = app
            .post_from(ip, "/v1/auth/password-reset", body.clone())
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    app.post_from("192.0.2.12", "/v1/auth/password-reset", body)
        .await
        .assert_problem(429, "/problems/too-many-requests");
}

fn token(body: &Value, name: &str) -> String {
    body[name].as_str().expect(name).to_owned()
}

async fn a_revoked_session_stops_working_at_once(backend: Backend) {
    let app = app_with(backend, Limits::default()).await;
    let email = "hopper@example.com";
    let first = app.onboarded_customer(email, PASSWORD).await;
    let second = app
        .post("/v1/auth/login", credentials(email, PASSWORD))
        .await
        .body;
    let second_access = token(&second, "access_token");
    assert_eq!(
        app.get("/v1/users/me", Some(&second_access)).await.status,
        200
    );
    let sid = app.get_session_id(&second);
    let end = app
        .http
        .delete(app.url(&format!("/v1/sessions/{sid}")))
        .bearer_auth(&first);
    assert_eq!(end.send().await.unwrap().status(), 204);
    // No waiting: the very next request is refused.
    app.get("/v1/users/me", Some(&second_access))
        .await
        .assert_problem(401, "/problems/unauthorized");
    assert_eq!(app.get("/v1/users/me", Some(&first)).await.status, 200);
}

/// A session ended behind the service's back (by another replica without Redis, say) is still
/// believed live for a few seconds — the proof that requests do not each ask the database —
/// and refused once the cached answer lapses.
async fn revocation_checks_are_cached_and_catch_up_within_seconds(backend: Backend) {
    let app = app_with(backend, Limits::default()).await;
    let access = app.onboarded_customer("turing@example.com", PASSWORD).await;
    assert_eq!(app.get("/v1/users/me", Some(&access)).await.status, 200);
    sqlx::query("UPDATE sessions SET revoked_at = 1")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.get("/v1/users/me", Some(&access)).await.status, 200);
    tokio::time::sleep(usvc::guard::revocation::LIVE_FOR + Duration::from_millis(200)).await;
    app.get("/v1/users/me", Some(&access))
        .await
        .assert_problem(401, "/problems/unauthorized");
}

/// A Redis server of this test's own, so that stopping it disturbs no other test.
struct OwnRedis {
    port: u16,
    child: Child,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test");
        let redis = Self { port, child };
        for _ in 0..100 {
            if redis.cli(&["PING"]).trim() == "PONG" {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {port}");
    }

    fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli must be installed for this test");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// How many keys usvc has written.
    fn keys(&self) -> usize {
        self.cli(&["--scan"]).lines().count()
    }

    fn stop(mut self) {
        self.child.kill().expect("stopping redis-server");
        self.child.wait().expect("reaping redis-server");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stays_up_when_redis_goes_down_and_uses_it_again_when_it_returns() {
    let port = free_port();
    let redis = OwnRedis::start(port);
    let app = spawn_with(Spawn {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        limits: Limits {
            login_per_ip: rate(3, 60),
            ..Limits::default()
        },
        ..Spawn::new(Backend::Sqlite)
    })
    .await;
    let email = "redis@example.com";
    let access = app.onboarded_customer(email, PASSWORD).await;
    assert!(redis.keys() > 0, "the guard keeps its state in Redis");

    redis.stop();
    let reply = app
        .post_from("192.0.2.50", "/v1/auth/login", credentials(email, PASSWORD))
        .await;
    assert_eq!(
        reply.status, 200,
        "login works without Redis: {:?}",
        reply.body
    );
    // Limits still hold, per process.
    for _ in 0..2 {
        let reply = app
            .post_from("192.0.2.50", "/v1/auth/login", credentials(email, "wrong"))
            .await;
        reply.assert_problem(401, "/problems/unauthorized");
    }
    app.post_from("192.0.2.50", "/v1/auth/login", credentials(email, PASSWORD))
        .await
        .assert_problem(429, "/problems/too-many-requests");
    // Revocation still takes effect at once.
    let logout = app
        .http
        .post(app.url("/v1/auth/logout"))
        .bearer_auth(&access);
    assert_eq!(logout.send().await.unwrap().status(), 204);
    app.get("/v1/users/me", Some(&access))
        .await
        .assert_problem(401, "/problems/unauthorized");

    // Redis comes back (empty): after the back-off the guard writes to it again.
    let redis = OwnRedis::start(port);
    assert_eq!(redis.keys(), 0);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let reply = app
        .post_from("192.0.2.51", "/v1/auth/login", credentials(email, PASSWORD))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert!(redis.keys() > 0, "the guard uses Redis again");
    redis.stop();
}

async fn varying_addresses_does_not_escape_the_rate_limit(backend: Backend) {
    // Two trusted proxies: the client is the second entry from the end.
    let app = spawn_with(Spawn {
        limits: Limits {
            login_per_ip: rate(3, 60),
            ..Limits::default()
        },
        forwarded_for_hops: 2,
        ..Spawn::new(backend)
    })
    .await;
    // A new address typed each time, so that only the per-client limit can refuse.
    let typed = std::sync::atomic::AtomicU32::new(0);
    let attempt = |from: String| {
        let (app, n) = (
            &app,
            typed.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        );
        async move {
            let email = format!("nobody{n}@example.com");
            app.post_from(&from, "/v1/auth/login", credentials(&email, "x"))
                .await
        }
    };
    // A new address of one IPv6 /64 for every attempt.
    for n in 1..=3 {
        attempt(format!("2001:db8:7:7::{n}, 10.0.0.1"))
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    attempt("2001:db8:7:7:abcd::99, 10.0.0.1".to_owned())
        .await
        .assert_problem(429, "/problems/too-many-requests");
    attempt("2001:db8:7:8::1, 10.0.0.1".to_owned())
        .await
        .assert_problem(401, "/problems/unauthorized");

    // Entries the client wrote itself, before the ones the proxies vouch for, change nothing.
    for n in 1..=3 {
        attempt(format!("192.0.2.{n}, 203.0.113.9, 10.0.0.1"))
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    attempt("192.0.2.200, 203.0.113.9, 10.0.0.1".to_owned())
        .await
        .assert_problem(429, "/problems/too-many-requests");

    // A header nobody can vouch for is refused, not skipped over.
    attempt("203.0.113.10, not-an-address".to_owned())
        .await
        .assert_problem(400, "/problems/malformed-request");
    attempt("10.0.0.1".to_owned())
        .await
        .assert_problem(400, "/problems/malformed-request");
}

/// Each Argon2id hash takes 19 MiB and a core: a client that hangs up mid-login must not free
/// its slot while its hash still runs, or a burst of abandoned logins runs unbounded hashes.
/// A process of its own, so that its hashing gauge counts only these logins.
#[tokio::test]
async fn abandoned_logins_never_run_more_hashes_than_the_bound() {
    let process = HostProcess::start(&[
        ("USVC_MAX_CONCURRENT_HASHES", "1"),
        ("USVC_ARGON2_MEMORY_KIB", "19456"),
        ("USVC_ARGON2_ITERATIONS", "8"),
    ])
    .await;
    // One login every 40 ms, each abandoned by its client after 30 ms: every one hangs up while
    // the hash before it still runs.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = process.url("/v1/auth/login");
    let burst = tokio::spawn(async move {
        for n in 0..8 {
            let login = impatient
                .post(&url)
                .json(&credentials(&format!("gone{n}@example.com"), PASSWORD))
                .send()
                .await;
            assert!(login.is_err(), "the client gives up before the hash ends");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let mut peak = 0.0_f64;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let running = process.metric("usvc_password_hashes_running", &[]).await;
        peak = peak.max(running);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    burst.await.unwrap();
    assert_eq!(peak, 1.0, "hashes running at once, with a bound of one");
    // The service still answers a login that waits.
    process
        .post(
            "/v1/auth/login",
            credentials("patient@example.com", PASSWORD),
        )
        .await
        .assert_problem(401, "/problems/unauthorized");
}

/// A wrong password for a known address must cost what an unknown address costs, database
/// work included, or the answer's timing tells which addresses hold accounts. Hashing is made
/// as cheap as it goes so that any difference in the rest shows.
async fn a_wrong_password_answers_as_fast_as_an_unknown_address(backend: Backend) {
    let generous = rate(10_000, 60);
    let app = spawn_with(Spawn {
        password_hashing: usvc::config::PasswordHashing {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 4,
        },
        limits: Limits {
            login_per_ip: generous,
            login_per_account: generous,
            failures_before_delay: 10_000,
            failures_before_lockout: 10_000,
            ..Limits::default()
        },
        ..Spawn::new(backend)
    })
    .await;
    app.onboarded_customer("known@example.com", PASSWORD).await;
    // The suite shares the cores with other tests: a burst of load can skew one series, so
    // up to three series are measured, and one whose medians agree passes. The difference
    // before the fix was structural (two more commits) and showed in every series.
    let mut medians = Vec::new();
    for _ in 0..3 {
        let (known, unknown) = median_logins(&app).await;
        medians.push((known, unknown));
        if known <= unknown * 1.15 + 150.0 && unknown <= known * 1.15 + 150.0 {
            break;
        }
    }
    let (known, unknown) = *medians.last().unwrap();
    eprintln!("median logins (known, unknown address) in µs: {medians:?}");
    assert!(
        known <= unknown * 1.15 + 150.0 && unknown <= known * 1.15 + 150.0,
        "median logins (known, unknown address) in µs: {medians:?}"
    );
    // The failures were recorded all the same.
    let user = app.user_id("known@example.com").await;
    usvc_tests::bank::eventually(
        "the failures to be recorded",
        Duration::from_secs(10),
        || async { app.audit_count(&user, "auth.login_failed").await == 160 * medians.len() },
    )
    .await;
}

/// One series of 150 wrong-password logins to a known address interleaved with 150 to an
/// unknown one (after 10 of each to warm up): the two medians, in microseconds.
async fn median_logins(app: &TestApp) -> (f64, f64) {
    let mut timings = [Vec::new(), Vec::new()];
    for round in 0..160 {
        for (which, email) in ["known@example.com", "unknown@example.com"]
            .into_iter()
            .enumerate()
        {
            let started = std::time::Instant::now();
            app.post(
                "/v1/auth/login",
                credentials(email, "not the password at all"),
            )
            .await
            .assert_problem(401, "/problems/unauthorized");
            if round >= 10 {
                timings[which].push(started.elapsed());
            }
            // Time for the failure's record, written after the answer, before the next login.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let [known, unknown] = timings.map(|mut t| {
        t.sort();
        t[t.len() / 2].as_micros() as f64
    });
    (known, unknown)
}
