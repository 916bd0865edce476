//! Hot swaps under traffic: customers registering, confirming their address and logging in
//! while an administrator alternates two versions of the onboarding component (the same build
//! under two digests) through the admin API. Every request is counted; a transport error, a 5xx
//! or any status other than the expected one is a failed request. Shared by the `swap_load`
//! bench and the HTTP test that swaps every second.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use usvc::{
    config::{Limits, Mode, Rate},
    runtime::{
        ComponentKind,
        artifact::{self, Artifact, Draft},
    },
};

use crate::{Backend, Spawn, TestApp, application, built, signing_key_pem};

pub const PASSWORD: &str = "grace hopper 1906";

/// A signer the host trusts: its key and the `USVC_COMPONENT_SIGNERS` text.
pub struct Signer {
    pub pem: String,
    pub trusted: String,
}

impl Signer {
    pub fn new() -> Self {
        let pem = usvc::auth::tokens::generate_pem().expect("a key");
        let public = usvc::grpc::callers::public_key(&pem).expect("its public key");
        Self {
            trusted: format!("compliance={public}"),
            pem,
        }
    }

    /// `component` signed as version `version` of `kind`.
    pub fn sign(&self, component: &[u8], kind: ComponentKind, version: &str) -> Artifact {
        let draft = Draft {
            kind,
            version,
            description: "a version swapped under load",
            author: "compliance team",
        };
        artifact::sign(component, draft, "compliance", &self.pem).expect("signing")
    }
}

impl Default for Signer {
    fn default() -> Self {
        Self::new()
    }
}

/// A development host (it has the mailbox the traffic reads its codes from) trusting `signer`,
/// with limits no load reaches: the run measures swaps, not throttling. Hashing keeps
/// [`Spawn::new`]'s cheap Argon2id, so the traffic is not bound by password hashing.
pub fn host(backend: Backend, signer: &Signer) -> Spawn {
    let unlimited = Rate {
        max: u32::MAX,
        per: Duration::from_secs(1),
    };
    Spawn {
        mode: Mode::Development,
        signing_key_pem: Some(signing_key_pem(7)),
        component_signers: signer.trusted.clone(),
        limits: Limits {
            login_per_ip: unlimited,
            login_per_account: unlimited,
            register_per_ip: unlimited,
            code_sends_per_account: unlimited,
            code_checks_per_ip: unlimited,
            code_checks_per_account: unlimited,
            ..Limits::default()
        },
        ..Spawn::new(backend)
    }
}

/// An administrator's access token.
pub async fn administrator(app: &TestApp) -> String {
    let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com", PASSWORD, &access).await
}

/// The real onboarding component as version A and a variant of it (same behaviour, another
/// digest) as A'.
pub fn onboarding_versions(signer: &Signer) -> [Artifact; 2] {
    let real = built("onboarding.wasm");
    [
        signer.sign(&real, ComponentKind::Onboarding, "1.0.0"),
        signer.sign(
            &crate::variant(&real, "swap-load"),
            ComponentKind::Onboarding,
            "1.0.1",
        ),
    ]
}

/// The requests of one kind: how they ended and how long the expected ones took.
#[derive(Debug, Default, Clone)]
pub struct Requests {
    /// Responses by status class (`2xx`, `4xx`, `5xx`…).
    pub classes: BTreeMap<String, u64>,
    pub transport_errors: u64,
    /// Transport errors, 5xx and unexpected statuses.
    pub failed: u64,
    /// The latency of every request that got a response.
    pub latencies: Vec<Duration>,
    /// A few failures, for the report.
    pub examples: Vec<String>,
}

impl Requests {
    pub fn total(&self) -> u64 {
        self.classes.values().sum::<u64>() + self.transport_errors
    }

    /// The latency at quantile `q` (0.5 for the median).
    pub fn quantile(&mut self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        self.latencies.sort();
        let rank = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[rank]
    }

    fn failure(&mut self, what: String) {
        self.failed += 1;
        if self.examples.len() < 5 {
            self.examples.push(what);
        }
    }
}

/// What a run saw: requests by kind (`register`, `mailbox`, `verify-email`, `login`), the swaps.
#[derive(Debug, Default)]
pub struct Outcome {
    pub requests: BTreeMap<&'static str, Requests>,
    /// Deploys and rollbacks that activated the other version, and how long each took.
    pub swaps: Vec<Duration>,
    pub failed_swaps: Vec<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn failed_requests(&self) -> u64 {
        self.requests.values().map(|r| r.failed).sum()
    }
}

