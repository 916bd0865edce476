//! Development-only routes: the mailbox of messages customers would have received, and a page
//! to try the API from a browser (`/dev/api`, served from the binary, no CDN). Never mounted in
//! production mode.

use axum::{
    Json, Router,
    extract::{Query, State, rejection::QueryRejection},
    response::Html,
    routing::get,
};
use serde::Deserialize;

use super::{
    AppState,
    error::{ApiError, Problem},
};
use usvc_core::notify::Notification;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/mailbox", get(mailbox))
        .route("/dev/api", get(api_page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MailboxQuery {
    /// Only the messages sent to this address or number.
    to: Option<String>,
}

/// The messages customers would have received, oldest first, with their one-time codes
/// (development mode only).
#[utoipa::path(
    get, path = "/dev/mailbox", tag = "development",
    params(MailboxQuery),
    responses(
        (status = 200, description = "The messages.", body = Vec<Object>),
        (status = 400, description = "The query is malformed.", body = Problem),
    ),
)]
async fn mailbox(
    State(state): State<AppState>,
    query: Result<Query<MailboxQuery>, QueryRejection>,
) -> Result<Json<Vec<Notification>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let messages = state
        .mailbox
        .as_ref()
        .map(|m| m.messages(query.to.as_deref()))
        .unwrap_or_default();
    Ok(Json(messages))
}

/// A page that lists the operations of `/openapi.json` and sends requests with a bearer token
/// (development mode only).
#[utoipa::path(
    get, path = "/dev/api", tag = "development",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
async fn api_page() -> Html<&'static str> {
    Html(include_str!("dev_api.html"))
}
