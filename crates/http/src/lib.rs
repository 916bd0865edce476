//! The HTTP API (axum): one module per resource, each with its own router; this module
//! assembles them with the cross-cutting layers.

mod admin;
mod auth;
mod components;
mod contact;
mod decisions;
mod dev;
mod devices;
mod documents;
pub mod error;
mod extract;
mod health;
mod keys;
mod metrics;
mod mfa;
mod objects;
pub mod observe;
pub mod openapi;
mod password;
pub mod problems;
mod profile;
mod sessions;
mod users;
mod verification;

use std::time::Duration;
use usvc_core::failure::Failure;

use axum::{
    BoxError, Router,
    error_handling::HandleErrorLayer,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use tower::{ServiceBuilder, timeout::TimeoutLayer};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use error::{ApiError, Problem, problem_response};
pub use usvc_core::state::AppState;
use usvc_core::state::Mode;

/// No request may take longer than this, whatever it waits for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The internal address's router when `/metrics` has one of its own (`USVC_METRICS_ADDR`).
pub fn metrics_router(state: AppState) -> Router {
    metrics::router().with_state(state)
}

/// The public API. `with_metrics`: `/metrics` is served here too (no separate address).
pub fn router(state: AppState, mode: Mode, max_body_bytes: usize, with_metrics: bool) -> Router {
    let mut router = Router::new()
        .merge(health::router())
        .merge(admin::router())
        .merge(components::router())
        .merge(decisions::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(profile::router())
        .merge(contact::router())
        .merge(sessions::router())
        .merge(devices::router())
        .merge(password::router())
        .merge(keys::router())
        .merge(mfa::router())
        .merge(verification::router())
        .merge(documents::router())
        .merge(objects::router())
        .merge(openapi::router(mode));
    if mode == Mode::Development {
        router = router.merge(dev::router());
    }
    if with_metrics {
        router = router.merge(metrics::router());
    }
    router
        .fallback(|| async { ApiError::from(Failure::not_found("no such route")) })
        .method_not_allowed_fallback(|| async {
            problem_response(Problem {
                kind: problems::METHOD_NOT_ALLOWED,
                title: "Method not allowed",
                status: StatusCode::METHOD_NOT_ALLOWED.as_u16(),
                detail: None,
                reason: None,
                violations: Vec::new(),
            })
        })
        .with_state(state)
        // Answers carry tokens and personal data: no cache, shared or private, keeps one
        // (a route that means otherwise sets its own).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: BoxError| async {
                    ApiError::Timeout
                }))
                .layer(TimeoutLayer::new(REQUEST_TIMEOUT)),
        )
        .layer(CatchPanicLayer::custom(|_| panic_problem()))
        // Outside the panic and timeout layers, so their answers are logged and counted too.
        .layer(axum::middleware::from_fn(observe::request))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // The span only: `observe` writes the one line per request.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Method, path and request id only: query strings and bodies may carry personal data.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

fn panic_problem() -> Response {
    ApiError::from(anyhow::anyhow!("a request handler panicked")).into_response()
}
