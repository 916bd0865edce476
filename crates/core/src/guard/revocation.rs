//! The revocation check behind every authenticated request. A session's state is cached in the
//! shared store: "live" for a few seconds, "ended" for as long as an access token can outlive
//! it. Ending a session writes "ended" at once, so its tokens stop working on the next request
//! (on every replica with Redis; within `LIVE_FOR` on other replicas without it). The database
//! is asked at most once per session per `LIVE_FOR`, not on every request.

use std::{sync::Arc, time::Duration};

use super::Shared;
use crate::store::{Database, sessions};

/// How long a session is believed live without asking the database again.
pub const LIVE_FOR: Duration = Duration::from_secs(5);

pub struct SessionGate {
    shared: Arc<Shared>,
    /// The longest an access token lives: how long an ended session must be remembered.
    ended_for: Duration,
}

impl SessionGate {
    pub fn new(shared: Arc<Shared>, access_ttl: Duration) -> Self {
        Self {
            shared,
            // Token verification allows a few seconds of clock leeway.
            ended_for: access_ttl + Duration::from_secs(60),
        }
    }

    /// Whether the session is neither revoked nor expired.
    pub async fn is_live(&self, db: &Database, session_id: &str, now: i64) -> sqlx::Result<bool> {
        let key = key(session_id);
        if let Some((state, _)) = self.shared.get(&key).await {
            return Ok(state == "live");
        }
        let live = {
            let mut conn = db.acquire().await?;
            sessions::is_live(&mut conn, session_id, now).await?
        };
        if live {
            // Only where nothing was written meanwhile: a revocation that committed after the
            // read above wrote "ended", which a stale "live" must not overwrite.
            self.shared
                .compare_and_set(&key, None, "live", LIVE_FOR)
                .await;
        } else {
            self.shared.set(&key, "ended", self.ended_for).await;
        }
        Ok(live)
    }

    /// Call after the revocation of `session_ids` has committed.
    pub async fn ended<'a>(&self, session_ids: impl IntoIterator<Item = &'a str>) {
        for id in session_ids {
            self.shared.set(&key(id), "ended", self.ended_for).await;
        }
    }
}

fn key(session_id: &str) -> String {
    format!("session:{session_id}")
}
