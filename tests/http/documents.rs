//! KYC documents over HTTP: declared, uploaded by the client through a presigned URL with a
//! plain HTTP client, confirmed by the host's checks (size, magic bytes, SHA-256), listed with
//! masked numbers and downloaded again — on the embedded filesystem store and on a real
//! S3-compatible server (s3s-fs, which checks SigV4). Also: every rejection code, refused URLs,
//! another customer's documents, compliance staff, and the avatar.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use usvc_tests::{Backend, Reply, Spawn, TestApp, backends, s3::S3Server, spawn, spawn_with};

backends!(
    the_whole_flow_works_on_the_filesystem_store,
    the_whole_flow_works_on_s3,
    each_mismatch_rejects_the_document_with_its_code,
    concurrent_confirmations_settle_a_document_once,
    confirming_before_the_upload_changes_nothing,
    the_filesystem_store_refuses_altered_expired_and_oversized_uploads,
    s3_refuses_altered_and_expired_urls,
    declarations_are_checked_field_by_field,
    what_a_declaration_may_carry_is_the_onboarding_policys,
    another_customers_document_is_not_found,
    documents_need_a_token,
    compliance_staff_can_download_and_customers_cannot,
    an_avatar_is_stored_served_and_removed,
    documents_kyc_and_the_policy_verify_a_customer_on_the_filesystem_store,
    documents_kyc_and_the_policy_verify_a_customer_on_s3,
    a_confirmed_documents_upload_url_no_longer_works,
    a_confirmed_object_cannot_be_replaced_on_s3,
    staff_are_never_served_a_document_altered_after_confirmation,
);

const PASSWORD: &str = "difference engine 1822";
const ADA: &str = "ada@example.com";
const BOB: &str = "bob@example.com";
const DOCUMENTS: &str = "/v1/users/me/documents";

/// A small JPEG as far as magic bytes go.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
    bytes.extend((0..2000u32).map(|i| (i % 251) as u8));
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..500u32).map(|i| (i % 13) as u8));
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn passport(bytes: &[u8]) -> Value {
    json!({
        "kind": "passport",
        "content_type": "image/jpeg",
        "size_bytes": bytes.len(),
        "sha256": sha256(bytes),
        "number": "X1234567",
        "issuing_country": "GB",
    })
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Reply {
    app.request_json(method, path, Some(token), body).await
}

/// Declares a document; answers the reply (201 expected by the caller).
async fn declare(app: &TestApp, token: &str, body: Value) -> Reply {
    call(app, Method::POST, DOCUMENTS, token, Some(body)).await
}

/// Sends `bytes` to a presigned request (`upload` as the API answered it) with a plain client,
/// exactly as a mobile app would: no bearer token, the given headers only.
async fn send_to(request: &Value, bytes: Vec<u8>) -> reqwest::Response {
    let method: Method = request["method"].as_str().unwrap().parse().unwrap();
    let mut builder = reqwest::Client::new().request(method, request["url"].as_str().unwrap());
    for (name, value) in request["headers"].as_object().unwrap() {
        builder = builder.header(name, value.as_str().unwrap());
    }
    builder
        .body(bytes)
        .send()
        .await
        .expect("the object store answers")
}

async fn confirm(app: &TestApp, token: &str, id: &str) -> Reply {
    let path = format!("{DOCUMENTS}/{id}/confirm");
    call(app, Method::POST, &path, token, None).await
}

fn id_of(declared: &Reply) -> String {
    declared.body["document"]["id"].as_str().unwrap().to_owned()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    app.events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|t| t.starts_with("document."))
        .collect()
}

