//! Every gRPC call observed once: it runs in its W3C trace (`traceparent` metadata continued),
//! gets one log line (request id, trace id, method, status code, latency, the customer when the
//! call acted for one) and its metrics by method and code (`usvc_grpc_requests_total`,
//! `usvc_grpc_request_duration_seconds`). Unknown methods share one label, so a caller cannot
//! grow the metric without bound.

use std::{
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::Instant,
};

use opentelemetry_http::HeaderExtractor;
use tonic::codegen::http;
use tower::{Layer, Service};
use usvc_core::trace::Trace;

/// The customer a call acted for, once its `x-user-token` named one; read for the log line.
#[derive(Clone, Default)]
pub struct CallUser(Arc<OnceLock<String>>);

impl CallUser {
    pub fn set(&self, user_id: &str) {
        let _ = self.0.set(user_id.to_owned());
    }
}

#[derive(Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe(inner)
    }
}

#[derive(Clone)]
pub struct Observe<S>(S);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let trace = Trace::continue_from(&HeaderExtractor(request.headers()));
        let trace_id = trace.trace_id();
        let user = CallUser::default();
        request.extensions_mut().insert(user.clone());
        let started = Instant::now();
        let call = trace.scope(self.0.call(request));
        Box::pin(async move {
            let response = call.await;
            // Unary calls that fail answer "trailers-only": the status is in the headers. A
            // response without one carries its status in the trailers, which is OK for unary.
            let code = match &response {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                Err(_) => tonic::Code::Internal,
            };
            let method = if code == tonic::Code::Unimplemented {
                "unknown".to_owned()
            } else {
                method
            };
            let latency = started.elapsed();
            let labels = [("method", method.clone()), ("code", format!("{code:?}"))];
            metrics::counter!("usvc_grpc_requests_total", &labels).increment(1);
            metrics::histogram!("usvc_grpc_request_duration_seconds", &labels)
                .record(latency.as_secs_f64());
            tracing::info!(
                request_id = %request_id,
                trace_id = %trace_id,
                method = %method,
                code = ?code,
                latency_ms = latency.as_secs_f64() * 1e3,
                user_id = %user.0.get().map_or("-", String::as_str),
                "gRPC call"
            );
            response
        })
    }
}
