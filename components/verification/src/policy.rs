//! The tier rules, as a pure function of the facts, today's date and the settings:
//!
//! - **age**: a customer under 18 cannot be verified (`age.under_18`, status `rejected`);
//! - **tier 1**: a complete profile (legal name, date of birth, nationality, an address with its
//!   country, country of residence) and a confirmed email address (`tier.1.granted`; otherwise
//!   `profile.incomplete` and a `profile.*`/`email.verified` requirement per gap);
//! - **tier 2**: tier 1, a confirmed identity document (passport or id card) and an approved KYC
//!   check (`tier.2.granted`, `kyc.approved`);
//! - **tier 3**: tier 2, a confirmed proof of address and a confirmed selfie (`tier.3.granted`);
//! - the **latest** KYC result decides: `rejected` puts the customer at tier 0, status
//!   `rejected` (`kyc.rejected`) until a new identity document is confirmed after it;
//!   `manual_review` sets status `manual_review` and asks for a person (`kyc.manual_review`);
//! - a check asked for and not yet answered makes the status `pending` (`kyc.pending`);
//! - a check is asked for only when the customer asks to be verified, has tier 1 and a confirmed
//!   identity document, and no check is open, approved, rejected or under review.

use crate::exports::usvc::host::verification::{
    Customer, Decision, DocumentKind, DocumentStatus, KycOutcome, KycResult, Reason,
    TierLimits as WitLimits, VerificationStatus,
};
use crate::usvc::host::types::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    pub daily_transfer_limit: u64,
    pub balance_cap: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// ISO 4217.
    pub currency: String,
    /// Indexed by tier.
    pub tiers: [TierLimits; 4],
}

pub const ADULT_AGE: i32 = 18;

/// Where the customer's KYC checks stand, from the latest result.
enum Kyc {
    /// No result, or a rejection a newer identity document has superseded.
    None,
    Approved,
    Rejected(Vec<String>),
    ManualReview,
}