/// Declare → upload → confirm → list → download URL → the same bytes back.
async fn whole_flow(app: &TestApp) {
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(app, &token, passport(&bytes)).await;
    assert_eq!(declared.status, 201, "{:?}", declared.body);
    let id = id_of(&declared);
    let document = &declared.body["document"];
    assert_eq!(document["status"], "pending");
    assert_eq!(document["number"], "••••4567");
    let upload = &declared.body["upload"];
    assert_eq!(upload["method"], "PUT");
    assert_eq!(
        upload["headers"]["content-type"]
            .as_str()
            .or(upload["headers"]["Content-Type"].as_str()),
        Some("image/jpeg"),
        "{upload:?}"
    );
    assert!(upload["expires_at"].is_string());

    // Confirming before the upload changes nothing.
    confirm(app, &token, &id)
        .await
        .assert_problem(409, "/problems/document-not-uploaded");

    let stored = send_to(upload, bytes.clone()).await;
    assert_eq!(stored.status(), 200, "{:?}", stored.text().await);

    let confirmed = confirm(app, &token, &id).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "confirmed");
    assert_eq!(confirmed.body["rejection"], Value::Null);
    assert!(confirmed.body["settled_at"].is_string());

    // Confirming again answers the settled state and records nothing more.
    let again = confirm(app, &token, &id).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["status"], "confirmed");
    assert_eq!(event_types(app).await, ["document.confirmed"]);
    let event = app
        .events()
        .await
        .into_iter()
        .find(|e| e.event_type == "document.confirmed")
        .unwrap();
    assert_eq!(event.data["document_id"], id.as_str());
    assert_eq!(event.data["kind"], "passport");
    assert!(
        !event.data.to_string().contains("1234567"),
        "{:?}",
        event.data
    );
    let user_id = app.user_id(ADA).await;
    assert_eq!(app.audit_count(&user_id, "document.confirmed").await, 1);

    let list = app.get(DOCUMENTS, Some(&token)).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let listed = list.body["documents"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["number"], "••••4567");
    assert!(!list.body.to_string().contains("X1234567"));
    let one = app.get(&format!("{DOCUMENTS}/{id}"), Some(&token)).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["status"], "confirmed");

    let download = app
        .get(&format!("/v1/documents/{id}/download"), Some(&token))
        .await;
    assert_eq!(download.status, 200, "{:?}", download.body);
    assert_eq!(download.body["method"], "GET");
    let fetched = send_to(&download.body, Vec::new()).await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        fetched.headers()["content-type"].to_str().unwrap(),
        "image/jpeg"
    );
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
}

async fn the_whole_flow_works_on_the_filesystem_store(backend: Backend) {
    let app = spawn(backend).await;
    whole_flow(&app).await;
}

/// An app keeping its documents in a fresh s3s-fs bucket; `None` (skipped) without s3s-fs.
async fn spawn_on_s3(backend: Backend, upload_ttl: Duration) -> Option<(TestApp, S3Server)> {
    let server = S3Server::start().await?;
    let mut options = Spawn::new(backend);
    options.documents.s3 = Some(server.settings());
    options.documents.upload_ttl = upload_ttl;
    Some((spawn_with(options).await, server))
}

async fn the_whole_flow_works_on_s3(backend: Backend) {
    let Some((app, server)) = spawn_on_s3(backend, Duration::from_secs(600)).await else {
        return;
    };
    whole_flow(&app).await;
    // The object really is in the bucket, under the document's key.
    let user_id = app.user_id(ADA).await;
    let list = app.events().await;
    let id = list
        .iter()
        .find(|e| e.event_type == "document.confirmed")
        .unwrap()
        .data["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = std::fs::read(server.object_path(&format!("documents/{user_id}/{id}"))).unwrap();
    assert_eq!(stored, jpeg());
}

async fn each_mismatch_rejects_the_document_with_its_code(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(bytes.len(), b' ');
    let cases = [
        // Fewer bytes than declared.
        (bytes[..bytes.len() - 1].to_vec(), "size.mismatch"),
        // The right size, but a PDF where a JPEG was declared.
        (pdf, "content_type.mismatch"),
        // A JPEG of the right size, but not the one declared.
        (other, "sha256.mismatch"),
    ];
    for (uploaded, code) in cases {
        let declared = declare(&app, &token, passport(&bytes)).await;
        assert_eq!(declared.status, 201, "{:?}", declared.body);
        let id = id_of(&declared);
        let stored = send_to(&declared.body["upload"], uploaded).await;
        assert_eq!(stored.status(), 200);
        let rejected = confirm(&app, &token, &id).await;
        assert_eq!(rejected.status, 200, "{:?}", rejected.body);
        assert_eq!(rejected.body["status"], "rejected", "{code}");
        assert_eq!(rejected.body["rejection"], code);
        let again = confirm(&app, &token, &id).await;
        assert_eq!(again.body["rejection"], code);
        let event = app
            .events()
            .await
            .into_iter()
            .rfind(|e| e.event_type == "document.rejected")
            .unwrap();
        assert_eq!(event.data["document_id"], id.as_str());
        assert_eq!(event.data["reason"], code);
        assert_eq!(event.data["kind"], "passport");
    }
    assert_eq!(event_types(&app).await, ["document.rejected"; 3]);
    let user_id = app.user_id(ADA).await;
    assert_eq!(app.audit_count(&user_id, "document.rejected").await, 3);
}

async fn concurrent_confirmations_settle_a_document_once(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &token, passport(&bytes)).await;
    let id = id_of(&declared);
    send_to(&declared.body["upload"], bytes).await;
    let (a, b, c) = tokio::join!(
        confirm(&app, &token, &id),
        confirm(&app, &token, &id),
        confirm(&app, &token, &id)
    );
    for reply in [a, b, c] {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body["status"], "confirmed");
    }
    assert_eq!(event_types(&app).await, ["document.confirmed"]);
    let user_id = app.user_id(ADA).await;
    assert_eq!(app.audit_count(&user_id, "document.confirmed").await, 1);
}

