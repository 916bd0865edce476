//! Load script: `AuthService.ValidateToken`, the call the API gateway makes on every request,
//! from many concurrent callers over gRPC on loopback. Prints calls/s and p50/p99/p99.9, once
//! with the revocation cache in process memory (SQLite) and once in Redis (PostgreSQL), the
//! production shape. Run: `make load` (release build).
//!
//! The service runs in this process on a runtime with one worker per core; the callers run on
//! one more thread, so on a small machine they compete with the service for the CPU and the
//! figures are a floor. Settings: `LOAD_SECS` (default 10), `LOAD_CLIENTS` (concurrent calls,
//! default 32), `LOAD_CHANNELS` (HTTP/2 connections, default 4).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tonic::{Request, transport::Channel};
use usvc_proto::usvc::v1::{ValidateTokenRequest, auth_service_client::AuthServiceClient};
use usvc_tests::{Backend, GATEWAY, GATEWAY_SEED, caller_token, spawn};

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
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let secs = env_or("LOAD_SECS", 10);
    let clients = env_or("LOAD_CLIENTS", 32) as usize;
    let channels = env_or("LOAD_CHANNELS", 4).max(1) as usize;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "\nValidateToken: {clients} concurrent callers over {channels} connections, {secs} s each, {cores} cores\n"
    );
    println!("| revocation cache | calls | calls/s | p50 | p99 | p99.9 | failed |");
    println!("|---|---|---|---|---|---|---|");
    for (backend, label) in [
        (Backend::Sqlite, "process memory (SQLite)"),
        (Backend::Postgres, "Redis (PostgreSQL)"),
    ] {
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .enable_all()
            .build()
            .unwrap();
        let app = server_rt.block_on(spawn(backend));
        let client_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        client_rt.block_on(async {
            let access = app
                .onboarded_customer("gateway-load@example.com", "a long passphrase")
                .await;
            let mut pool = Vec::new();
            for _ in 0..channels {
                let channel = Channel::from_shared(app.grpc.clone())
                    .unwrap()
                    .connect()
                    .await
                    .unwrap();
                pool.push(AuthServiceClient::new(channel));
            }
            let caller = format!("Bearer {}", caller_token(GATEWAY, GATEWAY_SEED, 3600));
            let stop = Arc::new(AtomicBool::new(false));
            let measuring = Arc::new(AtomicBool::new(false));
            let mut tasks = Vec::new();
            for c in 0..clients {
                let mut client = pool[c % channels].clone();
                let (caller, access) = (caller.clone(), access.clone());
                let (stop, measuring) = (stop.clone(), measuring.clone());
                tasks.push(tokio::spawn(async move {
                    let (mut latencies, mut failed) = (Vec::new(), 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        let mut request = Request::new(ValidateTokenRequest {
                            access_token: access.clone(),
                        });
                        request
                            .metadata_mut()
                            .insert("authorization", caller.parse().unwrap());
                        let started = Instant::now();
                        let ok = client.validate_token(request).await.is_ok();
                        if measuring.load(Ordering::Relaxed) {
                            if ok {
                                latencies.push(started.elapsed());
                            } else {
                                failed += 1;
                            }
                        }
                    }
                    (latencies, failed)
                }));
            }
            // One second of warm-up (connections, caches), then the measured window.
            tokio::time::sleep(Duration::from_secs(1)).await;
            measuring.store(true, Ordering::Relaxed);
            let window = Instant::now();
            tokio::time::sleep(Duration::from_secs(secs)).await;
            measuring.store(false, Ordering::Relaxed);
            let elapsed = window.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            let (mut all, mut failed) = (Vec::new(), 0);
            for task in tasks {
                let (l, f) = task.await.unwrap();
                all.extend(l);
                failed += f;
            }
            all.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {label} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {failed} |",
                all.len(),
                all.len() as f64 / elapsed,
                ms(percentile(&all, 0.50)),
                ms(percentile(&all, 0.99)),
                ms(percentile(&all, 0.999)),
            );
        });
        drop(app);
        server_rt.shutdown_timeout(Duration::from_secs(1));
    }
}
