//! Counts and times every gRPC call by method and status code (`usvc_grpc_requests_total`,
//! `usvc_grpc_request_duration_seconds`), and logs failed calls. Unknown methods share one label,
//! so a caller cannot grow the metric without bound.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use tonic::codegen::http;
use tower::{Layer, Service};

#[derive(Clone, Copy, Default)]
pub struct CallMetricsLayer;

impl<S> Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallMetrics(inner)
    }
}

#[derive(Clone)]
pub struct CallMetrics<S>(S);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for CallMetrics<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let call = self.0.call(request);
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
            if code != tonic::Code::Ok {
                tracing::info!(%method, ?code, latency_ms = latency.as_secs_f64() * 1e3, "gRPC call failed");
            }
            response
        })
    }
}