async fn confirming_before_the_upload_changes_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let declared = declare(&app, &token, passport(&jpeg())).await;
    let id = id_of(&declared);
    let refused = confirm(&app, &token, &id).await;
    refused.assert_problem(409, "/problems/document-not-uploaded");
    let document = app.get(&format!("{DOCUMENTS}/{id}"), Some(&token)).await;
    assert_eq!(document.body["status"], "pending");
    assert!(event_types(&app).await.is_empty());
    // A pending document has nothing to download yet.
    app.get(&format!("/v1/documents/{id}/download"), Some(&token))
        .await
        .assert_problem(409, "/problems/document-not-confirmed");
}

/// Replaces one query parameter's value in a URL.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((n, _)) if n == name => format!("{n}={value}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

async fn refused_with(request: &Value, bytes: Vec<u8>) -> u16 {
    send_to(request, bytes).await.status().as_u16()
}

async fn the_filesystem_store_refuses_altered_expired_and_oversized_uploads(backend: Backend) {
    let mut options = Spawn::new(backend);
    options.documents.upload_ttl = Duration::from_secs(1);
    let app = spawn_with(options).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &token, passport(&bytes)).await;
    let upload = declared.body["upload"].clone();
    let url = upload["url"].as_str().unwrap();
    let mut signature = url.rsplit_once("signature=").unwrap().1.to_owned();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    signature.replace_range(0..1, flipped);
    for altered in [
        with_param(url, "signature", &signature),
        with_param(url, "size", "99999999"),
        with_param(url, "expires", "99999999999"),
        with_param(url, "type", "application%2Fpdf"),
    ] {
        let request = json!({"method": "PUT", "url": altered, "headers": upload["headers"]});
        let reply = Reply::read(send_to(&request, bytes.clone()).await).await;
        reply.assert_problem(403, "/problems/url-refused");
    }
    // A GET with the upload's signature is refused too.
    let as_get = json!({"method": "GET", "url": url, "headers": {}});
    assert_eq!(refused_with(&as_get, Vec::new()).await, 403);
    // More bytes than declared.
    let mut longer = bytes.clone();
    longer.push(0);
    let reply = Reply::read(send_to(&upload, longer).await).await;
    reply.assert_problem(413, "/problems/payload-too-large");
    // Nothing was stored by any of them.
    confirm(&app, &token, &id_of(&declared))
        .await
        .assert_problem(409, "/problems/document-not-uploaded");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = Reply::read(send_to(&upload, bytes).await).await;
    reply.assert_problem(403, "/problems/url-refused");
    // Once its URL has expired with nothing uploaded, the document is rejected for good.
    let expired = confirm(&app, &token, &id_of(&declared)).await;
    assert_eq!(expired.body["status"], "rejected", "{:?}", expired.body);
    assert_eq!(expired.body["rejection"], "upload.expired");
}

