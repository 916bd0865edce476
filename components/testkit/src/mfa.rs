//! The kit for an `mfa` component: login requirements, step-up proofs and the factors'
//! lifecycle, each call returning the component's answer and panicking if the call has none (a
//! trap, a timeout, a failed capability).

use super::{
    Kit, KitBuilder, LoginContext, LoginRequirement, Method, OtpChannel, Proof, Sending,
    SensitiveAction, SessionProofs, TestKit, TotpEnrolment, Verification, Violation,
};
use usvc_runtime::ComponentKind;

/// A loaded `mfa` component and the calls of its world. Everything the kits share (the
/// customers, events, notices, clock) is on [`TestKit`], which this dereferences to.
pub struct MfaKit(TestKit);

impl Kit for MfaKit {
    const KIND: ComponentKind = ComponentKind::Mfa;

    fn from_kit(kit: TestKit) -> Self {
        Self(kit)
    }
}

impl std::ops::Deref for MfaKit {
    type Target = TestKit;

    fn deref(&self) -> &TestKit {
        &self.0
    }
}

impl MfaKit {
    /// The component from the components directory, with every default.
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    pub fn builder() -> KitBuilder<Self> {
        KitBuilder::new()
    }

    /// Whether a login needs a second factor (`assess-login`).
    pub async fn login_requirement(&self, context: LoginContext) -> LoginRequirement {
        self.runtime
            .mfa_login_requirement(&self.caps, context)
            .await
            .unwrap_or_else(|e| panic!("mfa login_requirement failed: {e}"))
    }

    /// Whether a code completes a login challenge, or a step-up without one.
    pub async fn verify(
        &self,
        user: String,
        challenge: Option<String>,
        method: Method,
        code: String,
    ) -> Verification {
        self.runtime
            .mfa_verify(&self.caps, user, challenge, method, code)
            .await
            .unwrap_or_else(|e| panic!("mfa verify failed: {e}"))
    }

    /// The proof a sensitive action needs given the session's proofs.
    pub async fn proof_required(
        &self,
        user: String,
        action: SensitiveAction,
        proofs: SessionProofs,
    ) -> Proof {
        self.runtime
            .mfa_proof_required(&self.caps, user, action, proofs)
            .await
            .unwrap_or_else(|e| panic!("mfa proof_required failed: {e}"))
    }

    /// Starts enrolling an authenticator app.
    pub async fn enrol_totp(&self, user: String) -> Result<TotpEnrolment, Violation> {
        self.runtime
            .mfa_enrol_totp(&self.caps, user)
            .await
            .unwrap_or_else(|e| panic!("mfa enrol_totp failed: {e}"))
    }

    /// Sends a one-time code by email or SMS.
    pub async fn send_code(
        &self,
        user: String,
        challenge: Option<String>,
        method: Method,
    ) -> Sending {
        self.runtime
            .mfa_send_code(&self.caps, user, challenge, method)
            .await
            .unwrap_or_else(|e| panic!("mfa send_code failed: {e}"))
    }

    /// Starts enrolling an email or SMS factor; its id.
    pub async fn enrol_otp(&self, user: String, channel: OtpChannel) -> Result<String, Violation> {
        self.runtime
            .mfa_enrol_otp(&self.caps, user, channel)
            .await
            .unwrap_or_else(|e| panic!("mfa enrol_otp failed: {e}"))
    }

    /// Confirms a pending factor with a code; recovery codes when they are new.
    pub async fn confirm_factor(
        &self,
        user: String,
        factor_id: String,
        code: String,
    ) -> Result<Vec<String>, Violation> {
        self.runtime
            .mfa_confirm_factor(&self.caps, user, factor_id, code)
            .await
            .unwrap_or_else(|e| panic!("mfa confirm_factor failed: {e}"))
    }

    /// Removes a factor; whether the customer had it.
    pub async fn remove_factor(&self, user: String, factor_id: String) -> bool {
        self.runtime
            .mfa_remove_factor(&self.caps, user, factor_id)
            .await
            .unwrap_or_else(|e| panic!("mfa remove_factor failed: {e}"))
    }

    /// Replaces the recovery codes.
    pub async fn new_recovery_codes(&self, user: String) -> Result<Vec<String>, Violation> {
        self.runtime
            .mfa_new_recovery_codes(&self.caps, user)
            .await
            .unwrap_or_else(|e| panic!("mfa new_recovery_codes failed: {e}"))
    }

    /// How many unspent recovery codes the customer has.
    pub async fn recovery_codes_left(&self, user_id: &str) -> u32 {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::factors::recovery_codes_left(&mut conn, user_id)
            .await
            .expect("counting recovery codes")
    }

    /// The ids of the customer's second factors, oldest first.
    pub async fn factor_ids(&self, user_id: &str) -> Vec<String> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::factors::list(&mut conn, user_id)
            .await
            .expect("listing factors")
            .into_iter()
            .map(|f| f.id)
            .collect()
    }
}
