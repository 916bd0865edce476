//! `/v1/admin/components`: signed components deployed by an administrator, refused with their
//! reason (changing nothing), served by the next call on every host sharing the database,
//! kept in a history, rolled back, and loaded at start-up.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use usvc::{
    config::Mode,
    runtime::{
        ComponentKind,
        artifact::{self, Artifact, Draft},
    },
};
use usvc_tests::{
    Backend, Reply, Spawn, TestApp, backends, built, signing_key_pem, spawn_with, totp_code,
};

backends!(
    every_refusal_names_its_reason_and_changes_nothing,
    a_deployed_policy_serves_the_next_login_on_every_host_and_rolls_back,
    the_watched_directory_deploys_signed_artifacts_only_in_production,
    the_command_line_client_deploys_lists_and_rolls_back,
    a_call_in_flight_finishes_on_the_version_it_started_with,
    an_older_version_goes_live_only_when_asked_for_and_is_recorded,
    a_stored_version_goes_live_again_only_while_its_signature_is_trusted,
);

const PASSWORD: &str = "grace hopper 1906";
const MAX_BYTES: usize = 2 << 20;

/// A signer the hosts trust: its key and the `USVC_COMPONENT_SIGNERS` text.
struct Signer {
    pem: String,
    trusted: String,
}

fn new_signer() -> Signer {
    let pem = usvc::auth::tokens::generate_pem().unwrap();
    let public = usvc::grpc::callers::public_key(&pem).unwrap();
    Signer {
        trusted: format!("compliance={public}"),
        pem,
    }
}

fn signed(component: &[u8], kind: ComponentKind, version: &str, pem: &str) -> Artifact {
    let draft = Draft {
        kind,
        version,
        description: "a policy under test",
        author: "compliance team",
    };
    artifact::sign(component, draft, "compliance", pem).unwrap()
}

/// A host in `mode`, on `database_url` when given (another replica), trusting `signer`.
async fn host(
    backend: Backend,
    mode: Mode,
    signer: &Signer,
    database_url: Option<String>,
) -> TestApp {
    spawn_with(Spawn {
        mode,
        database_url,
        // Every host signs tokens with the same key, as replicas do.
        signing_key_pem: Some(signing_key_pem(7)),
        component_signers: signer.trusted.clone(),
        component_max_bytes: Some(MAX_BYTES),
        ..Spawn::new(backend)
    })
    .await
}

async fn deploy_raw(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    deploy_to(app, "/v1/admin/components", token, content_type, body).await
}

async fn deploy_to(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Reply::read(request.send().await.unwrap()).await
}

async fn deploy(app: &TestApp, token: &str, artifact: &Artifact) -> Reply {
    let body = serde_json::to_vec(artifact).unwrap();
    deploy_raw(app, Some(token), "application/json", body).await
}

