//! Every request observed once, whatever answered it (a handler, a timeout, a panic): it runs in
//! its W3C trace, then gets one log line (request id, trace id, method, route template, status,
//! latency, the customer when one authenticated) and its metrics (`usvc_http_requests_total`,
//! `usvc_http_request_duration_seconds`). Routes are templates, never concrete paths: ids would
//! leak and explode the metrics' cardinality.

use std::{
    sync::{Arc, OnceLock},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use opentelemetry_http::HeaderExtractor;
use usvc_core::trace::Trace;

use super::REQUEST_ID;

/// The customer a request acted for, once the bearer token named one; read for the log line.
#[derive(Clone, Default)]
pub struct RequestUser(Arc<OnceLock<String>>);

impl RequestUser {
    pub fn set(&self, user_id: &str) {
        let _ = self.0.set(user_id.to_owned());
    }
}

pub async fn request(mut request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let request_id = header(request.headers(), REQUEST_ID.as_str());
    let trace = Trace::continue_from(&HeaderExtractor(request.headers()));
    let trace_id = trace.trace_id();
    let user = RequestUser::default();
    request.extensions_mut().insert(user.clone());

    let started = Instant::now();
    let response = trace.scope(next.run(request)).await;
    let latency = started.elapsed();

    let status = response.status().as_u16();
    tracing::info!(
        request_id = %request_id,
        trace_id = %trace_id,
        method = %method,
        route = %route,
        status,
        latency_ms = latency.as_secs_f64() * 1e3,
        user_id = %user.0.get().map_or("-", String::as_str),
        "request"
    );
    metrics::histogram!(
        "usvc_http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone(),
    )
    .record(latency.as_secs_f64());
    metrics::counter!(
        "usvc_http_requests_total",
        "method" => method,
        "route" => route,
        "status" => status.to_string(),
    )
    .increment(1);
    response
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
