//! Customers ready for identity verification: a complete profile (through the real
//! `PATCH /v1/users/me/profile`) and confirmed documents written straight into the documents
//! table, sealed as the host seals them (the upload endpoints are tested on their own).

use std::time::Duration;

use serde_json::{Value, json};
use usvc::{
    documents::number_context,
    secrets::{DEVELOPMENT_KEY, SecretBox},
    store::documents::{self, DocumentRow},
};

use crate::{Reply, TestApp};

pub const VERIFICATION: &str = "/v1/users/me/verification";

impl TestApp {
    /// Onboards `email`, then gives them a nationality and an address; returns (access token,
    /// user id).
    pub async fn verifiable_customer(&self, email: &str, password: &str) -> (String, String) {
        let access = self.onboarded_customer(email, password).await;
        let body = json!({
            "nationality": "GB",
            "address": {
                "line1": "12 St James's Square",
                "city": "London",
                "postal_code": "SW1Y 4JH",
                "country": "GB",
            },
        });
        let reply = self
            .http
            .patch(self.url("/v1/users/me/profile"))
            .bearer_auth(&access)
            .header("if-match", "\"0\"")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
        (access, self.user_id(email).await)
    }

    /// A confirmed document of `kind` (`passport`, `id_card`, `proof_of_address`, `selfie`);
    /// identity documents carry `number`, sealed with the key test apps use. Returns its id.
    pub async fn confirmed_document(&self, user_id: &str, kind: &str, number: &str) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let identity = matches!(kind, "passport" | "id_card");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let row = DocumentRow {
            id: id.clone(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            number_sealed: identity.then(|| {
                SecretBox::new(&DEVELOPMENT_KEY).seal(number.as_bytes(), &number_context(&id))
            }),
            issuing_country: identity.then(|| "GB".to_owned()),
            object_key: format!("kyc/{user_id}/{id}"),
            content_type: "image/jpeg".to_owned(),
            size_bytes: 2048,
            sha256: "ab".repeat(32),
            status: "confirmed".to_owned(),
            rejection: None,
            created_at: now,
            upload_expires_at: now + 900,
            confirmed_at: Some(now),
        };
        let mut conn = self.db.acquire().await.unwrap();
        documents::insert(&mut conn, &row).await.unwrap();
        id
    }

    /// `GET /v1/users/me/verification`, which must succeed.
    pub async fn verification(&self, access: &str) -> Value {
        let reply: Reply = self.get(VERIFICATION, Some(access)).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body
    }

    /// Polls the verification until its status is `status` (10 s at most); returns it.
    pub async fn wait_for_verification(&self, access: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            last = self.verification(access).await;
            if last["status"] == status {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the verification never became {status}: {last}");
    }
}
