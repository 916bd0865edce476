//! Signing keys: persisted, rotated by configuration without logging anyone out, retired keys
//! verifying only as long as their tokens can live, every replica verifying every replica's
//! tokens; and forged or confused tokens refused.

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use usvc_tests::{Backend, Spawn, TestApp, backends, signing_key_pem, spawn_with};

backends!(
    a_rotated_key_keeps_verifying_and_replicas_learn_the_new_one,
    a_key_retired_longer_than_a_token_lifetime_verifies_nothing,
    a_development_key_survives_a_restart,
    forged_and_confused_tokens_are_refused,
);

const PASSWORD: &str = "analytical engine 1837";

async fn replica(backend: Backend, key: Option<String>, database: Option<&TestApp>) -> TestApp {
    spawn_with(Spawn {
        signing_key_pem: key,
        database_url: database.map(|app| app.database_url.clone()),
        ..Spawn::new(backend)
    })
    .await
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("a JWT")
        .kid
        .expect("a kid")
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.get("/.well-known/jwks.json", None).await.body;
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

async fn login(app: &TestApp, email: &str) -> String {
    let body = json!({"email": email, "password": PASSWORD});
    let reply = app.post("/v1/auth/login", body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_owned()
}

async fn a_rotated_key_keeps_verifying_and_replicas_learn_the_new_one(backend: Backend) {
    let old = replica(backend, Some(signing_key_pem(1)), None).await;
    let before = old.onboarded_customer("rotate@example.com", PASSWORD).await;
    // A second replica starts with a new key: rotation by configuration.
    let new = replica(backend, Some(signing_key_pem(2)), Some(&old)).await;
    assert_eq!(new.get("/v1/users/me", Some(&before)).await.status, 200);
    let after = login(&new, "rotate@example.com").await;
    assert_ne!(kid(&after), kid(&before));
    let mut both = vec![kid(&before), kid(&after)];
    both.sort();
    assert_eq!(jwks_kids(&new).await, both);
    // The old replica has never seen the new key; it re-reads the key ring on first sight (at
    // most once a second, so that made-up key ids cannot flood the database).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(old.get("/v1/users/me", Some(&after)).await.status, 200);

    let states: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT kid, retired_at FROM signing_keys ORDER BY created_at, kid")
            .fetch_all(&new.db)
            .await
            .unwrap();
    let retired = |k: &str| states.iter().find(|(kid, _)| kid == k).unwrap().1;
    assert!(retired(&kid(&before)).is_some());
    assert!(retired(&kid(&after)).is_none());
    let private: Option<(Option<String>,)> =
        sqlx::query_as("SELECT private_key FROM signing_keys WHERE private_key IS NOT NULL")
            .fetch_optional(&new.db)
            .await
            .unwrap();
    assert!(
        private.is_none(),
        "configured private keys are never stored"
    );
}

async fn a_key_retired_longer_than_a_token_lifetime_verifies_nothing(backend: Backend) {
    let old = replica(backend, Some(signing_key_pem(3)), None).await;
    let token = old
        .onboarded_customer("retired@example.com", PASSWORD)
        .await;
    let _new = replica(backend, Some(signing_key_pem(4)), Some(&old)).await;
    // Make the retirement older than an access token's lifetime (15 minutes by default).
    let long_ago = time_now() - 3600;
    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE kid = $2")
        .bind(long_ago)
        .bind(kid(&token))
        .execute(&old.db)
        .await
        .unwrap();
    let later = replica(backend, Some(signing_key_pem(4)), Some(&old)).await;
    later
        .get("/v1/users/me", Some(&token))
        .await
        .assert_problem(401, "/problems/unauthorized");
    assert!(!jwks_kids(&later).await.contains(&kid(&token)));
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn a_development_key_survives_a_restart(backend: Backend) {
    let first = replica(backend, None, None).await;
    let token = first
        .onboarded_customer("restart@example.com", PASSWORD)
        .await;
    let restarted = replica(backend, None, Some(&first)).await;
    assert_eq!(
        restarted.get("/v1/users/me", Some(&token)).await.status,
        200
    );
    assert_eq!(jwks_kids(&restarted).await, vec![kid(&token)]);
}

/// Claims of a real, live session, to be signed in various wrong ways.
fn claims_like(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn sign(claims: &Value, seed: u8, kid: Option<&str>) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let der = key.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

async fn forged_and_confused_tokens_are_refused(backend: Backend) {
    let seed = 5;
    let app = replica(backend, Some(signing_key_pem(seed)), None).await;
    let real = app.onboarded_customer("forged@example.com", PASSWORD).await;
    let claims = claims_like(&real);
    let real_kid = kid(&real);
    // The control: the same claims signed the right way are accepted.
    let control = sign(&claims, seed, Some(&real_kid));
    assert_eq!(app.get("/v1/users/me", Some(&control)).await.status, 200);

    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let expired = with("exp", json!(time_now() - 600));
    let refused = [
        (
            "wrong audience",
            sign(&with("aud", json!("payments")), seed, Some(&real_kid)),
        ),
        (
            "wrong issuer",
            sign(&with("iss", json!("evil")), seed, Some(&real_kid)),
        ),
        ("expired", sign(&expired, seed, Some(&real_kid))),
        ("no kid", sign(&claims, seed, None)),
        ("unknown kid", sign(&claims, 9, Some("0123456789abcdef"))),
        ("foreign key, known kid", sign(&claims, 9, Some(&real_kid))),
        ("HS256 keyed with the public key", {
            let jwks = app.get("/.well-known/jwks.json", None).await.body;
            let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(real_kid.clone());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(x.as_bytes())).unwrap()
        }),
        ("alg none", {
            use base64::Engine;
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            let header = json!({"alg": "none", "typ": "JWT", "kid": real_kid});
            format!("{}.{}.", b64(&header), b64(&claims))
        }),
    ];
    for (what, token) in refused {
        let reply = app.get("/v1/users/me", Some(&token)).await;
        assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
    }
}
