//! The kit for an `onboarding` component: registration, email confirmation and the checks of a
//! change (`changes`), each call returning the component's answer.

use usvc_runtime::{CallError, ComponentKind};

use super::{
    Application, Confirmation, DocumentDeclaration, Kit, KitBuilder, ProposedChange, TestKit,
    Violation,
};

/// A loaded `onboarding` component and the calls of its world. Everything the kits share (the
/// customers, events, notices, clock) is on [`TestKit`], which this dereferences to.
pub struct OnboardingKit(TestKit);

impl Kit for OnboardingKit {
    const KIND: ComponentKind = ComponentKind::Onboarding;
    /// The default allow-list of countries of residence.
    fn settings() -> Vec<(String, String)> {
        vec![(
            "allowed-countries".to_owned(),
            "GB,DE,FR,IE,NL,ES,IT".to_owned(),
        )]
    }

    fn from_kit(kit: TestKit) -> Self {
        Self(kit)
    }
}

impl std::ops::Deref for OnboardingKit {
    type Target = TestKit;

    fn deref(&self) -> &TestKit {
        &self.0
    }
}

impl OnboardingKit {
    /// The component from the components directory, with every default.
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    pub fn builder() -> KitBuilder<Self> {
        KitBuilder::new()
    }

    /// Registers an applicant; panics with the failure if the component traps or times out.
    pub async fn register(&self, application: Application) -> Result<(), Vec<Violation>> {
        self.try_register(application)
            .await
            .unwrap_or_else(|e| panic!("register failed: {e}"))
    }

    /// Registers an applicant, returning a trap, timeout or memory blow-up as an error.
    pub async fn try_register(
        &self,
        application: Application,
    ) -> Result<Result<(), Vec<Violation>>, CallError> {
        self.runtime.register(&self.caps, application).await
    }

    pub async fn confirm_email(&self, email: &str, code: &str) -> Confirmation {
        self.runtime
            .confirm_email(&self.caps, email.to_owned(), code.to_owned())
            .await
            .unwrap_or_else(|e| panic!("confirm-email failed: {e}"))
    }

    /// The policy's verdict on a new password for the customer with `email`.
    pub async fn check_password(&self, email: &str, password: &str) -> Vec<Violation> {
        self.runtime
            .check_password(&self.caps, email.to_owned(), password.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-password failed: {e}"))
    }

    /// The policy's verdict on a profile change (`changes.check-profile-change`) by the
    /// customer `user`: the change normalised, or every rule it breaks.
    pub async fn check_profile_change(
        &self,
        user: &str,
        change: ProposedChange,
    ) -> Result<ProposedChange, Vec<Violation>> {
        self.runtime
            .check_profile_change(&self.caps, user, change)
            .await
            .unwrap_or_else(|e| panic!("check-profile-change failed: {e}"))
    }

    /// The policy's verdict on a new login address (`changes.check-email`).
    pub async fn check_email(&self, user: &str, email: &str) -> Result<String, Vec<Violation>> {
        self.runtime
            .check_email(&self.caps, user, email.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-email failed: {e}"))
    }

    /// The policy's verdict on a new phone number (`changes.check-phone`).
    pub async fn check_phone(&self, user: &str, phone: &str) -> Result<String, Vec<Violation>> {
        self.runtime
            .check_phone(&self.caps, user, phone.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-phone failed: {e}"))
    }

    /// The policy's verdict on a document the customer `user` declares
    /// (`changes.check-document`): normalised, or every rule it breaks.
    pub async fn check_document(
        &self,
        user: &str,
        declaration: DocumentDeclaration,
    ) -> Result<DocumentDeclaration, Vec<Violation>> {
        self.runtime
            .check_document(&self.caps, user, declaration)
            .await
            .unwrap_or_else(|e| panic!("check-document failed: {e}"))
    }
}
