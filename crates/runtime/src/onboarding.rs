//! Calls into the onboarding component, in the host's own types.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    Ask, CallError, ComponentKind, Runtime,
    bindings::onboarding::exports::usvc::host::{changes, registration as wit},
    registry::Prepared,
};

use crate::capabilities::{Capabilities, CapabilityFailure};
/// A document declaration as the onboarding policy checks it (`changes.document-declaration`).
pub use changes::DocumentDeclaration;
/// A profile change as the onboarding policy checks it (`changes.profile-change`).
pub use changes::{PostalAddress, ProfileChange as ProposedChange};

/// What an applicant submits to register.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub email: String,
    pub password: String,
    pub legal_name: String,
    pub date_of_birth: String,
    pub country_of_residence: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A broken rule, as a component or a format check reported it.
pub use usvc_types::Violation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    Confirmed,
    InvalidCode,
    ExpiredCode,
    TooManyAttempts,
}

impl Runtime {
    /// Registers an applicant; `Err(violations)` when the policy refuses (nothing written).
    pub async fn register(
        &self,
        caps: &Arc<Capabilities>,
        application: Application,
    ) -> Result<Result<(), Vec<Violation>>, CallError> {
        let application = wit::Application {
            email: application.email,
            password: application.password,
            legal_name: application.legal_name,
            date_of_birth: application.date_of_birth,
            country_of_residence: application.country_of_residence,
            phone: application.phone,
        };
        // Split by the address: an applicant has no id yet.
        let ask = Ask::new(ComponentKind::Onboarding, "register", &application)
            .split_by(application.email.trim().to_lowercase());
        let outcome = self
            .call(
                caps,
                ask,
                Result::is_ok,
                |outcome: &Result<(), Vec<wit::Violation>>| match outcome {
                    Ok(()) => "accepted".to_owned(),
                    Err(violations) => refusal(violations),
                },
                |store, component| {
                    Box::pin(async move {
                        let Prepared::Onboarding(pre) = &component.prepared else {
                            wasmtime::bail!("the active onboarding component is of another kind");
                        };
                        let instance = pre.instantiate_async(&mut *store).await?;
                        let outcome = instance
                            .usvc_host_registration()
                            .call_register(&mut *store, &application)
                            .await?;
                        // A registration must cost one Argon2id hash whichever way the component
                        // went (new customer, known address), or response timing would tell
                        // which addresses bank here.
                        if outcome.is_ok() && store.data().password_hashes == 0 {
                            let passwords = store.data().caps.passwords.clone();
                            passwords.spend_one_hash().await.map_err(|source| {
                                CapabilityFailure {
                                    capability: "registration timing",
                                    source,
                                }
                            })?;
                        }
                        Ok(outcome)
                    })
                },
            )
            .await?;
        Ok(outcome.map_err(|violations| violations.into_iter().map(Violation::from).collect()))
    }

    /// Confirms an email address with its one-time code. Always commits: a wrong guess must be
    /// counted even though the answer is a refusal.
    pub async fn confirm_email(
        &self,
        caps: &Arc<Capabilities>,
        email: String,
        code: String,
    ) -> Result<Confirmation, CallError> {
        let ask = Ask::new(ComponentKind::Onboarding, "confirm-email", &(&email, &code))
            .split_by(email.trim().to_lowercase());
        let outcome = self
            .call(
                caps,
                ask,
                |_| true,
                |confirmation: &wit::Confirmation| {
                    match confirmation {
                        wit::Confirmation::Confirmed => "confirmed",
                        wit::Confirmation::InvalidCode => "invalid_code",
                        wit::Confirmation::ExpiredCode => "expired_code",
                        wit::Confirmation::TooManyAttempts => "too_many_attempts",
                    }
                    .to_owned()
                },
                |store, component| {
                    Box::pin(async move {
                        let Prepared::Onboarding(pre) = &component.prepared else {
                            wasmtime::bail!("the active onboarding component is of another kind");
                        };
                        let instance = pre.instantiate_async(&mut *store).await?;
                        instance
                            .usvc_host_registration()
                            .call_confirm_email(&mut *store, &email, &code)
                            .await
                    })
                },
            )
            .await?;
        Ok(match outcome {
            wit::Confirmation::Confirmed => Confirmation::Confirmed,
            wit::Confirmation::InvalidCode => Confirmation::InvalidCode,
            wit::Confirmation::ExpiredCode => Confirmation::ExpiredCode,
            wit::Confirmation::TooManyAttempts => Confirmation::TooManyAttempts,
        })
    }

    /// The onboarding policy's verdict on a new password for the customer with `email`.
    pub async fn check_password(
        &self,
        caps: &Arc<Capabilities>,
        email: String,
        password: String,
    ) -> Result<Vec<Violation>, CallError> {
        let ask = Ask::new(
            ComponentKind::Onboarding,
            "check-password",
            &(&email, &password),
        )
        .split_by(email.trim().to_lowercase());
        let violations = self
            .call(
                caps,
                ask,
                |_| true,
                |violations: &Vec<wit::Violation>| {
                    if violations.is_empty() {
                        "accepted".to_owned()
                    } else {
                        refusal(violations)
                    }
                },
                |store, component| {
                    Box::pin(async move {
                        let Prepared::Onboarding(pre) = &component.prepared else {
                            wasmtime::bail!("the active onboarding component is of another kind");
                        };
                        let instance = pre.instantiate_async(&mut *store).await?;
                        instance
                            .usvc_host_registration()
                            .call_check_password(&mut *store, &email, &password)
                            .await
                    })
                },
            )
            .await?;
        Ok(violations.into_iter().map(Violation::from).collect())
    }
}

