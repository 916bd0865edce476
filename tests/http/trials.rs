//! Trying a candidate before it goes live: a shadow evaluated beside the active version (its
//! writes discarded, its disagreements logged and counted), a canary deciding for a stable share
//! of customers, replaying recorded decisions against a candidate, the self-test a deploy runs,
//! and the decision log an auditor queries.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use usvc::{config::Mode, runtime::decision::in_canary};
use usvc_tests::{Backend, Reply, Spawn, TestApp, backends, built, spawn_with, totp_code};

backends!(
    a_shadow_candidate_decides_nothing_and_its_disagreements_are_counted,
    a_canary_decides_for_its_share_of_customers_and_always_the_same_ones,
    replaying_recorded_decisions_reports_where_a_candidate_differs,
    a_failing_self_test_refuses_the_component,
    the_decision_log_answers_an_auditor_and_no_one_else,
    the_command_line_client_runs_trials_replays_and_reads_the_log,
);

const PASSWORD: &str = "plum orchard velvet 42";

async fn host(backend: Backend) -> TestApp {
    spawn_with(Spawn {
        mode: Mode::Development,
        ..Spawn::new(backend)
    })
    .await
}

async fn administrator(app: &TestApp) -> String {
    let access = app.onboarded_customer("boss@example.com", PASSWORD).await;
    app.make_admin("boss@example.com", PASSWORD, &access).await
}

async fn decisions(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/admin/decisions?{query}"), Some(token))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["decisions"].as_array().unwrap().clone()
}

fn registration(email: &str, legal_name: &str) -> Value {
    let mut application = usvc_tests::application(email, PASSWORD);
    application["legal_name"] = json!(legal_name);
    application
}

