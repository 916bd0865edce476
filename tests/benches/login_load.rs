//! Load script: logins saturating the CPU with production Argon2id, while a probe measures
//! `GET /v1/users/me`. Prints logins/s, p50/p99 of both, and logins/s as a fraction of the
//! ceiling — one hash per core at a time, back to back. Run: `make load` (release build).
//!
//! The service runs in this process on a runtime of its own (as many workers as cores), on a
//! fresh SQLite file; the load generator runs on one more thread. Settings through variables:
//! `LOAD_SECS` (default 20), `LOAD_LOGIN_CLIENTS` (default 16).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use usvc::{
    auth::password::PasswordHasher,
    config::{Limits, PasswordHashing, Rate},
};
use usvc_tests::{Backend, Spawn, TestApp, spawn_with};

const PASSWORD: &str = "a long and winding load test";
const CUSTOMERS: usize = 16;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

fn summary(name: &str, mut samples: Vec<Duration>, secs: f64) {
    samples.sort();
    println!(
        "| {name} | {} | {:.1}/s | {:.1} ms | {:.1} ms |",
        samples.len(),
        samples.len() as f64 / secs,
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let secs = env_or("LOAD_SECS", 20);
    let login_clients = env_or("LOAD_LOGIN_CLIENTS", 16) as usize;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    // One hash at a time, back to back: the cost that sets the ceiling.
    let hashing = PasswordHashing::default();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::new(&hashing).unwrap();
    let hash = server_rt.block_on(hasher.hash(PASSWORD.into())).unwrap();
    let started = Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        server_rt
            .block_on(hasher.verify(PASSWORD.into(), Some(hash.clone())))
            .unwrap();
    }
    let per_hash = started.elapsed() / rounds;
    let ceiling = cores as f64 / per_hash.as_secs_f64();

    let unlimited = Rate {
        max: u32::MAX,
        per: Duration::from_secs(1),
    };
    let options = Spawn {
        password_hashing: hashing.clone(),
        limits: Limits {
            login_per_ip: unlimited,
            login_per_account: unlimited,
            ..Limits::default()
        },
        redis_url: None,
        ..Spawn::new(Backend::Sqlite)
    };
    let app = server_rt.block_on(spawn_with(options));

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(run(&app, secs, login_clients, per_hash, cores, ceiling));
    drop(app);
}

async fn run(
    app: &TestApp,
    secs: u64,
    login_clients: usize,
    per_hash: Duration,
    cores: usize,
    ceiling: f64,
) {
    let http = reqwest::Client::new();
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let email = format!("load{i}@example.com");
        app.onboarded_customer(&email, PASSWORD).await;
        let login = login(&http, app, &email, None).await.expect("a login");
        customers.push((email, login["device_token"].as_str().unwrap().to_owned()));
    }
    let token = login(&http, app, &customers[0].0, Some(&customers[0].1))
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // /me alone, for comparison.
    let quiet = probe(&http, app, &token, Duration::from_secs(5), None).await;

    let stop = Arc::new(AtomicBool::new(false));
    let customers = Arc::new(customers);
    let mut loops = Vec::new();
    for c in 0..login_clients {
        let (http, app_url, stop, customers) = (
            http.clone(),
            app.url("/v1/auth/login"),
            stop.clone(),
            customers.clone(),
        );
        loops.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut n = c;
            while !stop.load(Ordering::Relaxed) {
                let (email, device) = &customers[n % customers.len()];
                n += 1;
                let body = json!({"email": email, "password": PASSWORD, "device_token": device});
                let started = Instant::now();
                match http.post(&app_url).json(&body).send().await {
                    Ok(r) if r.status() == 200 => latencies.push(started.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    // Let the logins fill the hashing pool before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let window = Instant::now();
    let loaded = probe(
        &http,
        app,
        &token,
        Duration::from_secs(secs),
        Some(stop.clone()),
    )
    .await;
    let elapsed = window.elapsed().as_secs_f64() + 1.0;
    let mut logins = Vec::new();
    let mut failures = 0;
    for handle in loops {
        let (l, f) = handle.await.unwrap();
        logins.extend(l);
        failures += f;
    }
    let rate = logins.len() as f64 / elapsed;

    println!(
        "\nArgon2id m=19 MiB t=2 p=1: one verification takes {:.1} ms; {cores} cores → ceiling {ceiling:.1} logins/s",
        per_hash.as_secs_f64() * 1e3
    );
    println!("{login_clients} login clients, {secs} s measured, {failures} failed logins\n");
    println!("| traffic | requests | rate | p50 | p99 |");
    println!("|---|---|---|---|---|");
    summary("GET /v1/users/me, alone", quiet, 5.0);
    summary("POST /v1/auth/login, saturating", logins, elapsed);
    summary("GET /v1/users/me, during the logins", loaded, secs as f64);
    println!(
        "\nlogins/s = {rate:.1} = {:.0}% of the ceiling",
        100.0 * rate / ceiling
    );
}

async fn login(
    http: &reqwest::Client,
    app: &TestApp,
    email: &str,
    device: Option<&str>,
) -> Option<Value> {
    let body = json!({"email": email, "password": PASSWORD, "device_token": device});
    let reply = http
        .post(app.url("/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .ok()?;
    (reply.status() == 200).then_some(())?;
    reply.json().await.ok()
}

/// `GET /v1/users/me` one request after another for `duration`; then sets `stop`.
async fn probe(
    http: &reqwest::Client,
    app: &TestApp,
    token: &str,
    duration: Duration,
    stop: Option<Arc<AtomicBool>>,
) -> Vec<Duration> {
    let url = app.url("/v1/users/me");
    let deadline = Instant::now() + duration;
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let started = Instant::now();
        let reply = http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        reply.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    if let Some(stop) = stop {
        stop.store(true, Ordering::Relaxed);
    }
    latencies
}