async fn digest_of(app: &TestApp, kind: &str) -> Value {
    let ready = app.get("/readyz", None).await;
    ready.body["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap()["digest"]
        .clone()
}

/// The first, an administrator's access token, valid on every host of the database.
async fn administrator(app: &TestApp) -> String {
    let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com", PASSWORD, &access).await
}

async fn every_refusal_names_its_reason_and_changes_nothing(backend: Backend) {
    let signer = new_signer();
    let development = host(backend, Mode::Development, &signer, None).await;
    let production = host(
        backend,
        Mode::Production,
        &signer,
        Some(development.database_url.clone()),
    )
    .await;
    let customer = development
        .onboarded_customer("customer@example.com", PASSWORD)
        .await;
    let admin = administrator(&development).await;
    let good = signed(&built("mfa.wasm"), ComponentKind::Mfa, "1.0.0", &signer.pem);
    let body = serde_json::to_vec(&good).unwrap();

    // Anonymous callers are 401, customers 403, on every route.
    let rollback = "/v1/admin/components/mfa/rollback";
    for token in [None, Some(customer.as_str())] {
        let status = if token.is_none() { 401 } else { 403 };
        deploy_raw(&production, token, "application/json", body.clone())
            .await
            .assert_problem(
                status,
                if token.is_none() {
                    "/problems/unauthorized"
                } else {
                    "/problems/forbidden"
                },
            );
        let list = production
            .request_json(Method::GET, "/v1/admin/components", token, None)
            .await;
        assert_eq!(list.status, status, "{:?}", list.body);
        let back = production
            .request_json(Method::POST, rollback, token, Some(json!({"digest": "00"})))
            .await;
        assert_eq!(back.status, status, "{:?}", back.body);
    }

    let before = digest_of(&production, "mfa").await;
    let refused = |reply: Reply, code: &str| {
        reply.assert_problem(422, "/problems/validation");
        assert_eq!(reply.violation_codes(), [code], "{:?}", reply.body);
    };
    // Production accepts no bare component; development does (below).
    let wasm = built("mfa-known-devices.wasm");
    refused(
        deploy_to(
            &production,
            "/v1/admin/components?kind=mfa",
            Some(&admin),
            "application/wasm",
            wasm.clone(),
        )
        .await,
        "artifact.unsigned",
    );
    let mut stranger = good.clone();
    stranger.signer = "someone".to_owned();
    refused(
        deploy(&production, &admin, &stranger).await,
        "artifact.unknown_signer",
    );
    let other = new_signer();
    let forged = artifact::sign(
        &built("mfa.wasm"),
        Draft {
            kind: ComponentKind::Mfa,
            version: "1.0.0",
            description: "forged",
            author: "someone",
        },
        "compliance",
        &other.pem,
    )
    .unwrap();
    refused(
        deploy(&production, &admin, &forged).await,
        "artifact.bad_signature",
    );
    let mut swapped = good.clone();
    swapped.component = base64_of(&wasm);
    refused(
        deploy(&production, &admin, &swapped).await,
        "artifact.digest_mismatch",
    );
    let mut world = good.clone();
    world.manifest.world = "usvc:host/onboarding".to_owned();
    refused(
        deploy(&production, &admin, &world).await,
        "artifact.world_mismatch",
    );
    refused(
        deploy_raw(
            &production,
            Some(&admin),
            "application/json",
            vec![b' '; MAX_BYTES + 1],
        )
        .await,
        "artifact.too_large",
    );
    refused(
        deploy_raw(
            &production,
            Some(&admin),
            "application/json",
            b"{}".to_vec(),
        )
        .await,
        "artifact.malformed",
    );
    // A valid signature over a component that does not implement the kind's world.
    let onboarding_as_mfa = signed(
        &built("onboarding.wasm"),
        ComponentKind::Mfa,
        "9.9.9",
        &signer.pem,
    );
    let reply = deploy(&production, &admin, &onboarding_as_mfa).await;
    assert!(
        reply.body["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("mfa"),
        "{:?}",
        reply.body
    );
    refused(reply, "artifact.type_check");
    let unknown = deploy_to(
        &production,
        "/v1/admin/components?kind=payments",
        Some(&admin),
        "application/json",
        body.clone(),
    )
    .await;
    refused(unknown, "artifact.unknown_kind");
    let odd = deploy_to(
        &production,
        "/v1/admin/components?flavour=mint",
        Some(&admin),
        "application/json",
        body.clone(),
    )
    .await;
    odd.assert_problem(400, "/problems/malformed-request");
    let form = deploy_raw(&production, Some(&admin), "text/plain", body.clone()).await;
    form.assert_problem(415, "/problems/unsupported-media-type");

    // Nothing changed: the same component runs, and nothing is stored or recorded.
    assert_eq!(digest_of(&production, "mfa").await, before);
    let history = production
        .request_json(Method::GET, "/v1/admin/components", Some(&admin), None)
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    for kind in history.body["components"].as_array().unwrap() {
        assert!(kind["versions"].as_array().unwrap().is_empty(), "{kind:?}");
        assert!(kind["active"].is_null());
    }
    assert!(
        !development
            .events()
            .await
            .iter()
            .any(|e| e.event_type.starts_with("component."))
    );

    // Development mode takes a bare component, loudly, and records it unsigned.
    let bare = deploy_to(
        &development,
        "/v1/admin/components?kind=mfa",
        Some(&admin),
        "application/wasm",
        wasm,
    )
    .await;
    assert_eq!(bare.status, 201, "{:?}", bare.body);
    assert!(bare.body["signer"].is_null() && bare.body["version"].is_null());
    assert_eq!(digest_of(&development, "mfa").await, bare.body["digest"]);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn login(app: &TestApp, device_token: Option<&str>) -> Reply {
    app.post(
        "/v1/auth/login",
        json!({ "email": "ada@example.com", "password": PASSWORD, "device_token": device_token }),
    )
    .await
}

/// Waits up to five seconds for `app` to run `digest` as its `kind`.
async fn switched(app: &TestApp, kind: &str, digest: &Value) -> bool {
    for _ in 0..50 {
        if &digest_of(app, kind).await == digest {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn a_deployed_policy_serves_the_next_login_on_every_host_and_rolls_back(backend: Backend) {
    let signer = new_signer();
    let first = host(backend, Mode::Development, &signer, None).await;
    let second = host(
        backend,
        Mode::Production,
        &signer,
        Some(first.database_url.clone()),
    )
    .await;
    let admin = administrator(&first).await;

    // Ada's known device: the bank's default policy still asks for her second factor.
    let access = first.onboarded_customer("ada@example.com", PASSWORD).await;
    let secret = first.enrol_totp(&access).await;
    let challenge = login(&first, None).await.body["challenge_token"].clone();
    let body =
        json!({"challenge_token": challenge, "method": "totp", "code": totp_code(&secret, 1)});
    let tokens = first.post("/v1/auth/mfa/verify", body).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let device = tokens.body["device_token"].as_str().unwrap().to_owned();
    assert_eq!(
        login(&second, Some(&device)).await.body["mfa_required"],
        true
    );

    // The default policy, signed as 1.0.0, then "never ask on a known device" as 1.1.0, both
    // deployed on the production host.
    let default = signed(&built("mfa.wasm"), ComponentKind::Mfa, "1.0.0", &signer.pem);
    let relaxed = signed(
        &built("mfa-known-devices.wasm"),
        ComponentKind::Mfa,
        "1.1.0",
        &signer.pem,
    );
    let deployed = deploy(&second, &admin, &default).await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);
    let default_digest = deployed.body["digest"].clone();
    assert_eq!(default_digest, json!(default.manifest.component_sha256));
    let deployed = deploy(&second, &admin, &relaxed).await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);
    assert_eq!(deployed.body["kind"], "mfa");
    assert_eq!(deployed.body["version"], "1.1.0");
    assert_eq!(deployed.body["signer"], "compliance");
    assert_eq!(deployed.body["status"], "active");
    let relaxed_digest = deployed.body["digest"].clone();
    // The same artifact again changes nothing.
    let again = deploy(&second, &admin, &relaxed).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["digest"], relaxed_digest);

    // The very next login on the deploying host runs the new policy...
    assert_eq!(digest_of(&second, "mfa").await, relaxed_digest);
    let reply = login(&second, Some(&device)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        usvc_tests::claims_of(reply.body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    // ...and the other host switches within seconds.
    assert!(
        switched(&first, "mfa", &relaxed_digest).await,
        "the fleet switched"
    );
    assert_eq!(login(&first, Some(&device)).await.status, 200);
    assert_eq!(login(&first, None).await.body["mfa_required"], true);

    // A host starting now loads the stored active version, not its directory's file.
    let third = host(
        backend,
        Mode::Development,
        &signer,
        Some(first.database_url.clone()),
    )
    .await;
    assert_eq!(digest_of(&third, "mfa").await, relaxed_digest);
    drop(third);

    // The history, newest first, names the active one.
    let history = first
        .request_json(Method::GET, "/v1/admin/components", Some(&admin), None)
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let mfa = history.body["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "mfa")
        .unwrap()
        .clone();
    assert_eq!(mfa["active"], relaxed_digest);
    let versions: Vec<&Value> = mfa["versions"].as_array().unwrap().iter().collect();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], "1.1.0");
    assert_eq!(versions[1]["version"], "1.0.0");
    assert_eq!(versions[1]["status"], "retired");

    // Rollback on the first host: both ask again.
    let rollback = "/v1/admin/components/mfa/rollback";
    let unknown = first
        .request_json(
            Method::POST,
            rollback,
            Some(&admin),
            Some(json!({"digest": "ab"})),
        )
        .await;
    unknown.assert_problem(404, "/problems/not-found");
    let unknown = first
        .request_json(
            Method::POST,
            "/v1/admin/components/payments/rollback",
            Some(&admin),
            Some(json!({"digest": default_digest})),
        )
        .await;
    unknown.assert_problem(404, "/problems/not-found");
    let back = first
        .request_json(
            Method::POST,
            rollback,
            Some(&admin),
            Some(json!({"digest": default_digest})),
        )
        .await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body["version"], "1.0.0");
    assert_eq!(back.body["status"], "active");
    assert_eq!(
        login(&first, Some(&device)).await.body["mfa_required"],
        true
    );
    assert!(
        switched(&second, "mfa", &default_digest).await,
        "the fleet rolled back"
    );
    assert_eq!(
        login(&second, Some(&device)).await.body["mfa_required"],
        true
    );

    // Every change is published and audited under the administrator.
    let admin_id = first.user_id("boss@example.com").await;
    assert_eq!(first.audit_count(&admin_id, "component.deployed").await, 2);
    assert_eq!(
        first.audit_count(&admin_id, "component.rolled_back").await,
        1
    );
    let events: Vec<_> = first
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type.starts_with("component."))
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].data["digest"], relaxed_digest);
    assert_eq!(events[1].data["version"], "1.1.0");
    assert_eq!(events[2].event_type, "component.rolled_back");
    assert_eq!(events[2].data["digest"], default_digest);
}

