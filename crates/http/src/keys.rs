//! `/.well-known/jwks.json`: the public keys that verify usvc's access tokens.

use axum::{Json, Router, extract::State, routing::get};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

/// The public keys (JWKS) that verify usvc's access tokens.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "operations",
    responses((status = 200, description = "A JSON Web Key Set.", body = Object)),
)]
async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.tokens.jwks())
}
