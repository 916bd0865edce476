//! Identity checks (KYC): the results the KYC service reports on RabbitMQ, each recorded exactly
//! once in effect, with an event for the rest of the bank and an audit row beside it. A result
//! counts only when its provider signed it, it answers an open check this service submitted for
//! that customer, and its time falls between the submission and now.

pub mod message;
pub mod signature;

use std::sync::Arc;

use self::{
    message::{CheckCompleted, MESSAGE_TYPE, Outcome},
    signature::{PROVIDER_HEADER, ProviderKeys, SIGNATURE_HEADER},
};
use crate::{
    capabilities::Capabilities,
    events::inbound::{Disposition, Handler, Message},
    store::{
        self,
        audit::{self, AuditEvent},
        inbox, kyc_checks,
        kyc_results::{self, KycResult},
    },
    trail,
};

/// How far a result's time may run ahead of this host's clock (or precede its check's
/// submission): clocks differ a little, never by much.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// The audit row of a result refused for what it claims, not for its shape.
pub const RESULT_REFUSED: &str = "kyc.result_refused";

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
    /// The result answers no check this service submitted for that customer.
    #[error("unknown_check")]
    UnknownCheck,
    /// Its check has had its final outcome already.
    #[error("settled_check")]
    SettledCheck,
    /// It claims a time after now (beyond the skew) or before its check was submitted.
    #[error("invalid:occurred_at")]
    OutOfTime,
    #[error("recording a KYC result: {0}")]
    Database(#[from] sqlx::Error),
}

/// Records a check's result in one transaction: the message id in the inbox (a known id stops
/// here), the result, its check settled when the outcome is final, the
/// `user.kyc_result_recorded` event and its audit row. Nothing is written unless all of it is.
pub async fn record(caps: &Capabilities, result: &CheckCompleted) -> Result<Recorded, RecordError> {
    let now = caps.clock.unix();
    let mut tx = store::begin(&caps.db).await?;
    if !inbox::claim(&mut tx, &result.message_id, MESSAGE_TYPE, now).await? {
        return Ok(Recorded::Duplicate);
    }
    let check = kyc_checks::get(&mut tx, &result.check_id)
        .await?
        .filter(|check| check.user_id == result.user_id)
        .ok_or(RecordError::UnknownCheck)?;
    if check.settled_at.is_some() {
        return Err(RecordError::SettledCheck);
    }
    if result.completed_at > now + CLOCK_SKEW_SECS
        || result.completed_at < check.submitted_at - CLOCK_SKEW_SECS
    {
        return Err(RecordError::OutOfTime);
    }
    let is_final = result.outcome != Outcome::ManualReview;
    if is_final && !kyc_checks::settle(&mut tx, &check.check_id, &check.user_id, now).await? {
        // Another final result settled it meanwhile.
        return Err(RecordError::SettledCheck);
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

/// Keeps the audit row of a result that named a check, a time or a signer we do not accept
/// (the row names the message and the check, never the outcome's details).
/// Answers the disposition: dead-lettered, with `reason`.
async fn refused(caps: &Capabilities, result: &CheckCompleted, reason: String) -> Disposition {
    let (message_id, user_id, check_id) = (&result.message_id, &result.user_id, &result.check_id);
    let event = AuditEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: RESULT_REFUSED.to_owned(),
        user_id: user_id.to_owned(),
        data: serde_json::json!({ "message_id": message_id, "check_id": check_id, "reason": reason }),
        occurred_at: caps.clock.unix(),
    };
    let kept = async { audit::insert(&mut *caps.db.acquire().await?, &event).await };
    if let Err(error) = kept.await {
        tracing::error!(%error, message_id, reason, "refused KYC result not audited");
    }
    metrics::counter!("usvc_kyc_results_refused_total", "reason" => reason.clone()).increment(1);
    Disposition::Poison(reason.into())
}

/// What follows a newly recorded result: the verification policy deciding again
/// (`verification::Verifier`). A port, so that recording results needs nothing above it.
#[async_trait::async_trait]
pub trait ResultRecorded: Send + Sync + 'static {
    async fn result_recorded(&self, user_id: &str);
}

/// The consumer's [`Handler`] for `kyc.check.completed` messages.
pub struct KycResults {
    caps: Arc<Capabilities>,
    verifier: Option<Arc<dyn ResultRecorded>>,
    keys: ProviderKeys,
}

impl KycResults {
    /// With no `keys`, unsigned results are accepted: development only (production refuses to
    /// start without keys).
    pub fn new(caps: Arc<Capabilities>, keys: ProviderKeys) -> Self {
        Self {
            caps,
            verifier: None,
            keys,
        }
    }

    /// After each new result is committed, the verification policy decides again.
    pub fn reassessing(mut self, verifier: impl ResultRecorded) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }
}

impl Handler for KycResults {
    fn name(&self) -> &'static str {
        "kyc_results"
    }

    async fn handle(&self, message: &Message<'_>) -> Disposition {
        let result = match CheckCompleted::parse(message.body) {
            Ok(result) => result,
            Err(violation) => return Disposition::Poison(violation.to_string().into()),
        };
        if !self.keys.is_empty() {
            let provider = message.header(PROVIDER_HEADER);
            let signature = message.header(SIGNATURE_HEADER);
            if let Err(why) =
                self.keys
                    .verify(provider.as_deref(), signature.as_deref(), message.body)
            {
                return refused(&self.caps, &result, why.to_string()).await;
            }
        }
        match record(&self.caps, &result).await {
            Ok(Recorded::New) => {
                if let Some(verifier) = &self.verifier {
                    verifier.result_recorded(&result.user_id).await;
                }
                Disposition::Processed
            }
            Ok(Recorded::Duplicate) => Disposition::Duplicate,
            Err(error @ RecordError::Database(_)) => Disposition::Transient(error.into()),
            Err(refusal) => refused(&self.caps, &result, refusal.to_string()).await,
        }
    }
}