async fn the_watched_directory_deploys_signed_artifacts_only_in_production(backend: Backend) {
    let signer = new_signer();
    let dir =
        std::env::temp_dir().join(format!("usvc-deploy-dir-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["onboarding.wasm", "mfa.wasm", "verification.wasm"] {
        std::fs::write(dir.join(name), built(name)).unwrap();
    }
    let app = spawn_with(Spawn {
        mode: Mode::Production,
        components_dir: dir.clone(),
        component_signers: signer.trusted.clone(),
        ..Spawn::new(backend)
    })
    .await;
    let before = digest_of(&app, "mfa").await;

    // A bare component replaced in production is refused; the active version stays.
    let staged = dir.join("staged");
    std::fs::write(&staged, built("mfa-known-devices.wasm")).unwrap();
    std::fs::rename(&staged, dir.join("mfa.wasm")).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(digest_of(&app, "mfa").await, before);

    // A signed artifact dropped beside it is deployed, stored and recorded.
    let relaxed = signed(
        &built("mfa-known-devices.wasm"),
        ComponentKind::Mfa,
        "2.0.0",
        &signer.pem,
    );
    std::fs::write(&staged, serde_json::to_vec(&relaxed).unwrap()).unwrap();
    std::fs::rename(&staged, dir.join("mfa.usvc.json")).unwrap();
    let digest = json!(relaxed.manifest.component_sha256);
    assert!(
        switched(&app, "mfa", &digest).await,
        "the artifact was deployed"
    );
    let (by, version): (String, String) = sqlx::query_as(
        "SELECT deployed_by, version FROM component_versions WHERE kind = 'mfa' AND status = 'active'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((by.as_str(), version.as_str()), ("components-dir", "2.0.0"));
    assert_eq!(
        app.audit_count("components-dir", "component.deployed")
            .await,
        1
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// What `usvc components deploy|list|rollback` do, through the client they use.
async fn the_command_line_client_deploys_lists_and_rolls_back(backend: Backend) {
    use usvc::admin_client::{AdminClient, table};
    let signer = new_signer();
    let app = host(backend, Mode::Development, &signer, None).await;
    let admin = administrator(&app).await;
    let client = AdminClient::new(&app.base, &admin);
    let dir =
        std::env::temp_dir().join(format!("usvc-cli-deploy-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();

    let first = dir.join("mfa-1.0.0.usvc.json");
    let default = signed(&built("mfa.wasm"), ComponentKind::Mfa, "1.0.0", &signer.pem);
    std::fs::write(&first, serde_json::to_vec(&default).unwrap()).unwrap();
    let deployed = client.deploy(&first, false).await.unwrap();
    assert_eq!(deployed["version"], "1.0.0");
    // A bare component is named after its kind.
    let bare = dir.join("mfa.wasm");
    std::fs::write(&bare, built("mfa-known-devices.wasm")).unwrap();
    let deployed = client.deploy(&bare, false).await.unwrap();
    assert!(deployed["signer"].is_null());
    assert_eq!(digest_of(&app, "mfa").await, deployed["digest"]);

    let listed = table(&client.list().await.unwrap());
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(lines[1].starts_with("mfa\tactive\t-\t"), "{listed}");
    assert!(lines[2].starts_with("mfa\tretired\t1.0.0\t"), "{listed}");

    let digest = default.manifest.component_sha256.clone();
    let back = client.rollback("mfa", &digest).await.unwrap();
    assert_eq!(back["status"], "active");
    assert_eq!(digest_of(&app, "mfa").await, json!(digest));

    // A refusal names its reason; a customer's token is refused.
    let mut forged = default.clone();
    forged.manifest.version = "1.0.1".to_owned();
    std::fs::write(&first, serde_json::to_vec(&forged).unwrap()).unwrap();
    let error = client.deploy(&first, false).await.unwrap_err().to_string();
    assert!(
        error.contains("422") && error.contains("artifact.bad_signature"),
        "{error}"
    );
    let customer = app
        .onboarded_customer("someone@example.com", PASSWORD)
        .await;
    let error = AdminClient::new(&app.base, &customer)
        .list()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("403"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A registration still running on the chaos fixture when the real onboarding component
/// replaces it finishes on the fixture (which writes the user and publishes nothing); the next
/// registration runs on the new version (which publishes `user.registered`).
async fn a_call_in_flight_finishes_on_the_version_it_started_with(backend: Backend) {
    let built = usvc_tests::components_dir();
    let dir = std::env::temp_dir().join(format!("usvc-inflight-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        built.join("chaos-onboarding.wasm"),
        dir.join("onboarding.wasm"),
    )
    .unwrap();
    let app = spawn_with(Spawn {
        components_dir: dir.clone(),
        call_deadline_ms: 30_000,
        ..Spawn::new(backend)
    })
    .await;
    let before = app.get("/readyz", None).await.body;

    let mut slow = usvc_tests::application("slow@example.com", PASSWORD);
    slow["legal_name"] = json!("slow");
    let in_flight = {
        let http = reqwest::Client::new();
        let url = app.url("/v1/auth/register");
        tokio::spawn(async move { http.post(url).json(&slow).send().await.unwrap().status() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The real onboarding component replaces the fixture, as a deployment tool would.
    let staged = dir.join("onboarding.wasm.new");
    std::fs::copy(built.join("onboarding.wasm"), &staged).unwrap();
    std::fs::rename(&staged, dir.join("onboarding.wasm")).unwrap();
    let mut swapped = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.get("/readyz", None).await.body != before {
            swapped = true;
            break;
        }
    }
    assert!(swapped, "the new version became active");
    if in_flight.is_finished() {
        panic!(
            "the slow call had ended ({:?}) before the new version became active",
            in_flight.await
        );
    }

    assert_eq!(in_flight.await.unwrap(), 202);
    let users = app.users().await;
    assert_eq!(users.len(), 1, "the old version wrote its user");
    let registered = |events: Vec<usvc::store::outbox::Event>| {
        events
            .into_iter()
            .filter(|e| e.event_type == "user.registered")
            .count()
    };
    assert_eq!(
        registered(app.events().await),
        0,
        "the old version publishes nothing: the call did not switch versions midway"
    );
    let next = app
        .post(
            "/v1/auth/register",
            usvc_tests::application("next@example.com", PASSWORD),
        )
        .await;
    assert_eq!(next.status, 202, "{:?}", next.body);
    let types: Vec<String> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(
        types.contains(&"user.registered".to_owned()),
        "the next call ran on the new version: {types:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

async fn rollback_to(app: &TestApp, admin: &str, digest: &Value) -> Reply {
    app.request_json(
        Method::POST,
        "/v1/admin/components/mfa/rollback",
        Some(admin),
        Some(json!({ "digest": digest })),
    )
    .await
}

/// A signed artifact older than the active version is refused unless the deploy says so; a
/// downgrade made on purpose says so in its event.
async fn an_older_version_goes_live_only_when_asked_for_and_is_recorded(backend: Backend) {
    let signer = new_signer();
    // The administrator onboards through a development host (the mailbox), sharing the database.
    let setup = host(backend, Mode::Development, &signer, None).await;
    let admin = administrator(&setup).await;
    let app = host(
        backend,
        Mode::Production,
        &signer,
        Some(setup.database_url.clone()),
    )
    .await;
    let newer = signed(
        &built("mfa-known-devices.wasm"),
        ComponentKind::Mfa,
        "1.1.0",
        &signer.pem,
    );
    let older = signed(&built("mfa.wasm"), ComponentKind::Mfa, "1.0.3", &signer.pem);
    let deployed = deploy(&app, &admin, &newer).await;
    assert_eq!(deployed.status, 201, "{:?}", deployed.body);
    let active = deployed.body["digest"].clone();

    let refused = deploy(&app, &admin, &older).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.violation_codes(), ["artifact.downgrade"]);
    assert_eq!(digest_of(&app, "mfa").await, active, "nothing changed");

    let body = serde_json::to_vec(&older).unwrap();
    let path = "/v1/admin/components?allow_downgrade=true";
    let downgraded = deploy_to(&app, path, Some(&admin), "application/json", body).await;
    assert_eq!(downgraded.status, 201, "{:?}", downgraded.body);
    assert_eq!(downgraded.body["version"], "1.0.3");
    let deployed: Vec<Value> = app
        .audit(&app.user_id("boss@example.com").await)
        .await
        .into_iter()
        .filter(|e| e.event_type == "component.deployed")
        .map(|e| e.data)
        .collect();
    assert_eq!(deployed.len(), 2, "{deployed:?}");
    assert_eq!(deployed[0].get("downgraded_from"), None);
    assert_eq!(deployed[1]["downgraded_from"], "1.1.0");
}

/// A rollback (and a fleet switch) verifies the stored artifact's signature again, against
/// the signers trusted now: a version whose signer is no longer trusted, or whose artifact is
/// gone, does not go live in production.
async fn a_stored_version_goes_live_again_only_while_its_signature_is_trusted(backend: Backend) {
    let signer = new_signer();
    let setup = host(backend, Mode::Development, &signer, None).await;
    let admin = administrator(&setup).await;
    let first = host(
        backend,
        Mode::Production,
        &signer,
        Some(setup.database_url.clone()),
    )
    .await;
    let one = signed(&built("mfa.wasm"), ComponentKind::Mfa, "1.0.0", &signer.pem);
    let two = signed(
        &built("mfa-known-devices.wasm"),
        ComponentKind::Mfa,
        "1.1.0",
        &signer.pem,
    );
    let one_digest = deploy(&first, &admin, &one).await.body["digest"].clone();
    let two_digest = deploy(&first, &admin, &two).await.body["digest"].clone();
    assert_eq!(digest_of(&first, "mfa").await, two_digest);
    // Trusted: the rollback goes through.
    let back = rollback_to(&first, &admin, &one_digest).await;
    assert_eq!(back.status, 200, "{:?}", back.body);

    // A host that trusts another key for that signer now (the old one was withdrawn) refuses
    // to go back.
    let other = new_signer();
    let second = host(
        backend,
        Mode::Production,
        &other,
        Some(first.database_url.clone()),
    )
    .await;
    let refused = rollback_to(&second, &admin, &two_digest).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.violation_codes(), ["artifact.bad_signature"]);
    assert_eq!(
        digest_of(&first, "mfa").await,
        one_digest,
        "nothing changed"
    );

    // A stored version without its signed artifact (stored unsigned, or before artifacts were
    // kept) is not activated again in production, whatever its component column holds.
    let mut conn = first.db.acquire().await.unwrap();
    sqlx::query("UPDATE component_versions SET artifact = NULL WHERE digest = $1")
        .bind(two_digest.as_str().unwrap())
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let refused = rollback_to(&first, &admin, &two_digest).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.violation_codes(), ["artifact.unsigned"]);
    assert_eq!(
        digest_of(&first, "mfa").await,
        one_digest,
        "nothing changed"
    );
}