fn reason(code: &str, message: impl Into<String>) -> Reason {
    Reason {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Whole years from `born` to `today`.
fn age(born: &Date, today: &Date) -> i32 {
    let before_birthday = (today.month, today.day) < (born.month, born.day);
    today.year - born.year - i32::from(before_birthday)
}

fn confirmed(customer: &Customer, kinds: &[DocumentKind]) -> Vec<i64> {
    customer
        .documents
        .iter()
        .filter(|d| d.status == DocumentStatus::Confirmed && kinds.contains(&d.kind))
        .map(|d| d.confirmed_at.unwrap_or(i64::MIN))
        .collect()
}

/// The latest result about the identity the profile describes now (by completion; the later of
/// equals in the order given). A result about the identity before a change no longer counts.
fn latest(results: &[KycResult]) -> Option<&KycResult> {
    results
        .iter()
        .filter(|r| r.identity_current)
        .fold(None, |best: Option<&KycResult>, r| match best {
            Some(b) if b.completed_at > r.completed_at => Some(b),
            _ => Some(r),
        })
}

pub fn decide(customer: &Customer, today: Date, settings: &Settings) -> Decision {
    let profile = &customer.profile;
    let mut requirements: Vec<String> = Vec::new();
    let mut reasons = Vec::new();
    let mut require = |code: &str| requirements.push(code.to_owned());

    if !profile.has_legal_name {
        require("profile.legal_name");
    }
    if profile.date_of_birth.is_none() {
        require("profile.date_of_birth");
    }
    if profile.nationality.is_none() {
        require("profile.nationality");
    }
    if profile.address_country.is_none() {
        require("profile.address");
    }
    if profile.country_of_residence.is_none() {
        require("profile.country_of_residence");
    }
    if !profile.email_verified {
        require("email.verified");
    }
    let profile_complete = requirements.is_empty();

    let identity = confirmed(customer, &[DocumentKind::Passport, DocumentKind::IdCard]);
    let newest_identity = identity.iter().copied().max();
    let has_proof_of_address = !confirmed(customer, &[DocumentKind::ProofOfAddress]).is_empty();
    let has_selfie = !confirmed(customer, &[DocumentKind::Selfie]).is_empty();

    let kyc = match latest(&customer.kyc_results) {
        None => Kyc::None,
        Some(r) => match r.outcome {
            KycOutcome::Approved => Kyc::Approved,
            KycOutcome::ManualReview => Kyc::ManualReview,
            KycOutcome::Rejected if newest_identity.is_some_and(|at| at > r.completed_at) => {
                Kyc::None
            }
            KycOutcome::Rejected => Kyc::Rejected(r.reasons.clone()),
        },
    };

    let decision = |tier: u8, status, requirements, reasons| Decision {
        tier,
        status,
        limits: limits(settings, tier),
        requirements,
        submit_kyc: false,
        check_id: None,
        manual_review: false,
        reasons,
    };

    if let Some(born) = &profile.date_of_birth
        && age(born, &today) < ADULT_AGE
    {
        reasons.push(reason(
            "age.under_18",
            "Customers must be 18 or older to be verified.",
        ));
        return decision(0, VerificationStatus::Rejected, Vec::new(), reasons);
    }
    if let Kyc::Rejected(codes) = &kyc {
        let why = if codes.is_empty() {
            "The identity check was rejected.".to_owned()
        } else {
            format!("The identity check was rejected ({}).", codes.join(", "))
        };
        reasons.push(reason("kyc.rejected", why));
        // Only a new identity document reopens the case.
        return decision(
            0,
            VerificationStatus::Rejected,
            vec!["document.identity".to_owned()],
            reasons,
        );
    }

    if !profile_complete {
        reasons.push(reason(
            "profile.incomplete",
            "The profile is missing details; see the requirements.",
        ));
    }
    if identity.is_empty() {
        requirements.push("document.identity".to_owned());
    }
    let approved = matches!(kyc, Kyc::Approved);
    if !approved && !matches!(kyc, Kyc::ManualReview) {
        requirements.push("kyc.check".to_owned());
    }
    let verified_before_a_change = customer
        .kyc_results
        .iter()
        .any(|r| !r.identity_current && r.outcome == KycOutcome::Approved);
    if !approved && verified_before_a_change {
        reasons.push(reason(
            "kyc.identity_changed",
            "The identity details changed since they were verified; a new check is needed.",
        ));
    }
    if !has_proof_of_address {
        requirements.push("document.proof_of_address".to_owned());
    }
    if !has_selfie {
        requirements.push("document.selfie".to_owned());
    }

    let mut tier = 0;
    if profile_complete {
        tier = 1;
        if approved && !identity.is_empty() {
            tier = 2;
            reasons.push(reason("kyc.approved", "The identity check was approved."));
            if has_proof_of_address && has_selfie {
                tier = 3;
            }
        }
    }
    if tier > 0 {
        let granted = format!("tier.{tier}.granted");
        let message = match tier {
            1 => "The profile is complete.",
            2 => "Identity is verified.",
            _ => "Identity, address and likeness are verified.",
        };
        reasons.push(reason(&granted, message));
    }

    let status = if matches!(kyc, Kyc::ManualReview) {
        reasons.push(reason(
            "kyc.manual_review",
            "The identity check needs a person to review it.",
        ));
        VerificationStatus::ManualReview
    } else if tier >= 2 {
        VerificationStatus::Verified
    } else if customer.open_check.is_some() {
        reasons.push(reason(
            "kyc.pending",
            "An identity check is under way; its result will follow.",
        ));
        VerificationStatus::Pending
    } else {
        VerificationStatus::Unverified
    };

    let mut decided = decision(tier, status, requirements, reasons);
    decided.manual_review = matches!(kyc, Kyc::ManualReview);
    decided.submit_kyc = customer.requested
        && profile_complete
        && !identity.is_empty()
        && customer.open_check.is_none()
        && matches!(kyc, Kyc::None);
    decided
}

fn limits(settings: &Settings, tier: u8) -> WitLimits {
    let limits = settings.tiers[usize::from(tier.min(3))];
    WitLimits {
        currency: settings.currency.clone(),
        daily_transfer_limit: limits.daily_transfer_limit,
        balance_cap: limits.balance_cap,
    }
}
