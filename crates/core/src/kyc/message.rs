//! The `kyc.check.completed` message the KYC service publishes (`docs/events.md`, "Consumed"):
//! its envelope and data, checked field by field. A message that breaks the contract is refused
//! with a code naming the field, never the field's content.

use serde_json::{Map, Value};

/// The message type, also its routing key on the KYC service's exchange.
pub const MESSAGE_TYPE: &str = "kyc.check.completed";
/// The envelope versions understood.
pub const SCHEMA_VERSION: u64 = 1;
/// Larger bodies are refused unread.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_REASONS: usize = 32;

/// What the KYC service concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Rejected,
    /// A person at the KYC provider must look; a later result for the same check follows.
    ManualReview,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::ManualReview => "manual_review",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "manual_review" => Self::ManualReview,
            _ => return None,
        })
    }
}

/// A KYC check's result, as the contract guarantees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckCompleted {
    /// The message id (a UUID, lower-case): the inbox key.
    pub message_id: String,
    /// When the KYC service completed the check (Unix seconds).
    pub completed_at: i64,
    pub check_id: String,
    /// The customer checked (a UUID, lower-case).
    pub user_id: String,
    pub outcome: Outcome,
    /// Stable codes (`[a-z0-9_.-]`, at most 64 characters each, at most 32 of them).
    pub reasons: Vec<String>,
    /// The KYC provider's reference for the check.
    pub provider_reference: String,
}

/// Why a message breaks the contract, as a code: `not_json`, `too_large`, `missing:<field>`,
/// `invalid:<field>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContractViolation {
    #[error("too_large")]
    TooLarge,
    #[error("not_json")]
    NotJson,
    #[error("missing:{0}")]
    Missing(&'static str),
    #[error("invalid:{0}")]
    Invalid(&'static str),
}

use ContractViolation::{Invalid, Missing};

impl CheckCompleted {
    /// Reads and checks a message body. Unknown fields are ignored, so the KYC service may add
    /// some without a new schema version.
    pub fn parse(body: &[u8]) -> Result<Self, ContractViolation> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ContractViolation::TooLarge);
        }
        let envelope: Value =
            serde_json::from_slice(body).map_err(|_| ContractViolation::NotJson)?;
        let envelope = envelope.as_object().ok_or(Invalid("envelope"))?;
        let message_id = uuid(envelope, "id", "id")?;
        if text(envelope, "type", "type")? != MESSAGE_TYPE {
            return Err(Invalid("type"));
        }
        if field(envelope, "schema_version", "schema_version")?.as_u64() != Some(SCHEMA_VERSION) {
            return Err(Invalid("schema_version"));
        }
        let occurred_at = text(envelope, "occurred_at", "occurred_at")?;
        let completed_at = time::OffsetDateTime::parse(
            occurred_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| Invalid("occurred_at"))?
        .unix_timestamp();
        let data = field(envelope, "data", "data")?
            .as_object()
            .ok_or(Invalid("data"))?;
        let user_id = uuid(data, "user_id", "data.user_id")?;
        if uuid(envelope, "subject", "subject")? != user_id {
            return Err(Invalid("subject"));
        }
        let outcome = Outcome::parse(text(data, "outcome", "data.outcome")?)
            .ok_or(Invalid("data.outcome"))?;
        let reasons = field(data, "reasons", "data.reasons")?
            .as_array()
            .filter(|r| r.len() <= MAX_REASONS)
            .ok_or(Invalid("data.reasons"))?
            .iter()
            .map(|r| {
                r.as_str()
                    .filter(|r| is_code(r))
                    .map(str::to_owned)
                    .ok_or(Invalid("data.reasons"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            message_id,
            completed_at,
            check_id: reference(data, "check_id", "data.check_id", 128)?,
            user_id,
            outcome,
            reasons,
            provider_reference: reference(
                data,
                "provider_reference",
                "data.provider_reference",
                256,
            )?,
        })
    }
}

fn field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<&'a Value, ContractViolation> {
    object
        .get(key)
        .filter(|v| !v.is_null())
        .ok_or(Missing(path))
}