/// Runs `clients` customers' traffic for `duration` while the onboarding component alternates
/// between `versions` every `every` (never when it is zero, for a baseline): deploy A', deploy
/// A, roll back to A', roll back to A, deploy A' again, and so on.
pub async fn run(
    app: &TestApp,
    admin: &str,
    versions: &[Artifact; 2],
    clients: usize,
    duration: Duration,
    every: Duration,
) -> Outcome {
    let tally = Arc::new(Mutex::new(BTreeMap::<&'static str, Requests>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let traffic: Vec<_> = (0..clients)
        .map(|client| {
            let customer = Customer {
                http: http.clone(),
                base: app.base.clone(),
                tally: tally.clone(),
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    customer
                        .onboard(&format!("swap{client}-{n}@example.com"))
                        .await;
                    n += 1;
                }
            })
        })
        .collect();

    let mut outcome = Outcome::default();
    let mut swap = 0;
    let mut next = started + every / 2;
    while !every.is_zero() && next < started + duration {
        tokio::time::sleep_until(next.into()).await;
        next += every;
        let switch = Instant::now();
        match activate(&http, app, admin, versions, swap).await {
            Ok(()) => outcome.swaps.push(switch.elapsed()),
            Err(why) => outcome.failed_swaps.push(why),
        }
        swap += 1;
    }
    tokio::time::sleep_until((started + duration).into()).await;
    stop.store(true, Ordering::Relaxed);
    for customer in traffic {
        customer.await.expect("a customer's traffic");
    }
    outcome.elapsed = started.elapsed();
    outcome.requests = std::mem::take(&mut *tally.lock().unwrap());
    outcome
}

/// Swap number `swap`: activates `versions[1]` on even swaps and `versions[0]` on odd ones; by
/// a deploy for the first two and every other pair after, by a rollback for the rest.
async fn activate(
    http: &reqwest::Client,
    app: &TestApp,
    admin: &str,
    versions: &[Artifact; 2],
    swap: usize,
) -> Result<(), String> {
    let target = &versions[(swap + 1) % 2];
    let digest = &target.manifest.component_sha256;
    let (request, expected) = if (swap / 2).is_multiple_of(2) {
        let body = serde_json::to_vec(target).expect("JSON");
        // Back and forth between two versions on purpose: every other deploy is a downgrade.
        let request = http
            .post(app.url("/v1/admin/components?allow_downgrade=true"))
            .header("content-type", "application/json")
            .body(body);
        (request, 201)
    } else {
        let request = http
            .post(app.url("/v1/admin/components/onboarding/rollback"))
            .json(&json!({ "digest": digest }));
        (request, 200)
    };
    let response = request
        .bearer_auth(admin)
        .send()
        .await
        .map_err(|e| format!("swap {swap}: {e}"))?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != expected || body["digest"] != json!(digest) || body["status"] != "active" {
        return Err(format!("swap {swap}: {status} {body}"));
    }
    Ok(())
}

/// One client of the service, counting what it sees.
struct Customer {
    http: reqwest::Client,
    base: String,
    tally: Arc<Mutex<BTreeMap<&'static str, Requests>>>,
}

impl Customer {
    /// Registers `email`, reads the code from the mailbox, confirms it and logs in; stops at the
    /// first failed step.
    async fn onboard(&self, email: &str) {
        let register = self.http.post(self.url("/v1/auth/register"));
        let register = register.json(&application(email, PASSWORD));
        if self.send("register", register, 202).await.is_none() {
            return;
        }
        let mailbox = self
            .http
            .get(self.url("/dev/mailbox"))
            .query(&[("to", email)]);
        let Some(messages) = self.send("mailbox", mailbox, 200).await else {
            return;
        };
        let code = messages.as_array().and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m["notice"] == "email_verification")
                .and_then(|m| m["code"].as_str().map(str::to_owned))
        });
        let Some(code) = code else {
            let mut tally = self.tally.lock().unwrap();
            let mailbox = tally.entry("mailbox").or_default();
            mailbox.failure(format!("no verification code for {email}: {messages}"));
            return;
        };
        let confirm = self.http.post(self.url("/v1/auth/verify-email"));
        let confirm = confirm.json(&json!({"email": email, "code": code}));
        if self.send("verify-email", confirm, 200).await.is_none() {
            return;
        }
        let login = self.http.post(self.url("/v1/auth/login"));
        let login = login.json(&json!({"email": email, "password": PASSWORD}));
        self.send("login", login, 200).await;
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` and counts it under `kind`; the body when the status is `expected`.
    async fn send(
        &self,
        kind: &'static str,
        request: reqwest::RequestBuilder,
        expected: u16,
    ) -> Option<Value> {
        let started = Instant::now();
        let response = request.send().await;
        let answer = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(body) => Ok((status, body)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        let mut tally = self.tally.lock().unwrap();
        let requests = tally.entry(kind).or_default();
        match answer {
            Err(e) => {
                requests.transport_errors += 1;
                requests.failure(format!("{kind}: {e}"));
                None
            }
            Ok((status, body)) => {
                *requests
                    .classes
                    .entry(format!("{}xx", status / 100))
                    .or_default() += 1;
                requests.latencies.push(elapsed);
                if status != expected {
                    let text = String::from_utf8_lossy(&body);
                    requests.failure(format!("{kind}: {status} {text}"));
                    return None;
                }
                Some(serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
        }
    }
}