impl Runtime {
    /// The onboarding policy's verdict on a profile change by `user`: the change normalised, or
    /// every rule it breaks. Reads and writes nothing.
    pub async fn check_profile_change(
        &self,
        caps: &Arc<Capabilities>,
        user: &str,
        change: ProposedChange,
    ) -> Result<Result<ProposedChange, Vec<Violation>>, CallError> {
        let ask = Ask::new(ComponentKind::Onboarding, "check-profile-change", &change).about(user);
        let checked = self
            .call(
                caps,
                ask,
                |_| true,
                checked_outcome,
                |store, component| {
                    Box::pin(async move {
                        let instance = onboarding(component)?
                            .instantiate_async(&mut *store)
                            .await?;
                        instance
                            .usvc_host_changes()
                            .call_check_profile_change(&mut *store, &change)
                            .await
                    })
                },
            )
            .await?;
        Ok(checked.map_err(violations))
    }

    /// The onboarding policy's verdict on `user`'s new login address: normalised, or the rules
    /// it breaks (a disposable address, as at registration).
    pub async fn check_email(
        &self,
        caps: &Arc<Capabilities>,
        user: &str,
        email: String,
    ) -> Result<Result<String, Vec<Violation>>, CallError> {
        let ask = Ask::new(ComponentKind::Onboarding, "check-email", &email).about(user);
        let checked = self
            .call(
                caps,
                ask,
                |_| true,
                checked_outcome,
                |store, component| {
                    Box::pin(async move {
                        let instance = onboarding(component)?
                            .instantiate_async(&mut *store)
                            .await?;
                        instance
                            .usvc_host_changes()
                            .call_check_email(&mut *store, &email)
                            .await
                    })
                },
            )
            .await?;
        Ok(checked.map_err(violations))
    }

    /// The onboarding policy's verdict on `user`'s new phone number: E.164, or the rules it
    /// breaks.
    pub async fn check_phone(
        &self,
        caps: &Arc<Capabilities>,
        user: &str,
        phone: String,
    ) -> Result<Result<String, Vec<Violation>>, CallError> {
        let ask = Ask::new(ComponentKind::Onboarding, "check-phone", &phone).about(user);
        let checked = self
            .call(
                caps,
                ask,
                |_| true,
                checked_outcome,
                |store, component| {
                    Box::pin(async move {
                        let instance = onboarding(component)?
                            .instantiate_async(&mut *store)
                            .await?;
                        instance
                            .usvc_host_changes()
                            .call_check_phone(&mut *store, &phone)
                            .await
                    })
                },
            )
            .await?;
        Ok(checked.map_err(violations))
    }

    /// The onboarding policy's verdict on a document `user` declares: normalised, or the rules
    /// it breaks. Reads and writes nothing.
    pub async fn check_document(
        &self,
        caps: &Arc<Capabilities>,
        user: &str,
        declaration: DocumentDeclaration,
    ) -> Result<Result<DocumentDeclaration, Vec<Violation>>, CallError> {
        let ask = Ask::new(ComponentKind::Onboarding, "check-document", &declaration).about(user);
        let checked = self
            .call(
                caps,
                ask,
                |_| true,
                checked_outcome,
                |store, component| {
                    Box::pin(async move {
                        let instance = onboarding(component)?
                            .instantiate_async(&mut *store)
                            .await?;
                        instance
                            .usvc_host_changes()
                            .call_check_document(&mut *store, &declaration)
                            .await
                    })
                },
            )
            .await?;
        Ok(checked.map_err(violations))
    }
}

/// The active component's onboarding bindings.
fn onboarding(
    component: &super::LoadedComponent,
) -> wasmtime::Result<&super::bindings::onboarding::OnboardingPre<super::CallState>> {
    match &component.prepared {
        Prepared::Onboarding(pre) => Ok(pre),
        _ => wasmtime::bail!("the active onboarding component is of another kind"),
    }
}

/// A check's entry in the decision log.
fn checked_outcome<T>(checked: &Result<T, Vec<wit::Violation>>) -> String {
    match checked {
        Ok(_) => "accepted".to_owned(),
        Err(violations) => refusal(violations),
    }
}

fn violations(violations: Vec<wit::Violation>) -> Vec<Violation> {
    violations.into_iter().map(Violation::from).collect()
}

/// A refusal in the decision log: its violation codes, in order.
fn refusal(violations: &[wit::Violation]) -> String {
    let codes: Vec<&str> = violations.iter().map(|v| v.code.as_str()).collect();
    format!("refused:{}", codes.join(","))
}
