//! `GET /metrics`: Prometheus text exposition (`observe` counts and times the requests). Mount it
//! for the monitoring network only; the gateway must not route it.

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