async fn s3_refuses_altered_and_expired_urls(backend: Backend) {
    let Some((app, _server)) = spawn_on_s3(backend, Duration::from_secs(1)).await else {
        return;
    };
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &token, passport(&bytes)).await;
    assert_eq!(declared.status, 201, "{:?}", declared.body);
    let upload = declared.body["upload"].clone();
    let url = upload["url"].as_str().unwrap();
    let signature = url
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Signature="))
        .or_else(|| url.split_once("?X-Amz-Signature=").map(|(_, s)| s))
        .expect("a SigV4 presigned URL");
    let mut altered_signature = signature[..64].to_owned();
    let flipped = if altered_signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    altered_signature.replace_range(0..1, flipped);
    let altered = json!({
        "method": "PUT",
        "url": with_param(url, "X-Amz-Signature", &altered_signature),
        "headers": upload["headers"],
    });
    assert_eq!(refused_with(&altered, bytes.clone()).await, 403);
    confirm(&app, &token, &id_of(&declared))
        .await
        .assert_problem(409, "/problems/document-not-uploaded");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(refused_with(&upload, bytes).await, 403);
}

/// The kinds, file types, numbers and countries a customer may declare are the onboarding
/// component's to decide: a deployed policy that accepts anything changes the answer at once.
/// What the host enforces itself (a kind it keeps, a type it can inspect, size and digest)
/// holds whatever the policy says.
async fn what_a_declaration_may_carry_is_the_onboarding_policys(backend: Backend) {
    let app = spawn(backend).await;
    let access = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = b"%PDF-1.7 a selfie as a document".to_vec();
    let pdf_selfie = json!({"kind": "selfie", "content_type": "application/pdf",
        "size_bytes": bytes.len(), "sha256": sha256(&bytes)});
    let refused = declare(&app, &access, pdf_selfie.clone()).await;
    refused.assert_problem(422, "/problems/validation");
    assert_eq!(refused.violation_codes(), ["content_type.unsupported"]);

    let admin = app.make_admin(ADA, PASSWORD, &access).await;
    let deployed = app
        .upload_component(
            Method::POST,
            "/v1/admin/components?kind=onboarding",
            &admin,
            usvc_tests::built("chaos-onboarding.wasm"),
        )
        .await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);

    let accepted = declare(&app, &admin, pdf_selfie).await;
    assert_eq!(accepted.status, 201, "{:?}", accepted.body);
    for (field, value, code) in [
        ("kind", json!("visa"), "kind.unknown"),
        (
            "content_type",
            json!("image/gif"),
            "content_type.unsupported",
        ),
        ("sha256", json!("abc"), "sha256.invalid"),
    ] {
        let mut body = passport(&bytes);
        body[field] = value;
        let reply = declare(&app, &admin, body).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), [code], "{field}");
    }
}

async fn declarations_are_checked_field_by_field(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let with = |field: &str, value: Value| {
        let mut body = passport(&bytes);
        body[field] = value;
        body
    };
    let cases = [
        (
            json!({}),
            vec![
                "content_type.missing",
                "kind.missing",
                "sha256.missing",
                "size_bytes.missing",
            ],
        ),
        (with("kind", json!("visa")), vec!["kind.unknown"]),
        (
            with("content_type", json!("image/gif")),
            vec!["content_type.unsupported"],
        ),
        (
            with("size_bytes", json!(10 * 1024 * 1024 + 1)),
            vec!["size_bytes.out_of_range"],
        ),
        (
            with("size_bytes", json!(0)),
            vec!["size_bytes.out_of_range"],
        ),
        (with("sha256", json!("abc")), vec!["sha256.invalid"]),
        (with("number", json!("12")), vec!["number.invalid"]),
        (
            with("issuing_country", json!("Britain")),
            vec!["issuing_country.invalid"],
        ),
        (
            json!({"kind": "proof_of_address", "content_type": "application/pdf", "size_bytes": 10,
                   "sha256": sha256(b"x"), "number": "X1234567"}),
            vec!["number.not_allowed"],
        ),
    ];
    for (body, codes) in cases {
        let reply = declare(&app, &token, body.clone()).await;
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), codes, "{body}");
    }
    // A body of the wrong shape is a problem too, never a 500.
    declare(&app, &token, json!({"size_bytes": "big"}))
        .await
        .assert_problem(422, "/problems/invalid-body");
    declare(&app, &token, json!({"colour": "red"}))
        .await
        .assert_problem(422, "/problems/invalid-body");
    let list = app.get(DOCUMENTS, Some(&token)).await;
    assert_eq!(list.body["documents"], json!([]));
}

