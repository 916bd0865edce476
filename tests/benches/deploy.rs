//! What a hot swap costs an operator: from the moment a deploy request is sent to the first
//! registration served by the new version. The versions alternate every iteration between the
//! chaos fixture (a registration named `error-after-create` is refused with `chaos.refused`)
//! and the real onboarding component (which answers anything else), each redeployed as a stored
//! signed artifact, so every iteration is a real switch: artifact checks, compilation against
//! the world, the database transaction and the swap.
//!
//! On one host (SQLite) the deploying host serves the next call; across two hosts on one
//! PostgreSQL database the other host switches at its next fleet poll (every second), so
//! deploys there start at points spread over that second, as real ones would. To show what
//! dominates, the compilation is also measured alone, and before each switching run a few
//! switches are timed in parts.

use std::{
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use serde_json::Value;
use usvc::runtime::{ComponentKind, artifact::Artifact};
use usvc_tests::{
    Backend, Spawn, TestApp, application, spawn_with,
    swap::{self, PASSWORD, Signer},
};

/// Two stored versions of onboarding, which one is active, and the administrator switching.
struct Switch {
    /// The chaos fixture, then the real component.
    versions: [Artifact; 2],
    active: AtomicUsize,
    admin: String,
    http: reqwest::Client,
    registrations: AtomicU64,
    switches: AtomicU64,
}

/// How long one switch took: until the deploy was answered, and until the first call the new
/// version served.
struct Timing {
    deployed: Duration,
    served: Duration,
}

impl Switch {
    /// Stores both versions through `app` (the real one ends active).
    async fn new(app: &TestApp, signer: &Signer) -> Self {
        let chaos = usvc_tests::built("chaos-onboarding.wasm");
        let real = usvc_tests::built("onboarding.wasm");
        let switch = Self {
            versions: [
                signer.sign(&chaos, ComponentKind::Onboarding, "0.0.1"),
                signer.sign(&real, ComponentKind::Onboarding, "1.0.0"),
            ],
            active: AtomicUsize::new(1),
            admin: swap::administrator(app).await,
            http: reqwest::Client::new(),
            registrations: AtomicU64::new(0),
            switches: AtomicU64::new(0),
        };
        for version in &switch.versions {
            switch.deploy(app, version).await;
        }
        switch
    }

    async fn deploy(&self, app: &TestApp, version: &Artifact) {
        let reply = self
            .http
            // The bench swaps back and forth on purpose: every other deploy is a downgrade.
            .post(app.url("/v1/admin/components?allow_downgrade=true"))
            .bearer_auth(&self.admin)
            .json(version)
            .send()
            .await
            .expect("the deploy request");
        let status = reply.status();
        let body: Value = reply.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "{body}");
    }

    /// Deploys the other version on `deployer`, then registers on `caller` until the new
    /// version answers.
    async fn once(&self, deployer: &TestApp, caller: &TestApp) -> Timing {
        let k = self.switches.fetch_add(1, Ordering::Relaxed);
        if !std::ptr::eq(deployer, caller) {
            // The other host polls a second after its last poll ended, i.e. a second after it
            // switched: right after a switch, every deploy would land at the same point of its
            // poll. An untimed pause stepping by the golden ratio spreads them over the second.
            let phase = (k as f64 * 0.618_034).fract();
            tokio::time::sleep(Duration::from_secs_f64(phase)).await;
        }
        let target = 1 - self.active.load(Ordering::Relaxed);
        let started = Instant::now();
        self.deploy(deployer, &self.versions[target]).await;
        let deployed = started.elapsed();
        // Another host switches at its next poll: a few milliseconds between calls meanwhile.
        while self.served_by(caller).await != target {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let served = started.elapsed();
        self.active.store(target, Ordering::Relaxed);
        Timing { deployed, served }
    }

    /// Which version answered a registration named `error-after-create`: 0 for the chaos
    /// fixture, 1 for the real component.
    async fn served_by(&self, app: &TestApp) -> usize {
        let n = self.registrations.fetch_add(1, Ordering::Relaxed);
        let mut applicant = application(&format!("deploy{n}@example.com"), PASSWORD);
        applicant["legal_name"] = "error-after-create".into();
        let reply = self
            .http
            .post(app.url("/v1/auth/register"))
            .json(&applicant)
            .send()
            .await
            .expect("a registration");
        let status = reply.status().as_u16();
        let body: Value = reply.json().await.unwrap_or(Value::Null);
        match status {
            422 if body["violations"][0]["code"] == "chaos.refused" => 0,
            202 | 422 => 1,
            _ => panic!("a registration answered {status}: {body}"),
        }
    }

    /// Times `rounds` switches and prints the medians of their parts.
    async fn print_parts(&self, what: &str, deployer: &TestApp, caller: &TestApp, rounds: usize) {
        let mut deployed = Vec::new();
        let mut served = Vec::new();
        for _ in 0..rounds {
            let timing = self.once(deployer, caller).await;
            deployed.push(timing.deployed);
            served.push(timing.served);
        }
        deployed.sort();
        served.sort();
        println!(
            "{what}, median of {rounds}: deploy answered after {:.1} ms, first call served by \
             the new version after {:.1} ms",
            deployed[rounds / 2].as_secs_f64() * 1e3,
            served[rounds / 2].as_secs_f64() * 1e3,
        );
    }
}

/// `iters` switches back to back, timed to the first call each new version served.
async fn switches(switch: &Switch, deployer: &TestApp, caller: &TestApp, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += switch.once(deployer, caller).await.served;
    }
    total
}

/// The part of a deploy that compiles the component and checks it against its world, alone.
fn compile(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kit = rt.block_on(usvc_testkit::OnboardingKit::new());
    let real = usvc_tests::built("onboarding.wasm");
    let mut group = c.benchmark_group("deploy");
    group.sample_size(10);
    group.bench_function(
        "compiling onboarding against its world (Registry::prepare)",
        |b| {
            b.iter(|| {
                kit.runtime()
                    .registry()
                    .prepare(ComponentKind::Onboarding, &real)
                    .unwrap()
            })
        },
    );
    group.finish();
}

fn same_host(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let signer = Signer::new();
    let app = rt.block_on(spawn_with(swap::host(Backend::Sqlite, &signer)));
    let switch = rt.block_on(Switch::new(&app, &signer));
    rt.block_on(switch.print_parts("one host, SQLite", &app, &app, 11));
    let mut group = c.benchmark_group("deploy");
    group.sample_size(20);
    group.bench_function(
        "deploy request → first call served by the new version (one host, SQLite)",
        |b| {
            b.to_async(&rt)
                .iter_custom(|iters| switches(&switch, &app, &app, iters))
        },
    );
    group.finish();
}

fn across_hosts(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let signer = Signer::new();
    let first = rt.block_on(spawn_with(swap::host(Backend::Postgres, &signer)));
    let second = rt.block_on(spawn_with(Spawn {
        database_url: Some(first.database_url.clone()),
        ..swap::host(Backend::Postgres, &signer)
    }));
    let switch = rt.block_on(Switch::new(&first, &signer));
    rt.block_on(switch.print_parts("two hosts, PostgreSQL", &first, &second, 11));
    let mut group = c.benchmark_group("deploy");
    // About a second per iteration: ten samples of one.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function(
        "deploy request on one host → first call served by the new version on another (PostgreSQL)",
        |b| {
            b.to_async(&rt)
                .iter_custom(|iters| switches(&switch, &first, &second, iters))
        },
    );
    group.finish();
}

criterion_group!(benches, compile, same_host, across_hosts);
criterion_main!(benches);
