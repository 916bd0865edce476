//! Error tracking: the real binary with `USVC_SENTRY_DSN` pointing at a local server that takes
//! Sentry envelopes. A component traps through a real route, with personal data in the request
//! and in the component's panic message; what arrives names the request, route, release,
//! environment and component, and what was personal does not arrive at all.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use serde_json::Value;
use sha2::{Digest, Sha256};
use usvc_tests::{application, components_dir, process::HostProcess};

/// Envelopes received, as raw bytes.
type Received = Arc<Mutex<Vec<Bytes>>>;

/// A server that accepts `POST /api/<project>/envelope/` as Sentry does, on a free port; its DSN
/// and what it received.
async fn envelope_server() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/api/{project}/envelope/",
            post(|State(received): State<Received>, body: Bytes| async move {
                received.lock().unwrap().push(body);
                "{}"
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://0123456789abcdef@{addr}/42"), received)
}

/// The events in an envelope: each item whose header says `"type":"event"` is followed by its
/// payload on the next line.
fn events_in(envelope: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(envelope).expect("an envelope is UTF-8 JSON lines");
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|pair| {
            serde_json::from_str::<Value>(pair[0]).is_ok_and(|header| header["type"] == "event")
        })
        .map(|pair| serde_json::from_str(pair[1]).expect("an event is JSON"))
        .collect()
}

/// Waits until `count` events tagged with `request_id` arrived.
async fn events_of(received: &Received, request_id: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let events: Vec<Value> = received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|envelope| events_in(envelope))
            .filter(|event| event["tags"]["request_id"] == request_id)
            .collect();
        if events.len() >= count {
            return events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{count} events for {request_id} never arrived; got {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_component_trap_is_reported_without_personal_data() {
    let (dsn, received) = envelope_server().await;
    // The chaos fixture is the onboarding component.
    let fixture = std::fs::read(components_dir().join("chaos-onboarding.wasm"))
        .expect("chaos-onboarding.wasm: run `make components`");
    let dir = std::env::temp_dir().join(format!("usvc-sentry-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("onboarding.wasm"), &fixture).unwrap();
    for kind in ["mfa", "verification"] {
        let file = format!("{kind}.wasm");
        std::fs::copy(components_dir().join(&file), dir.join(&file)).unwrap();
    }
    let host = HostProcess::start(&[
        ("USVC_SENTRY_DSN", dsn.as_str()),
        ("USVC_SENTRY_ENVIRONMENT", "sentry-test"),
        ("USVC_COMPONENTS_DIR", dir.to_str().unwrap()),
    ])
    .await;

    let email = "grace.hopper.4471@example.org";
    let password = "cobol compiler 1959 secret";
    let phone = "+447700900987";
    let national_id = "850101234567";
    let token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJncmFjZSJ9.c2lnbmVkLWJ5LW5vYm9keQ";
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut body = application(email, password);
    body["legal_name"] = "trap-loudly".into();
    body["phone"] = phone.into();
    let response = host
        .http
        .post(host.url(&format!(
            "/v1/auth/register?ref={email}&national_id={national_id}"
        )))
        .header("x-request-id", &request_id)
        .header("authorization", format!("Bearer {token}"))
        .header("cookie", format!("session={token}"))
        .header("x-customer-email", email)
        .header("x-national-id", national_id)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-request-id"], request_id.as_str());

    // Two events: the failed component call, and the 5xx it was answered with (not a third
    // for the HTTP stack's own log line about the 5xx).
    events_of(&received, &request_id, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = events_of(&received, &request_id, 2).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    for event in &events {
        assert_eq!(
            event["release"],
            concat!("usvc@", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(event["environment"], "sentry-test");
        assert_eq!(event["transaction"], "POST /v1/auth/register");
        assert_eq!(event["tags"]["http.route"], "/v1/auth/register");
        assert_eq!(event["tags"]["http.method"], "POST");
        assert!(event.get("user").is_none(), "{event:#}");
    }
    let trap = events
        .iter()
        .find(|event| event["tags"].get("component.kind").is_some())
        .expect("the failed component call is reported");
    assert_eq!(trap["tags"]["component.kind"], "onboarding");
    assert_eq!(
        trap["tags"]["component.digest"],
        hex::encode(Sha256::digest(&fixture))
    );
    assert_eq!(trap["level"], "warning");
    // The panic message is there, with the email and phone it carried redacted.
    let stderr = trap["extra"]["stderr"]
        .as_str()
        .expect("the component's stderr");
    assert!(
        stderr.contains("cannot register [redacted email] (phone [redacted number])"),
        "{stderr}"
    );
    let answered = events
        .iter()
        .find(|event| event["exception"]["values"][0]["type"] == "request failed")
        .expect("the 5xx answer is reported");
    // `error` is Sentry's default level, which the envelope leaves out.
    assert!(answered.get("level").is_none_or(|level| level == "error"));
    assert!(answered["tags"].get("component.kind").is_none());
    let exception = &answered["exception"]["values"][0];
    assert!(
        exception["value"]
            .as_str()
            .is_some_and(|value| value.contains("the onboarding component failed")),
        "{exception:#}"
    );

    // Nothing personal or secret arrived, in any envelope, anywhere.
    let everything: Vec<u8> = received.lock().unwrap().concat();
    let everything = String::from_utf8_lossy(&everything);
    for secret in [
        email,
        "grace.hopper",
        password,
        phone,
        "7700900987",
        national_id,
        token,
        "ref=",
        "/v1/auth/register?",
    ] {
        assert!(
            !everything.contains(secret),
            "{secret:?} reached Sentry: {everything}"
        );
    }
    drop(host);
    let _ = std::fs::remove_dir_all(dir);
}
