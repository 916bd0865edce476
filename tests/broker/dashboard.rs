//! The on-call dashboard and the alert rules watch only what the service exports: a service at
//! work (HTTP and gRPC, logins, a refusal, component calls, events on RabbitMQ, a KYC result and
//! a dead-lettered message, the bank's services, Redis) is scraped, and every `usvc_*` metric
//! that `monitoring/` names has a series in `/metrics`.

use std::{collections::BTreeSet, time::Duration};

use reqwest::Method;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use usvc::config::Rate;
use usvc_tests::{Backend, Spawn, bank::BankServer, redis_url, verification::VERIFICATION};

use crate::{
    BROKER,
    fixture::{KycService, PASSWORD, check_completed, new_id, open_check, wait_for_result},
};

/// Metrics the rules name that only a rare failure creates, by a label known only then.
const ONLY_ON_FAILURE: [&str; 1] = [
    // Per event type, when a record due after an answer could not be written.
    "usvc_deferred_records_lost_total",
];

/// Every `usvc_*` metric family a file names (histogram series by their family).
fn metrics_named(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("usvc_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(family.to_owned());
        rest = &tail[end..];
    }
    names
}

/// Whether the exposition has a sample of the family `name`.
fn exported(text: &str, name: &str) -> bool {
    let starts = [
        format!("{name}{{"),
        format!("{name} "),
        format!("{name}_bucket{{"),
    ];
    text.lines()
        .any(|line| starts.iter().any(|start| line.starts_with(start.as_str())))
}

#[tokio::test]
async fn every_metric_the_dashboard_and_the_rules_watch_is_exported() {
    let _shared = BROKER.read().await;
    let kyc = KycService::start().await;
    let bank = BankServer::start().await;
    let mut options = Spawn {
        redis_url: Some(redis_url()),
        kyc_url: Some(bank.url()),
        notification_url: Some(bank.url()),
        audit_url: Some(bank.url()),
        ..Spawn::new(Backend::Postgres)
    };
    options.limits.register_per_ip = Rate {
        max: 1,
        per: Duration::from_secs(60),
    };
    let mut app = kyc.app_with(options).await;

    // Logins, component calls, events, notices through the bank's service.
    let (access, user) = app
        .verifiable_customer("dashboard@example.com", PASSWORD)
        .await;
    app.wrong_password("dashboard@example.com", "not it").await;
    // A second registration from the same address is refused by the guard.
    let refused = app
        .post(
            "/v1/auth/register",
            usvc_tests::application("second@example.com", PASSWORD),
        )
        .await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    // A verification: the check goes to the bank's KYC service, the result comes over the bus.
    app.confirmed_document(&user, "passport", "123456789").await;
    kyc.wait_for_consumer().await;
    let asked = app
        .request_json(Method::POST, VERIFICATION, Some(&access), None)
        .await;
    assert!(asked.status < 300, "{:?}", asked.body);
    let check = open_check(&app, &user).await;
    let result = new_id();
    kyc.publish_json(&check_completed(&result, &user, &check, "approved"))
        .await;
    wait_for_result(&app, &user, &result).await;
    // A message nobody can read goes to the dead-letter queue.
    kyc.publish(b"not json").await;
    assert_eq!(kyc.dead_letters(1, Duration::from_secs(10)).await.len(), 1);
    // A gRPC call.
    let channel = tonic::transport::Endpoint::from_shared(app.grpc.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .expect("health");

    let dashboard = include_str!("../../monitoring/grafana/dashboards/usvc.json");
    let rules = include_str!("../../monitoring/prometheus/rules.yml");
    let mut watched = metrics_named(dashboard);
    watched.extend(metrics_named(rules));
    assert!(watched.len() > 20, "{watched:?}");
    for rare in ONLY_ON_FAILURE {
        assert!(watched.remove(rare), "{rare} is still watched");
    }

    // Some series appear a moment later: the relay's next round, the next DLQ measure.
    let mut missing = watched.clone();
    for _ in 0..50 {
        let scraped = app.get("/metrics", None).await;
        let text = scraped.body.as_str().expect("text").to_owned();
        missing.retain(|name| !exported(&text, name));
        // Presence only: the tests in this process share one recorder, and their consumers
        // share the label `consumer="kyc_results"`, so a value here may be another app's.
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(missing.is_empty(), "watched but not exported: {missing:?}");
    app.shut_down().await;
}
