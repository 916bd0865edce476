//! What one onboarding decision costs (fresh instance + call of the real component), and what a
//! whole `POST /v1/auth/register` costs over HTTP on the embedded SQLite default.

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use usvc::config::PasswordHashing;
use usvc_testkit::{Application, OnboardingKit};
use usvc_tests::{Backend, Spawn, application, spawn_with};

fn refused_application() -> Application {
    Application {
        email: "ada@example.com".into(),
        password: "short".into(),
        legal_name: "Ada Lovelace".into(),
        date_of_birth: "2015-01-01".into(),
        country_of_residence: "GB".into(),
        phone: None,
    }
}

fn onboarding_decision(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kit = rt.block_on(OnboardingKit::new());
    // A refused application: instantiate, run every rule, answer; no database write.
    c.bench_function(
        "onboarding decision (instantiate + register call, refused)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let outcome = kit.try_register(refused_application()).await.unwrap();
                assert!(outcome.is_err());
            })
        },
    );
    let n = AtomicU64::new(0);
    c.bench_function(
        "onboarding decision (instantiate + register call, accepted, in-memory db)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let i = n.fetch_add(1, Ordering::Relaxed);
                let mut app = refused_application();
                app.email = format!("bench{i}@example.com");
                app.password = "a long enough secret".into();
                app.date_of_birth = "1990-01-01".into();
                kit.try_register(app).await.unwrap().unwrap();
            })
        },
    );
}

fn register_request(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Production Argon2id cost: this is what a real registration request pays.
    let options = Spawn {
        password_hashing: PasswordHashing::default(),
        ..Spawn::new(Backend::Sqlite)
    };
    let app = rt.block_on(spawn_with(options));
    let n = AtomicU64::new(0);
    c.bench_function(
        "POST /v1/auth/register over HTTP (SQLite, production Argon2id)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let i = n.fetch_add(1, Ordering::Relaxed);
                let reply = app
                    .post(
                        "/v1/auth/register",
                        application(&format!("http{i}@example.com"), "a long enough secret"),
                    )
                    .await;
                assert_eq!(reply.status, 202);
            })
        },
    );
}

criterion_group!(benches, onboarding_decision, register_request);
criterion_main!(benches);
