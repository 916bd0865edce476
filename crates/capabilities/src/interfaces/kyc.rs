//! `usvc:host/kyc`: asking for an identity check. The host names the check (a UUID) after
//! checking it can build one from the customer's profile and confirmed identity documents;
//! `verification` submits it once the decision that asked for it is stored. While a check is
//! open its id is returned again, so asking twice starts one check.

use wasmtime::component::HasData;

use crate::{
    bindings::usvc::host::{kyc::Host, types::Violation},
    secrets::SecretBox,
    store::{documents, profiles, verification},
};

use super::{CapabilityFailure, Tx, failed};

/// The `kyc` capability: the call's unit of work and the key profiles are sealed with.
pub struct Checks<'a> {
    pub secrets: &'a SecretBox,
    pub tx: Tx<'a>,
}

impl HasData for Checks<'static> {
    type Data<'a> = Checks<'a>;
}

fn refusal(code: &str, message: &str) -> Violation {
    Violation {
        code: code.to_owned(),
        field: "subject".to_owned(),
        message: message.to_owned(),
    }
}

impl Host for Checks<'_> {
    async fn request_check(
        &mut self,
        subject: String,
    ) -> wasmtime::Result<Result<String, Violation>> {
        let secrets = self.secrets;
        let conn = self.tx.conn().await.map_err(failed("kyc.request-check"))?;
        if let Some(open) = verification::open_check(conn, &subject)
            .await
            .map_err(failed("kyc.request-check"))?
        {
            return Ok(Ok(open));
        }
        let Some(profile) =
            profiles::get(conn, secrets, &subject)
                .await
                .map_err(|e| CapabilityFailure {
                    capability: "kyc.request-check",
                    source: e.into(),
                })?
        else {
            wasmtime::bail!("kyc.request-check: no customer {subject}");
        };
        if profile.legal_name.trim().is_empty()
            || profile.date_of_birth.is_empty()
            || profile.nationality.is_none()
        {
            return Ok(Err(refusal(
                "kyc.profile_incomplete",
                "A check needs the legal name, date of birth and nationality.",
            )));
        }
        let rows = documents::list(conn, &subject)
            .await
            .map_err(failed("kyc.request-check"))?;
        if !rows.iter().any(verification::is_checkable_identity) {
            return Ok(Err(refusal(
                "kyc.identity_document_missing",
                "A check needs a confirmed passport or identity card.",
            )));
        }
        Ok(Ok(uuid::Uuid::now_v7().to_string()))
    }
}
