//! Error tracking: with `USVC_SENTRY_DSN`, panics, `ERROR` log events (a 5xx answer, a gRPC
//! internal error, a background task's failure) and failed component calls are reported to
//! Sentry, each with the release and environment; in a request, with its id, method and route
//! template (never its concrete path). Every event passes [`scrub`](crate::scrub) last. Without a
//! DSN nothing here is installed.

use std::sync::Arc;

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::Next,
};
use sentry::{
    ClientInitGuard, ClientOptions, Hub, SentryFutureExt,
    protocol::{Breadcrumb, Event, Exception, Level as SentryLevel, Map, User, Value},
};
use tracing::{
    Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

use crate::{config::SentrySettings, scrub};

/// The release every event names: this build's version.
pub const RELEASE: &str = concat!("usvc@", env!("CARGO_PKG_VERSION"));

/// Binds a Sentry client to the process; events are sent on a thread of the client's own, and
/// the guard flushes them when dropped.
pub fn init(settings: &SentrySettings) -> ClientInitGuard {
    // The transport's TLS uses the process's rustls provider: ring, as every other client here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    sentry::init(options(settings))
}

/// Every event names the release and environment, carries no default personal data, and is
/// scrubbed last.
fn options(settings: &SentrySettings) -> ClientOptions {
    let mut options = ClientOptions::new();
    options.dsn = Some(settings.dsn.clone());
    options.release = Some(RELEASE.into());
    options.environment = Some(settings.environment.clone().into());
    options.send_default_pii = false;
    options.max_breadcrumbs = 50;
    options.before_send = Some(Arc::new(|event| Some(scrub::event(event))));
    options.before_breadcrumb = Some(Arc::new(|crumb| Some(scrub::breadcrumb(crumb))));
    options
}

/// Each HTTP request gets a Sentry hub of its own (its tags and breadcrumbs stay its own), named
/// by its method and route template and tagged with its `x-request-id`. A request that comes
/// without one is given it here (a UUID, as the HTTP stack would make), so that its events, its
/// log lines and its answer name the same id.
pub fn http(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(
        |mut request: Request, next: Next| {
            let route = match request.extensions().get::<MatchedPath>() {
                Some(route) => route.as_str().to_owned(),
                None => "(no route)".to_owned(),
            };
            let given = request.headers().get(REQUEST_ID);
            let id = match given.and_then(|id| id.to_str().ok()) {
                Some(id) => id.to_owned(),
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let value = HeaderValue::from_str(&id).expect("a UUID is a header value");
                    request.headers_mut().insert(REQUEST_ID, value);
                    id
                }
            };
            let hub = own_hub(&request, "http.route", &route);
            hub.configure_scope(|scope| scope.set_tag("request_id", id));
            next.run(request).bind_hub(hub)
        },
    ))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Each gRPC call gets a hub of its own, named by its method (`/usvc.v1.UserService/GetUser`).
pub fn grpc(routes: tonic::service::Routes) -> tonic::service::Routes {
    let router = routes.into_axum_router().layer(axum::middleware::from_fn(
        |request: Request, next: Next| {
            let rpc = request.uri().path().to_owned();
            let hub = own_hub(&request, "rpc.method", &rpc);
            next.run(request).bind_hub(hub)
        },
    ));
    tonic::service::Routes::from(router)
}

/// A hub for one request, on the process's client, with none of the process's breadcrumbs.
fn own_hub(request: &Request, tag: &str, route: &str) -> Arc<Hub> {
    let hub = Arc::new(Hub::new_from_top(Hub::main()));
    let method = request.method().as_str();
    hub.configure_scope(|scope| {
        scope.clear_breadcrumbs();
        scope.set_transaction(Some(&format!("{method} {route}")));
        scope.set_tag("http.method", method);
        scope.set_tag(tag, route);
    });
    hub
}

