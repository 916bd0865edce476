//! Load script: customers registering, confirming their address and logging in while the
//! onboarding component's two versions A and A' (one build under two digests) alternate every
//! second through the admin API. Prints the swaps done, the requests by kind with their status
//! classes and p50/p99, and the failed requests (a transport error, a 5xx or any unexpected
//! status); exits non-zero if any request or swap failed. Run: `make swap-load` (release build).
//!
//! The service runs in this process on a runtime of its own (as many workers as cores), on a
//! fresh SQLite file; the clients and the swapper run on one more thread. Passwords are hashed
//! with the test suite's cheap Argon2id (1 MiB, t = 1), so the run measures swaps rather than
//! hashing. Settings through variables: `LOAD_SECS` (default 20), `SWAP_LOAD_CLIENTS` (default
//! 8), `SWAP_LOAD_BACKEND` (`sqlite`, default, or `postgres`), `SWAP_LOAD_EVERY_MS` (default
//! 1000; 0 swaps nothing, for a baseline).

use std::time::Duration;

use usvc_tests::{
    Backend, spawn_with,
    swap::{self, Signer},
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let secs = env_or("LOAD_SECS", 20);
    let clients = env_or("SWAP_LOAD_CLIENTS", 8) as usize;
    let every = Duration::from_millis(env_or("SWAP_LOAD_EVERY_MS", 1000));
    let backend = match std::env::var("SWAP_LOAD_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let signer = Signer::new();
    let app = server_rt.block_on(spawn_with(swap::host(backend, &signer)));
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut outcome = client_rt.block_on(async {
        let admin = swap::administrator(&app).await;
        let versions = swap::onboarding_versions(&signer);
        swap::run(
            &app,
            &admin,
            &versions,
            clients,
            Duration::from_secs(secs),
            every,
        )
        .await
    });
    drop(app);

    let elapsed = outcome.elapsed.as_secs_f64();
    let mut swaps = outcome.swaps.clone();
    swaps.sort();
    println!(
        "\n{backend:?}, {clients} clients, {elapsed:.1} s: {} swaps of the onboarding component \
         (deploy or rollback answered in p50 {}, max {}), {} failed swaps",
        swaps.len(),
        ms(swaps.get(swaps.len() / 2).copied().unwrap_or_default()),
        ms(swaps.last().copied().unwrap_or_default()),
        outcome.failed_swaps.len(),
    );
    println!(
        "\n| request | count | rate | 2xx | 4xx | 5xx | transport errors | failed | p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (kind, requests) in &mut outcome.requests {
        let (p50, p99) = (requests.quantile(0.5), requests.quantile(0.99));
        let class = |c: &str| requests.classes.get(c).copied().unwrap_or(0);
        println!(
            "| {kind} | {} | {:.1}/s | {} | {} | {} | {} | {} | {} | {} |",
            requests.total(),
            requests.total() as f64 / elapsed,
            class("2xx"),
            class("4xx"),
            class("5xx"),
            requests.transport_errors,
            requests.failed,
            ms(p50),
            ms(p99),
        );
    }
    let failed = outcome.failed_requests();
    let total: u64 = outcome.requests.values().map(|r| r.total()).sum();
    println!("\n{failed} failed requests of {total}");
    for (kind, requests) in &outcome.requests {
        for example in &requests.examples {
            println!("  {kind}: {example}");
        }
    }
    for why in &outcome.failed_swaps {
        println!("  failed swap: {why}");
    }
    if failed > 0 || !outcome.failed_swaps.is_empty() {
        std::process::exit(1);
    }
}
