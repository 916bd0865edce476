//! Identity checks (KYC): the results the KYC service reports on RabbitMQ, each recorded exactly
//! once in effect, with an event for the rest of the bank and an audit row beside it.

pub mod message;

use std::sync::Arc;

use self::message::{CheckCompleted, MESSAGE_TYPE};
use crate::{
    auth::trail,
    capabilities::Capabilities,
    events::consumer::{Disposition, Handler},
    store::{
        self, inbox,
        kyc_results::{self, KycResult},
        users,
    },
    verification::Verifier,
};

/// The event published when a result is recorded.
pub const RESULT_RECORDED: &str = "user.kyc_result_recorded";

/// Whether a result was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New,
    /// Its message id was in the inbox already: nothing was written.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The result names no customer of ours.
    #[error("unknown_user")]
    UnknownUser,
    #[error("recording a KYC result: {0}")]
    Database(#[from] sqlx::Error),
}

/// Records a check's result in one transaction: the message id in the inbox (a known id stops
/// here), the result, the `user.kyc_result_recorded` event and its audit row. Nothing is written
/// unless all of it is.
pub async fn record(caps: &Capabilities, result: &CheckCompleted) -> Result<Recorded, RecordError> {
    let now = caps.clock.unix();
    let mut tx = store::begin(&caps.db).await?;
    if !inbox::claim(&mut tx, &result.message_id, MESSAGE_TYPE, now).await? {
        return Ok(Recorded::Duplicate);
    }
    if users::get(&mut tx, &result.user_id).await?.is_none() {
        return Err(RecordError::UnknownUser);
    }
    kyc_results::insert(
        &mut tx,
        &KycResult {
            message_id: result.message_id.clone(),
            check_id: result.check_id.clone(),
            user_id: result.user_id.clone(),
            outcome: result.outcome.as_str().to_owned(),
            reasons: result.reasons.clone(),
            provider_reference: result.provider_reference.clone(),
            completed_at: result.completed_at,
            received_at: now,
        },
    )
    .await?;
    let event = serde_json::json!({
        "user_id": result.user_id,
        "check_id": result.check_id,
        "outcome": result.outcome.as_str(),
        "reasons": result.reasons,
        "completed_at": result.completed_at,
    });
    trail::record(&mut tx, RESULT_RECORDED, &result.user_id, event, now).await?;
    trail::commit(tx, caps).await?;
    metrics::counter!("usvc_kyc_results_recorded_total", "outcome" => result.outcome.as_str())
        .increment(1);
    Ok(Recorded::New)
}

/// The consumer's [`Handler`] for `kyc.check.completed` messages.
pub struct KycResults {
    caps: Arc<Capabilities>,
    verifier: Option<Verifier>,
}

impl KycResults {
    pub fn new(caps: Arc<Capabilities>) -> Self {
        Self {
            caps,
            verifier: None,
        }
    }

    /// After each new result is committed, the verification policy decides again.
    pub fn reassessing(mut self, verifier: Verifier) -> Self {
        self.verifier = Some(verifier);
        self
    }
}

impl Handler for KycResults {
    fn name(&self) -> &'static str {
        "kyc_results"
    }

    async fn handle(&self, body: &[u8]) -> Disposition {
        let result = match CheckCompleted::parse(body) {
            Ok(result) => result,
            Err(violation) => return Disposition::Poison(violation.to_string().into()),
        };
        match record(&self.caps, &result).await {
            Ok(Recorded::New) => {
                if let Some(verifier) = &self.verifier {
                    verifier.result_recorded(&result.user_id).await;
                }
                Disposition::Processed
            }
            Ok(Recorded::Duplicate) => Disposition::Duplicate,
            Err(RecordError::UnknownUser) => Disposition::Poison("unknown_user".into()),
            Err(error @ RecordError::Database(_)) => Disposition::Transient(error.into()),
        }
    }
}