async fn another_customers_document_is_not_found(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &ada, passport(&bytes)).await;
    let id = id_of(&declared);
    send_to(&declared.body["upload"], bytes).await;
    assert_eq!(confirm(&app, &ada, &id).await.body["status"], "confirmed");

    app.get(&format!("{DOCUMENTS}/{id}"), Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");
    confirm(&app, &bob, &id)
        .await
        .assert_problem(404, "/problems/not-found");
    app.get(&format!("/v1/documents/{id}/download"), Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");
    // The same answers as for a document that does not exist at all.
    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/v1/documents/{unknown}/download"), Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");
    app.get(&format!("{DOCUMENTS}/not-an-id"), Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");
    let list = app.get(DOCUMENTS, Some(&bob)).await;
    assert_eq!(list.body["documents"], json!([]));
}

async fn documents_need_a_token(backend: Backend) {
    let app = spawn(backend).await;
    let id = uuid::Uuid::now_v7();
    for (method, path) in [
        (Method::POST, DOCUMENTS.to_owned()),
        (Method::GET, DOCUMENTS.to_owned()),
        (Method::GET, format!("{DOCUMENTS}/{id}")),
        (Method::POST, format!("{DOCUMENTS}/{id}/confirm")),
        (Method::GET, format!("/v1/documents/{id}/download")),
        (Method::GET, "/v1/users/me/avatar".to_owned()),
        (Method::PUT, "/v1/users/me/avatar".to_owned()),
        (Method::DELETE, "/v1/users/me/avatar".to_owned()),
    ] {
        let body = (method == Method::POST).then(|| passport(&jpeg()));
        app.request_json(method.clone(), &path, None, body)
            .await
            .assert_problem(401, "/problems/unauthorized");
    }
    // The object routes want a signed URL, not a token.
    let unsigned = app
        .http
        .put(app.url("/v1/objects/documents/a/b"))
        .body("x")
        .send()
        .await
        .unwrap();
    Reply::read(unsigned)
        .await
        .assert_problem(403, "/problems/url-refused");
}

async fn compliance_staff_can_download_and_customers_cannot(backend: Backend) {
    let app = spawn(backend).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &ada, passport(&bytes)).await;
    let id = id_of(&declared);
    send_to(&declared.body["upload"], bytes.clone()).await;
    assert_eq!(confirm(&app, &ada, &id).await.body["status"], "confirmed");
    let download = format!("/v1/documents/{id}/download");

    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    app.get(&download, Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");
    // An administrator is not compliance staff.
    let boss = "boss@example.com";
    let boss_access = app.onboarded_customer(boss, PASSWORD).await;
    let admin = app.make_admin(boss, PASSWORD, &boss_access).await;
    app.get(&download, Some(&admin))
        .await
        .assert_problem(404, "/problems/not-found");

    let officer = "officer@example.com";
    let officer_access = app.onboarded_customer(officer, PASSWORD).await;
    let compliance = app
        .make_staff(officer, PASSWORD, &officer_access, "compliance")
        .await;
    let url = app.get(&download, Some(&compliance)).await;
    assert_eq!(url.status, 200, "{:?}", url.body);
    let fetched = send_to(&url.body, Vec::new()).await;
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);

    // The staff download is in the owner's audit trail, naming who read it.
    let owner = app.user_id(ADA).await;
    let trail = app.audit(&owner).await;
    let read: Vec<_> = trail
        .iter()
        .filter(|e| e.event_type == "document.downloaded_by_staff")
        .collect();
    assert_eq!(read.len(), 1, "{trail:?}");
    assert_eq!(read[0].data["by"], app.user_id(officer).await.as_str());
    assert_eq!(read[0].data["document_id"], id.as_str());
    // The owner's own downloads are not staff reads.
    app.get(&download, Some(&ada)).await;
    assert_eq!(
        app.audit_count(&owner, "document.downloaded_by_staff")
            .await,
        1
    );
}

