//! Hot swaps under traffic: customers registering, confirming and logging in while two versions
//! of the onboarding component alternate every second see no failed request, and every swap is
//! recorded.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use usvc_tests::{
    Backend, backends, spawn_with,
    swap::{self, Signer},
};

backends!(swapping_versions_every_second_fails_no_request);

async fn swapping_versions_every_second_fails_no_request(backend: Backend) {
    let signer = Signer::new();
    let app = spawn_with(swap::host(backend, &signer)).await;
    let admin = swap::administrator(&app).await;
    let versions = swap::onboarding_versions(&signer);
    let digests: Vec<Value> = versions
        .iter()
        .map(|v| json!(v.manifest.component_sha256))
        .collect();
    assert_ne!(digests[0], digests[1], "two digests");

    let mut outcome = swap::run(
        &app,
        &admin,
        &versions,
        4,
        Duration::from_secs(6),
        Duration::from_secs(1),
    )
    .await;

    assert!(
        outcome.failed_swaps.is_empty(),
        "{:?}",
        outcome.failed_swaps
    );
    assert!(
        outcome.swaps.len() >= 4,
        "only {} swaps in {:?}",
        outcome.swaps.len(),
        outcome.elapsed
    );
    for kind in ["register", "mailbox", "verify-email", "login"] {
        let requests = outcome.requests.entry(kind).or_default();
        assert_eq!(
            requests.failed,
            0,
            "{kind}: {} of {} failed, e.g. {:?}",
            requests.failed,
            requests.total(),
            requests.examples
        );
        assert!(
            requests.total() >= 10,
            "{kind}: {} requests",
            requests.total()
        );
    }
    // Every registration was onboarded to the end: nothing was lost across a swap.
    let registered = outcome.requests["register"].total();
    assert_eq!(outcome.requests["login"].total(), registered);
    // A customer per registration, and the administrator.
    assert_eq!(app.users().await.len() as u64, registered + 1);

    // Both versions were active, each swap is in the history and the event log.
    let history = app
        .request_json(Method::GET, "/v1/admin/components", Some(&admin), None)
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let onboarding = history.body["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "onboarding")
        .unwrap()
        .clone();
    let stored: Vec<&Value> = onboarding["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["digest"])
        .collect();
    assert_eq!(stored.len(), 2, "{onboarding}");
    assert!(digests.iter().all(|d| stored.contains(&d)), "{onboarding}");
    // The last swap (number n - 1) activated A' when n is odd, A when n is even.
    let last = &digests[outcome.swaps.len() % 2];
    assert_eq!(&onboarding["active"], last, "{onboarding}");
    let switches: Vec<Value> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type.starts_with("component."))
        .map(|e| e.data["digest"].clone())
        .collect();
    assert_eq!(switches.len(), outcome.swaps.len());
    for (i, digest) in switches.iter().enumerate() {
        assert_eq!(digest, &digests[(i + 1) % 2], "swap {i}");
    }
}
