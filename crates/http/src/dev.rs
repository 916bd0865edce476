//! Development-only routes: the mailbox of messages customers would have received. Never
//! mounted in production mode.

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use serde::Deserialize;

use super::AppState;
use usvc_core::notify::Notification;

pub fn router() -> Router<AppState> {
    Router::new().route("/dev/mailbox", get(mailbox))
}

#[derive(Deserialize)]
struct MailboxQuery {
    to: Option<String>,
}

async fn mailbox(
    State(state): State<AppState>,
    Query(query): Query<MailboxQuery>,
) -> Json<Vec<Notification>> {
    let messages = state
        .mailbox
        .as_ref()
        .map(|m| m.messages(query.to.as_deref()))
        .unwrap_or_default();
    Json(messages)
}