async fn an_avatar_is_stored_served_and_removed(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bob = app.onboarded_customer(BOB, PASSWORD).await;
    let avatar = app.url("/v1/users/me/avatar");
    let put = |token: &str, bytes: Vec<u8>| {
        app.http
            .put(&avatar)
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
    };
    app.get("/v1/users/me/avatar", Some(&token))
        .await
        .assert_problem(404, "/problems/not-found");

    let stored = put(&token, png()).await.unwrap();
    assert_eq!(stored.status(), 204);
    let fetched = app
        .http
        .get(&avatar)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), png());
    // Bob has none of his own and cannot see Ada's.
    app.get("/v1/users/me/avatar", Some(&bob))
        .await
        .assert_problem(404, "/problems/not-found");

    // A JPEG replaces it; anything else is refused and leaves it alone.
    assert_eq!(put(&token, jpeg()).await.unwrap().status(), 204);
    let refused = Reply::read(put(&token, b"GIF89a not an avatar".to_vec()).await.unwrap()).await;
    refused.assert_problem(422, "/problems/validation");
    assert_eq!(refused.violation_codes(), ["avatar.not_an_image"]);
    let mut huge = png();
    huge.resize((1 << 20) + 1, 0);
    let refused = Reply::read(put(&token, huge).await.unwrap()).await;
    refused.assert_problem(413, "/problems/payload-too-large");
    let fetched = app
        .http
        .get(&avatar)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");

    let removed = app
        .http
        .delete(&avatar)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    app.get("/v1/users/me/avatar", Some(&token))
        .await
        .assert_problem(404, "/problems/not-found");
}

/// A PDF as far as magic bytes go.
fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..800u32).map(|i| (i % 97) as u8));
    bytes
}

/// Declares, uploads and confirms a document through the API.
async fn upload(app: &TestApp, token: &str, kind: &str, content_type: &str, bytes: Vec<u8>) {
    let mut body = json!({
        "kind": kind,
        "content_type": content_type,
        "size_bytes": bytes.len(),
        "sha256": sha256(&bytes),
    });
    if kind == "passport" {
        body["number"] = json!("P98765432");
        body["issuing_country"] = json!("GB");
    }
    let declared = declare(app, token, body).await;
    assert_eq!(declared.status, 201, "{:?}", declared.body);
    let sent = send_to(&declared.body["upload"], bytes).await;
    assert!(sent.status().is_success(), "{:?}", sent.text().await);
    let confirmed = confirm(app, token, &id_of(&declared)).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(
        confirmed.body["status"], "confirmed",
        "{:?}",
        confirmed.body
    );
}

/// The whole KYC path through the front door: documents uploaded to the object store and
/// confirmed, verification asked for, the sandbox KYC provider's result recorded, the policy
/// deciding again: tier 3, `user.verification_changed` published, the customer told.
async fn kyc_journey(app: &TestApp) {
    let (token, _) = app.verifiable_customer(ADA, PASSWORD).await;
    let before = app.verification(&token).await;
    assert_eq!(before["tier"], 1, "{before}");
    upload(app, &token, "passport", "image/jpeg", jpeg()).await;
    upload(app, &token, "proof_of_address", "application/pdf", pdf()).await;
    upload(app, &token, "selfie", "image/png", png()).await;

    let asked = call(app, Method::POST, "/v1/users/me/verification", &token, None).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    let verified = app.wait_for_verification(&token, "verified").await;
    assert_eq!(verified["tier"], 3, "{verified}");
    assert!(
        verified["requirements"].as_array().unwrap().is_empty(),
        "{verified}"
    );

    let changes: Vec<Value> = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.verification_changed")
        .map(|e| e.data)
        .collect();
    assert_eq!(changes.last().unwrap()["to_tier"], 3, "{changes:?}");
    let told = app
        .mailbox(ADA)
        .await
        .iter()
        .any(|m| m["notice"] == "verification_changed");
    assert!(told, "the customer is told");
}

async fn documents_kyc_and_the_policy_verify_a_customer_on_the_filesystem_store(backend: Backend) {
    let app = spawn(backend).await;
    kyc_journey(&app).await;
}

