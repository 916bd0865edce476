//! The kit for a `verification` component: the policy's decision on a customer, and the
//! profile and documents it decides on, written as the host writes them.

use super::{Customer, Kit, KitBuilder, PolicyDecision, TestKit};
use usvc_runtime::ComponentKind;

/// A loaded `verification` component and the calls of its world. Everything the kits share (the
/// customers, events, notices, clock) is on [`TestKit`], which this dereferences to.
pub struct VerificationKit(TestKit);

impl Kit for VerificationKit {
    const KIND: ComponentKind = ComponentKind::Verification;

    fn from_kit(kit: TestKit) -> Self {
        Self(kit)
    }
}

impl std::ops::Deref for VerificationKit {
    type Target = TestKit;

    fn deref(&self) -> &TestKit {
        &self.0
    }
}

impl VerificationKit {
    /// The component from the components directory, with every default.
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    pub fn builder() -> KitBuilder<Self> {
        KitBuilder::new()
    }

    /// The verification policy's decision on `customer` (nothing is stored); panics if the
    /// component traps or times out.
    pub async fn decide(&self, customer: Customer) -> PolicyDecision {
        self.runtime
            .verification_decide(&self.caps, customer)
            .await
            .unwrap_or_else(|e| panic!("decide failed: {e}"))
    }

    /// Gives the customer a nationality and an address in `country`, written directly.
    pub async fn complete_profile(&self, user_id: &str, country: &str) {
        let mut conn = self.caps.db.acquire().await.expect("database");
        let address = usvc_store::profiles::Address {
            line1: "1 High Street".to_owned(),
            line2: None,
            city: "London".to_owned(),
            postal_code: "N1 9GU".to_owned(),
            region: None,
            country: country.to_owned(),
        };
        let fields = usvc_store::profiles::ProfileFields {
            nationality: Some(country),
            address: Some(&address),
            national_id: None,
        };
        usvc_store::profiles::save(
            &mut conn,
            &self.caps.secrets,
            user_id,
            &fields,
            0,
            self.now(),
        )
        .await
        .expect("saving the profile")
        .expect("a first version");
    }

    /// A confirmed document of `kind` (`passport`, `id_card`, `proof_of_address`, `selfie`)
    /// with its number sealed as the host seals it, written directly; returns its id.
    pub async fn confirmed_document(&self, user_id: &str, kind: &str, number: &str) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let identity = matches!(kind, "passport" | "id_card");
        let sealed = identity.then(|| {
            self.caps.secrets.seal(
                number.as_bytes(),
                &usvc_store::documents::number_context(&id),
            )
        });
        let now = self.now();
        let row = usvc_store::documents::DocumentRow {
            id: id.clone(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            number_sealed: sealed,
            issuing_country: identity.then(|| "GB".to_owned()),
            object_key: format!("kyc/{user_id}/{id}"),
            content_type: "image/jpeg".to_owned(),
            size_bytes: 1024,
            sha256: "0".repeat(64),
            status: "confirmed".to_owned(),
            rejection: None,
            created_at: now,
            upload_expires_at: now + 900,
            confirmed_at: Some(now),
        };
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::documents::insert(&mut conn, &row)
            .await
            .expect("inserting a document");
        id
    }
}