async fn a_shadow_candidate_decides_nothing_and_its_disagreements_are_counted(backend: Backend) {
    let app = host(backend).await;
    let admin = administrator(&app).await;
    let trial = "/v1/admin/components/onboarding/trial";
    let disagreements = || {
        app.metric(
            "usvc_component_shadow_disagreements_total",
            &[r#"kind="onboarding""#],
        )
    };
    let disagreed_before = disagreements().await;

    // The chaos fixture in the shadow of the real onboarding policy: it accepts an ordinary
    // applicant (writing a customer of its own), and refuses "error-after-create".
    let started = app
        .upload_component(
            Method::PUT,
            &format!("{trial}?mode=shadow"),
            &admin,
            built("chaos-onboarding.wasm"),
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    assert_eq!(started.body["mode"], "shadow");
    let candidate = started.body["digest"].as_str().unwrap().to_owned();

    let agreed = app
        .post(
            "/v1/auth/register",
            registration("ada@example.com", "Ada King"),
        )
        .await;
    assert_eq!(agreed.status, 202, "{:?}", agreed.body);
    let differed = app
        .post(
            "/v1/auth/register",
            registration("grace@example.com", "error-after-create"),
        )
        .await;
    assert_eq!(
        differed.status, 202,
        "the active version decided: {:?}",
        differed.body
    );

    // The shadow's writes were discarded: one customer per applicant, registered once.
    let users = app.users().await;
    for email in ["ada@example.com", "grace@example.com"] {
        assert_eq!(users.iter().filter(|u| u.email == email).count(), 1);
    }
    let registered = app
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "user.registered")
        .count();
    assert_eq!(registered, 3, "boss, ada and grace, once each");

    // Both evaluations logged beside the decisions, the disagreement counted.
    let status = app.get(trial, Some(&admin)).await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    assert_eq!(status.body["evaluated"], 2, "{:?}", status.body);
    assert_eq!(status.body["disagreements"], 1, "{:?}", status.body);
    let shadows = decisions(&app, &admin, "kind=onboarding&role=shadow").await;
    assert_eq!(shadows.len(), 2, "{shadows:?}");
    let disagreement = shadows.iter().find(|d| d["agreed"] == false).unwrap();
    assert_eq!(disagreement["outcome"], "refused:chaos.refused");
    assert_eq!(disagreement["digest"], candidate.as_str());
    assert_eq!(disagreement["operation"], "register");
    let active = decisions(
        &app,
        &admin,
        "kind=onboarding&role=active&operation=register",
    )
    .await;
    let decided = active
        .iter()
        .find(|d| d["input_digest"] == disagreement["input_digest"])
        .expect("the active decision on the same input");
    assert_eq!(decided["outcome"], "accepted");
    assert_ne!(decided["digest"], candidate.as_str());
    assert!(disagreements().await >= disagreed_before + 1.0);

    // Ended: the candidate is evaluated no more, and the final counts are kept in the event.
    let ended = app
        .request_json(Method::DELETE, trial, Some(&admin), None)
        .await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    assert_eq!(ended.body["disagreements"], 1);
    let reply = app
        .post(
            "/v1/auth/register",
            registration("alan@example.com", "error-after-create"),
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(decisions(&app, &admin, "role=shadow").await.len(), 2);
    assert_eq!(app.get(trial, Some(&admin)).await.status, 404);
    let events = app.events().await;
    let started = events
        .iter()
        .find(|e| e.event_type == "component.trial_started")
        .unwrap();
    assert_eq!(started.data["mode"], "shadow");
    let ended = events
        .iter()
        .find(|e| e.event_type == "component.trial_ended")
        .unwrap();
    assert_eq!(ended.data["evaluated"], 2);
    assert_eq!(ended.data["disagreements"], 1);
    assert_eq!(ended.data["promoted"], false);
}

async fn a_canary_decides_for_its_share_of_customers_and_always_the_same_ones(backend: Backend) {
    let app = host(backend).await;
    let admin = administrator(&app).await;
    let active = app
        .upload_component(
            Method::POST,
            "/v1/admin/components?kind=onboarding",
            &admin,
            built("onboarding.wasm"),
        )
        .await;
    assert!(
        active.status == 200 || active.status == 201,
        "{:?}",
        active.body
    );
    let active = active.body["digest"].as_str().unwrap().to_owned();

    // The same policy under another digest takes 30% of applicants.
    let candidate = usvc_tests::variant(&built("onboarding.wasm"), "canary");
    let started = app
        .upload_component(
            Method::PUT,
            "/v1/admin/components/onboarding/trial?mode=canary&percent=30",
            &admin,
            candidate,
        )
        .await;
    assert_eq!(started.status, 201, "{:?}", started.body);
    assert_eq!(started.body["percent"], 30);
    let candidate = started.body["digest"].as_str().unwrap().to_owned();

    const APPLICANTS: usize = 120;
    for i in 0..APPLICANTS {
        let email = format!("applicant{i}@example.com");
        // Each from an address of their own, under the per-client registration limit.
        let reply = app
            .post_from(
                &format!("10.0.0.{}", i + 1),
                "/v1/auth/register",
                registration(&email, "Ada King"),
            )
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    // An applicant has no id yet: the split is by address, so exactly the applicants the stable
    // hash puts in the 30% met the candidate.
    let canary = (0..APPLICANTS)
        .filter(|i| in_canary(&format!("applicant{i}@example.com"), 30))
        .count();
    let logged = decisions(
        &app,
        &admin,
        "kind=onboarding&operation=register&limit=1000",
    )
    .await;
    let by_candidate = logged
        .iter()
        .filter(|d| d["digest"] == candidate.as_str())
        .count();
    assert_eq!(
        by_candidate, canary,
        "the canary decided for exactly its share"
    );
    assert!(
        logged
            .iter()
            .filter(|d| d["digest"] == candidate.as_str())
            .all(|d| d["role"] == "canary")
    );
    let share = canary as f64 / APPLICANTS as f64;
    assert!((0.18..=0.42).contains(&share), "30% canary took {share:.2}");

    // Off: every applicant meets the active version again.
    let ended = app
        .request_json(
            Method::DELETE,
            "/v1/admin/components/onboarding/trial",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ended.status, 200, "{:?}", ended.body);
    for i in 0..10 {
        let email = format!("late{i}@example.com");
        let ip = format!("10.0.1.{}", i + 1);
        let reply = app
            .post_from(&ip, "/v1/auth/register", registration(&email, "Ada King"))
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
    }
    let late = decisions(&app, &admin, "kind=onboarding&operation=register&limit=10").await;
    assert!(
        late.iter().all(|d| d["digest"] == active.as_str()),
        "{late:?}"
    );
}

async fn login(app: &TestApp, email: &str, device: Option<&str>) -> Reply {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(device) = device {
        body["device_token"] = json!(device);
    }
    app.post("/v1/auth/login", body).await
}

async fn replaying_recorded_decisions_reports_where_a_candidate_differs(backend: Backend) {
    let app = host(backend).await;
    let admin = administrator(&app).await;

    // Ada has an authenticator app and a known device; Grace has no second factor.
    let access = app.onboarded_customer("ada@example.com", PASSWORD).await;
    let secret = app.enrol_totp(&access).await;
    let challenge = login(&app, "ada@example.com", None).await.body["challenge_token"].clone();
    let body =
        json!({"challenge_token": challenge, "method": "totp", "code": totp_code(&secret, 1)});
    let tokens = app.post("/v1/auth/mfa/verify", body).await;
    assert_eq!(tokens.status, 200, "{:?}", tokens.body);
    let device = tokens.body["device_token"].as_str().unwrap().to_owned();
    let known = login(&app, "ada@example.com", Some(&device)).await;
    assert_eq!(known.body["mfa_required"], true);
    app.onboarded_customer("grace@example.com", PASSWORD).await;
    let ada = app.user_id("ada@example.com").await;

    let recorded = decisions(&app, &admin, "kind=mfa&operation=assess-login").await;
    assert!(recorded.len() >= 4, "{recorded:?}");

    // "Never ask on a known device": asked today, only Ada's login from her known device goes
    // otherwise than with the active policy.
    let path = "/v1/admin/components/mfa/replay";
    let report = app
        .upload_component(Method::POST, path, &admin, built("mfa-known-devices.wasm"))
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert_eq!(report.body["replayed"], recorded.len(), "{:?}", report.body);
    let differences = report.body["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{:?}", report.body);
    assert_eq!(differences[0]["user_id"], ada.as_str());
    assert_eq!(differences[0]["recorded"], "challenge:Totp,RecoveryCode");
    assert_eq!(differences[0]["active"], "challenge:Totp,RecoveryCode");
    assert_eq!(differences[0]["candidate"], "none");
    assert_eq!(
        report.body["agreed"].as_u64().unwrap() + 1,
        recorded.len() as u64
    );

    // The active version agrees with itself, and a replay changes nothing: no decision
    // logged, the same version active.
    let before = decisions(&app, &admin, "limit=1000").await.len();
    let same = app
        .upload_component(Method::POST, path, &admin, built("mfa.wasm"))
        .await;
    assert_eq!(same.status, 200, "{:?}", same.body);
    assert_eq!(same.body["differences"], json!([]), "{:?}", same.body);
    assert_eq!(decisions(&app, &admin, "limit=1000").await.len(), before);

    // Only an administrator replays.
    let customer = app.onboarded_customer("alan@example.com", PASSWORD).await;
    app.upload_component(Method::POST, path, &customer, built("mfa.wasm"))
        .await
        .assert_problem(403, "/problems/forbidden");
}

async fn a_failing_self_test_refuses_the_component(backend: Backend) {
    let app = spawn_with(Spawn {
        mode: Mode::Development,
        component_settings: vec![("onboarding", "chaos-self-test", "fail")],
        ..Spawn::new(backend)
    })
    .await;
    let admin = administrator(&app).await;
    let before = app.get("/readyz", None).await.body;

    for (method, path) in [
        (Method::POST, "/v1/admin/components?kind=onboarding"),
        (
            Method::PUT,
            "/v1/admin/components/onboarding/trial?mode=shadow",
        ),
    ] {
        let refused = app
            .upload_component(method, path, &admin, built("chaos-onboarding.wasm"))
            .await;
        refused.assert_problem(422, "/problems/validation");
        assert_eq!(refused.violation_codes(), ["artifact.self_test"]);
        let message = refused.body["violations"][0]["message"].as_str().unwrap();
        assert!(message.contains("told to fail"), "{message}");
    }
    // Nothing changed: the same version active, no trial, no event.
    assert_eq!(app.get("/readyz", None).await.body, before);
    assert_eq!(
        app.get("/v1/admin/components/onboarding/trial", Some(&admin))
            .await
            .status,
        404
    );
    let types: BTreeSet<String> = app
        .events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(
        !types.iter().any(|t| t.starts_with("component.")),
        "{types:?}"
    );

    // The real onboarding policy passes its own self-test (its golden cases).
    let passed = app
        .upload_component(
            Method::POST,
            "/v1/admin/components?kind=onboarding",
            &admin,
            usvc_tests::variant(&built("onboarding.wasm"), "self-tested"),
        )
        .await;
    assert_eq!(passed.status, 201, "{:?}", passed.body);
}

async fn the_decision_log_answers_an_auditor_and_no_one_else(backend: Backend) {
    let app = host(backend).await;
    let admin = administrator(&app).await;
    let customer = app.onboarded_customer("ada@example.com", PASSWORD).await;
    let ada = app.user_id("ada@example.com").await;
    let auditor_access = app.onboarded_customer("audit@example.com", PASSWORD).await;
    let auditor = app
        .make_staff("audit@example.com", PASSWORD, &auditor_access, "compliance")
        .await;

    // Anonymous 401, customer 403.
    assert_eq!(app.get("/v1/admin/decisions", None).await.status, 401);
    app.get("/v1/admin/decisions", Some(&customer))
        .await
        .assert_problem(403, "/problems/forbidden");

    // Everything about Ada: her login's assessment, with its version, a keyed digest of the
    // input (never the input) and how long it took.
    let about_ada = decisions(&app, &auditor, &format!("user={ada}")).await;
    let assessed = about_ada
        .iter()
        .find(|d| d["operation"] == "assess-login")
        .expect("her login was assessed");
    assert_eq!(assessed["kind"], "mfa");
    assert_eq!(assessed["role"], "active");
    assert_eq!(assessed["outcome"], "none");
    assert_eq!(assessed["input_digest"].as_str().unwrap().len(), 64);
    assert_eq!(assessed["digest"].as_str().unwrap().len(), 64);
    assert!(assessed["duration_us"].as_i64().unwrap() > 0);
    assert!(assessed.get("input").is_none(), "{assessed:?}");
    assert!(about_ada.iter().all(|d| d["user_id"] == ada.as_str()));

    // By kind, by version, by time; paged newest first.
    let onboarding = decisions(&app, &auditor, "kind=onboarding").await;
    assert!(onboarding.iter().all(|d| d["kind"] == "onboarding"));
    assert!(onboarding.iter().any(|d| d["operation"] == "register"));
    assert!(onboarding.iter().any(|d| d["operation"] == "confirm-email"));
    let digest = assessed["digest"].as_str().unwrap();
    let by_version = decisions(&app, &auditor, &format!("digest={digest}")).await;
    assert!(!by_version.is_empty() && by_version.iter().all(|d| d["digest"] == digest));
    let decided_at = assessed["decided_at"].as_i64().unwrap();
    let later = decisions(&app, &auditor, &format!("since={}", decided_at + 3600)).await;
    assert!(later.is_empty(), "{later:?}");
    let page = app.get("/v1/admin/decisions?limit=2", Some(&auditor)).await;
    let first: Vec<Value> = page.body["decisions"].as_array().unwrap().clone();
    assert_eq!(first.len(), 2);
    let next = page.body["next"].as_str().unwrap();
    let second = decisions(&app, &auditor, &format!("limit=2&before={next}")).await;
    assert!(second[0]["id"].as_str().unwrap() < first[1]["id"].as_str().unwrap());

    // Passwords and codes went into the digest only.
    let everything = app
        .get("/v1/admin/decisions?limit=1000", Some(&admin))
        .await;
    assert!(!everything.body.to_string().contains(PASSWORD));
}

async fn the_command_line_client_runs_trials_replays_and_reads_the_log(backend: Backend) {
    use usvc::admin_client::{AdminClient, decisions_table, replay_summary};
    let app = host(backend).await;
    let admin = administrator(&app).await;
    let client = AdminClient::new(&app.base, &admin);
    let dir =
        std::env::temp_dir().join(format!("usvc-cli-trial-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let candidate = dir.join("mfa.wasm");
    std::fs::write(&candidate, built("mfa-known-devices.wasm")).unwrap();

    // Shadow on, a login evaluated in it, shadow off with its counts.
    let started = client.start_trial("mfa", &candidate, None).await.unwrap();
    assert_eq!(started["mode"], "shadow");
    app.onboarded_customer("ada@example.com", PASSWORD).await;
    let trial = client.trial("mfa").await.unwrap();
    assert!(trial["evaluated"].as_i64().unwrap() >= 1, "{trial}");
    assert_eq!(trial["disagreements"], 0, "{trial}");
    // Off names the mode it ends: a shadow is not a canary.
    let error = client
        .end_trial("mfa", "canary")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("is a shadow"), "{error}");
    let ended = client.end_trial("mfa", "shadow").await.unwrap();
    assert_eq!(ended["digest"], started["digest"]);
    assert!(
        client
            .trial("mfa")
            .await
            .unwrap_err()
            .to_string()
            .contains("404")
    );

    // Canary on and off.
    let started = client
        .start_trial("mfa", &candidate, Some(25))
        .await
        .unwrap();
    assert_eq!(started["mode"], "canary");
    assert_eq!(started["percent"], 25);
    client.end_trial("mfa", "canary").await.unwrap();

    // Replay: the report and its summary line.
    let report = client.replay("mfa", &candidate, None).await.unwrap();
    let summary = replay_summary(&report);
    assert!(summary.starts_with("mfa candidate "), "{summary}");
    assert!(summary.contains(" against active "), "{summary}");
    assert!(summary.contains("0 differ"), "{summary}");
    assert!(report["replayed"].as_u64().unwrap() >= 2, "{report}");

    // The log as a table: a header, then newest first.
    let table = decisions_table(&client.decisions(Some("mfa")).await.unwrap());
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("decided_at\tkind\toperation"),
        "{table}"
    );
    assert!(lines[1..].iter().all(|l| l.contains("\tmfa\t")), "{table}");
    assert!(lines.iter().any(|l| l.contains("\tshadow\t")), "{table}");

    // A refusal comes back with its code.
    let broken = dir.join("broken.wasm");
    std::fs::write(&broken, b"\0asm not really").unwrap();
    let error = client
        .start_trial("mfa", &broken, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("422") && error.contains("artifact.type_check"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
