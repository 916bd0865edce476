//! `/.well-known/jwks.json`: the public keys that verify usvc's access tokens.

use axum::{Json, Router, extract::State, routing::get};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.tokens.jwks())
}