/// The `tracing` side: `ERROR` events, and the runtime's `WARN` that a component call failed or
/// timed out, become Sentry events; other `INFO` and `WARN` events become breadcrumbs of the
/// request they happened in. `tower_http`'s own `ERROR` for a 5xx stays a breadcrumb: the
/// answer's `request failed` is the event. It reports on the current hub: the request's, or the
/// process's outside one.
pub struct Reporter;

impl Reporter {
    /// A failed component call: the runtime's warning naming the component's digest.
    fn is_component_failure(metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == Level::WARN
            && metadata.target().starts_with("usvc_runtime")
            && metadata.fields().field("digest").is_some()
    }

    fn is_reported(metadata: &tracing::Metadata<'_>) -> bool {
        (*metadata.level() == Level::ERROR && !metadata.target().starts_with("tower_http"))
            || Self::is_component_failure(metadata)
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Reporter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        let component = Self::is_component_failure(metadata);
        let level = *metadata.level();
        if level > Level::INFO {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut fields = fields.0;
        let message = fields.remove("message").map(text);
        if !Self::is_reported(metadata) {
            sentry::add_breadcrumb(Breadcrumb {
                ty: "log".into(),
                category: Some(metadata.target().to_owned()),
                level: sentry_level(level),
                message,
                data: fields,
                ..Breadcrumb::default()
            });
            return;
        }
        let mut report = Event {
            level: sentry_level(level),
            logger: Some(metadata.target().to_owned()),
            ..Event::default()
        };
        if component {
            for (field, tag) in [("kind", "component.kind"), ("digest", "component.digest")] {
                if let Some(value) = fields.remove(field) {
                    report.tags.insert(tag.to_owned(), text(value));
                }
            }
        }
        if let Some(reason) = fields.remove("reason") {
            report.tags.insert("reason".to_owned(), text(reason));
        }
        if let Some(id) = fields.remove("user_id") {
            report.user = Some(User {
                id: Some(text(id)),
                ..User::default()
            });
        }
        // The error is the exception, the log line's message its type: Sentry groups by both.
        match fields.remove("error").map(text) {
            Some(error) => report.exception.values.push(Exception {
                ty: message.unwrap_or_else(|| metadata.target().to_owned()),
                value: Some(error),
                module: metadata.module_path().map(str::to_owned),
                ..Exception::default()
            }),
            None => report.message = message,
        }
        report.extra = fields;
        sentry::capture_event(report);
    }
}

fn sentry_level(level: Level) -> SentryLevel {
    match level {
        Level::ERROR => SentryLevel::Error,
        Level::WARN => SentryLevel::Warning,
        Level::INFO => SentryLevel::Info,
        _ => SentryLevel::Debug,
    }
}

/// A field's value as text (a string stays as it is).
fn text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// An event's or span's fields, as JSON values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn insert(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_owned(), value);
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::{http::StatusCode, routing::get};
    use tracing_subscriber::prelude::*;

    use super::*;

