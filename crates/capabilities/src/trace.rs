//! W3C Trace Context: the trace a request runs in. A front door continues the caller's valid
//! `traceparent` (or starts a trace) and runs the request in [`Trace::scope`]; everything the
//! request causes on its task reads [`Trace::current`]: the outbox stamps its events with it and
//! the bank's gRPC clients send it on. Parsing and formatting are OpenTelemetry's propagator.

use std::collections::HashMap;

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{SpanContext, TraceContextExt, TraceFlags, TraceState},
};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{IdGenerator, RandomIdGenerator},
};

/// The header (and metadata key, and message header) that carries a trace.
pub const TRACEPARENT: &str = "traceparent";

/// usvc's span in a trace: the caller's trace id (or a new one) and a span id of its own, which
/// is the parent every outgoing call and event names.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace(SpanContext);

tokio::task_local! {
    static CURRENT: Trace;
}

impl Trace {
    /// Continues the trace `carrier` names in a valid `traceparent` (and `tracestate`), or starts
    /// a new, sampled one when there is none or it does not parse.
    pub fn continue_from(carrier: &dyn Extractor) -> Self {
        let caller = TraceContextPropagator::new().extract(carrier);
        let parent = caller.span().span_context().clone();
        let ids = RandomIdGenerator::default();
        if parent.is_valid() {
            Self(SpanContext::new(
                parent.trace_id(),
                ids.new_span_id(),
                parent.trace_flags(),
                false,
                parent.trace_state().clone(),
            ))
        } else {
            Self(SpanContext::new(
                ids.new_trace_id(),
                ids.new_span_id(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ))
        }
    }

    /// Continues the trace of one `traceparent` value (an event's, say).
    pub fn continue_from_header(traceparent: Option<&str>) -> Self {
        let mut carrier = HashMap::new();
        if let Some(value) = traceparent {
            carrier.insert(TRACEPARENT.to_owned(), value.to_owned());
        }
        Self::continue_from(&carrier)
    }

    /// The trace id, 32 lowercase hex digits: what log lines carry.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }

    /// The `traceparent` that names this span as the parent.
    pub fn traceparent(&self) -> String {
        let mut carrier = HashMap::new();
        self.inject(&mut carrier);
        carrier.remove(TRACEPARENT).unwrap_or_default()
    }

    /// Writes `traceparent` (and `tracestate`, when the caller sent one) into `carrier`.
    pub fn inject(&self, carrier: &mut dyn Injector) {
        let context = Context::new().with_remote_span_context(self.0.clone());
        TraceContextPropagator::new().inject_context(&context, carrier);
    }

    /// Runs `work` in this trace.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The trace the running task is in, if a front door started one.
    pub fn current() -> Option<Trace> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

/// `work`, to run in the trace that is current now: for a task a request spawns.
pub fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let trace = Trace::current();
    async move {
        match trace {
            Some(trace) => trace.scope(work).await,
            None => work.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_continued_with_a_span_of_our_own() {
        let trace = Trace::continue_from_header(Some(CALLER));
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let ours = trace.traceparent();
        assert!(
            ours.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{ours}"
        );
        assert!(ours.ends_with("-01"), "{ours}");
        assert_ne!(
            ours, CALLER,
            "the parent we send on is our span, not the caller's"
        );
        assert_eq!(ours.len(), CALLER.len());
    }

    #[test]
    fn a_missing_or_malformed_traceparent_starts_a_new_trace() {
        for header in [
            None,
            Some("garbage"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
        ] {
            let trace = Trace::continue_from_header(header);
            assert_ne!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_eq!(trace.trace_id().len(), 32);
            assert_ne!(trace.trace_id(), "0".repeat(32), "{header:?}");
        }
        let a = Trace::continue_from_header(None);
        let b = Trace::continue_from_header(None);
        assert_ne!(a.trace_id(), b.trace_id());
    }

    #[tokio::test]
    async fn the_current_trace_is_the_scope_s() {
        assert_eq!(Trace::current(), None);
        let trace = Trace::continue_from_header(Some(CALLER));
        let seen = trace.clone().scope(async { Trace::current() }).await;
        assert_eq!(seen, Some(trace.clone()));
        assert_eq!(Trace::current(), None);
        let spawned = trace
            .clone()
            .scope(async { tokio::spawn(carried(async { Trace::current() })).await })
            .await;
        // A spawned task does not inherit task-locals: only `carried` brings the trace along.
        assert_eq!(spawned.unwrap(), Some(trace), "carried into a spawned task");
    }
}