async fn documents_kyc_and_the_policy_verify_a_customer_on_s3(backend: Backend) {
    let Some((app, _server)) = spawn_on_s3(backend, Duration::from_secs(600)).await else {
        return;
    };
    kyc_journey(&app).await;
}

async fn a_confirmed_documents_upload_url_no_longer_works(backend: Backend) {
    let app = spawn(backend).await;
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &token, passport(&bytes)).await;
    let id = id_of(&declared);
    let upload = &declared.body["upload"];
    assert_eq!(send_to(upload, bytes.clone()).await.status(), 200);
    assert_eq!(confirm(&app, &token, &id).await.body["status"], "confirmed");

    // The URL has not expired, but its document is settled: other bytes of the same length are
    // refused, and the confirmed bytes stay.
    let mut forged = bytes.clone();
    forged[100] ^= 0xFF;
    let replaced = send_to(upload, forged).await;
    assert_eq!(replaced.status(), 409);
    let download = app
        .get(&format!("/v1/documents/{id}/download"), Some(&token))
        .await;
    assert_eq!(download.status, 200, "{:?}", download.body);
    let fetched = send_to(&download.body, Vec::new()).await;
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), bytes);
}

async fn a_confirmed_object_cannot_be_replaced_on_s3(backend: Backend) {
    let Some((app, _server)) = spawn_on_s3(backend, Duration::from_secs(600)).await else {
        return;
    };
    let token = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &token, passport(&bytes)).await;
    assert_eq!(declared.status, 201, "{:?}", declared.body);
    let id = id_of(&declared);
    let upload = &declared.body["upload"];
    // The length and the digest are signed headers of the URL: S3 takes no other length (the
    // signature fails) and no other content (S3 checks `x-amz-checksum-sha256` against the body;
    // s3s-fs, the test server, checks the signature only, so here the header's value is checked).
    let url = upload["url"].as_str().unwrap();
    assert!(
        url.contains(
            "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256"
        ),
        "{url}"
    );
    use base64::Engine as _;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    assert_eq!(upload["headers"]["x-amz-checksum-sha256"], digest.as_str());
    let mut larger = bytes.clone();
    larger.extend_from_slice(&[0u8; 4096]);
    let mut oversized = reqwest::Client::new().put(url);
    for (name, value) in upload["headers"].as_object().unwrap() {
        if name != "content-length" {
            oversized = oversized.header(name, value.as_str().unwrap());
        }
    }
    let oversized = oversized.body(larger).send().await.unwrap();
    assert!(
        oversized.status().is_client_error(),
        "{}",
        oversized.status()
    );
    let stored = send_to(upload, bytes.clone()).await;
    assert_eq!(stored.status(), 200, "{:?}", stored.text().await);
    assert_eq!(confirm(&app, &token, &id).await.body["status"], "confirmed");
}

async fn staff_are_never_served_a_document_altered_after_confirmation(backend: Backend) {
    let options = Spawn::new(backend);
    let objects = options.documents.objects_dir.clone();
    let app = spawn_with(options).await;
    let ada = app.onboarded_customer(ADA, PASSWORD).await;
    let bytes = jpeg();
    let declared = declare(&app, &ada, passport(&bytes)).await;
    let id = id_of(&declared);
    send_to(&declared.body["upload"], bytes.clone()).await;
    assert_eq!(confirm(&app, &ada, &id).await.body["status"], "confirmed");

    // The object changes at rest, behind the host's back.
    let user = app.user_id(ADA).await;
    let path = objects.join(format!("documents/{user}/{id}"));
    let mut altered = bytes.clone();
    altered[200] ^= 0xFF;
    std::fs::write(&path, altered).expect("the stored object");

    let officer = "officer@example.com";
    let officer_access = app.onboarded_customer(officer, PASSWORD).await;
    let compliance = app
        .make_staff(officer, PASSWORD, &officer_access, "compliance")
        .await;
    app.get(&format!("/v1/documents/{id}/download"), Some(&compliance))
        .await
        .assert_problem(409, "/problems/document-altered");
    assert_eq!(
        app.audit_count(&user, "document.downloaded_by_staff").await,
        0
    );
}