    /// Keeps the events the client would send.
    #[derive(Default)]
    struct Captured(Mutex<Vec<Event<'static>>>);

    impl sentry::Transport for Captured {
        fn send_envelope(&self, envelope: sentry::Envelope) {
            if let Some(event) = envelope.event() {
                self.0.lock().unwrap().push(event.clone());
            }
        }
    }

    impl Captured {
        fn on_route(&self, route: &str) -> Vec<Event<'static>> {
            let events = self.0.lock().unwrap();
            let on_route = |event: &&Event<'static>| {
                event.tags.get("http.route").map(String::as_str) == Some(route)
            };
            events.iter().filter(on_route).cloned().collect()
        }
    }

    #[tokio::test]
    async fn panics_and_errors_in_http_requests_and_grpc_calls_are_reported_with_them_scrubbed() {
        let captured = Arc::new(Captured::default());
        let settings = SentrySettings {
            dsn: "https://key@sentry.invalid/1".parse().unwrap(),
            environment: "unit-test".to_owned(),
        };
        let mut options = options(&settings);
        options.transport = Some(Arc::new(captured.clone()));
        let _sentry = sentry::init(options);
        // This test's thread only; the server below runs on it (a current-thread runtime).
        let _logs = tracing::subscriber::set_default(tracing_subscriber::registry().with(Reporter));
        let router = http(
            Router::new()
                .route(
                    "/v1/boom/{id}",
                    get(|| async {
                        if true {
                            panic!("boom for ada@example.com");
                        }
                        StatusCode::OK
                    }),
                )
                .route(
                    "/v1/fail/{id}",
                    get(|| async {
                        tracing::info!("looked for the customer");
                        tracing::error!(error = "no row for +447700900123", "request failed");
                        StatusCode::INTERNAL_SERVER_ERROR
                    }),
                ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();

        let failed = client
            .get(format!("{base}/v1/fail/private-segment"))
            .header("x-request-id", "req-1")
            .send();
        assert_eq!(failed.await.unwrap().status(), 500);
        let [event] = &captured.on_route("/v1/fail/{id}")[..] else {
            panic!("one event: {:?}", captured.0.lock().unwrap());
        };
        assert_eq!(event.release.as_deref(), Some(RELEASE));
        assert_eq!(event.environment.as_deref(), Some("unit-test"));
        assert_eq!(event.transaction.as_deref(), Some("GET /v1/fail/{id}"));
        assert_eq!(event.tags["request_id"], "req-1");
        assert_eq!(event.tags["http.method"], "GET");
        let exception = &event.exception.values[0];
        assert_eq!(exception.ty, "request failed");
        assert_eq!(
            exception.value.as_deref(),
            Some("no row for [redacted number]")
        );
        let crumbs: Vec<_> = event
            .breadcrumbs
            .iter()
            .map(|c| c.message.clone())
            .collect();
        assert_eq!(crumbs, [Some("looked for the customer".to_owned())]);

        // A panic is reported from the request's own hub: its route, not another request's tags.
        let boom = client.get(format!("{base}/v1/boom/private-segment")).send();
        assert!(boom.await.is_err(), "the connection ends with the panic");
        let [event] = &captured.on_route("/v1/boom/{id}")[..] else {
            panic!("one event: {:?}", captured.0.lock().unwrap());
        };
        assert_eq!(event.transaction.as_deref(), Some("GET /v1/boom/{id}"));
        // It sent none, and was given one.
        assert!(uuid::Uuid::parse_str(&event.tags["request_id"]).is_ok());
        assert!(event.breadcrumbs.is_empty());
        let exception = &event.exception.values[0];
        assert_eq!(exception.ty, "panic");
        assert_eq!(
            exception.value.as_deref(),
            Some("boom for [redacted email]")
        );

        // A gRPC call is named by its method; an internal error's reason is a tag.
        let rpc = "/usvc.v1.UserService/GetUser";
        let routes = grpc(tonic::service::Routes::from(Router::new().route(
            rpc,
            axum::routing::post(|| async {
                tracing::error!(
                    reason = "internal",
                    error = "a sealed row does not open",
                    "request failed"
                );
                StatusCode::OK
            }),
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_base = format!("http://{}", listener.local_addr().unwrap());
        let router = routes.into_axum_router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let called = client.post(format!("{grpc_base}{rpc}")).send();
        assert_eq!(called.await.unwrap().status(), 200);
        let events = captured.0.lock().unwrap().clone();
        let event = events
            .iter()
            .find(|event| event.tags.get("rpc.method").map(String::as_str) == Some(rpc))
            .expect("the gRPC error is reported");
        assert_eq!(
            event.transaction.as_deref(),
            Some("POST /usvc.v1.UserService/GetUser")
        );
        assert_eq!(event.tags["reason"], "internal");
        assert!(!event.tags.contains_key("http.route"));

        let sent = format!("{:?}", captured.0.lock().unwrap());
        assert!(!sent.contains("private-segment"), "{sent}");
    }
}