fn text<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<&'a str, ContractViolation> {
    field(object, key, path)?.as_str().ok_or(Invalid(path))
}

/// A UUID in its canonical lower-case form.
fn uuid(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
) -> Result<String, ContractViolation> {
    let value = text(object, key, path)?;
    uuid::Uuid::try_parse(value)
        .map(|id| id.to_string())
        .map_err(|_| Invalid(path))
}

/// An opaque reference: 1 to `max` characters, none of them a control character.
fn reference(
    object: &Map<String, Value>,
    key: &str,
    path: &'static str,
    max: usize,
) -> Result<String, ContractViolation> {
    let value = text(object, key, path)?;
    let fits =
        !value.is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control);
    fits.then(|| value.to_owned()).ok_or(Invalid(path))
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const USER: &str = "019ad1c0-11aa-7b7c-8e0f-5d2c4b3a1f00";

    fn message() -> Value {
        json!({
            "id": "019ad1c2-7F3E-7a41-9c55-2b1e0f6d8a90",
            "type": "kyc.check.completed",
            "occurred_at": "2026-11-30T09:15:02Z",
            "subject": USER,
            "data": {
                "check_id": "chk_42",
                "user_id": USER,
                "outcome": "rejected",
                "reasons": ["document_expired", "face_mismatch"],
                "provider_reference": "onfido:abc-123",
                "added_later": true,
            },
            "schema_version": 1,
        })
    }

    fn parse(message: &Value) -> Result<CheckCompleted, ContractViolation> {
        CheckCompleted::parse(message.to_string().as_bytes())
    }

    #[test]
    fn a_result_that_keeps_the_contract_is_read() {
        let result = parse(&message()).unwrap();
        assert_eq!(
            result,
            CheckCompleted {
                message_id: "019ad1c2-7f3e-7a41-9c55-2b1e0f6d8a90".into(),
                completed_at: 1_796_030_102,
                check_id: "chk_42".into(),
                user_id: USER.into(),
                outcome: Outcome::Rejected,
                reasons: vec!["document_expired".into(), "face_mismatch".into()],
                provider_reference: "onfido:abc-123".into(),
            }
        );
    }

    #[test]
    fn a_broken_contract_names_the_field_and_not_its_content() {
        let cases: [(&str, Value, &str); 12] = [
            ("/id", json!("not-a-uuid"), "invalid:id"),
            ("/id", Value::Null, "missing:id"),
            ("/type", json!("kyc.check.started"), "invalid:type"),
            ("/schema_version", json!(2), "invalid:schema_version"),
            ("/occurred_at", json!("yesterday"), "invalid:occurred_at"),
            (
                "/subject",
                json!("019ad1c0-0000-7b7c-8e0f-5d2c4b3a1f00"),
                "invalid:subject",
            ),
            ("/data", json!([]), "invalid:data"),
            ("/data/outcome", json!("maybe"), "invalid:data.outcome"),
            (
                "/data/reasons",
                json!(["Ada Lovelace"]),
                "invalid:data.reasons",
            ),
            ("/data/reasons", Value::Null, "missing:data.reasons"),
            ("/data/check_id", json!(""), "invalid:data.check_id"),
            (
                "/data/provider_reference",
                json!("a\nb"),
                "invalid:data.provider_reference",
            ),
        ];
        for (pointer, value, code) in cases {
            let mut broken = message();
            *broken.pointer_mut(pointer).unwrap() = value;
            assert_eq!(parse(&broken).unwrap_err().to_string(), code, "{pointer}");
        }
    }

    #[test]
    fn unreadable_bodies_are_refused() {
        assert_eq!(
            CheckCompleted::parse(b"{\"id\": ").unwrap_err(),
            ContractViolation::NotJson
        );
        assert_eq!(
            CheckCompleted::parse(b"[1, 2]").unwrap_err(),
            Invalid("envelope")
        );
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            CheckCompleted::parse(&huge).unwrap_err(),
            ContractViolation::TooLarge
        );
    }
}
