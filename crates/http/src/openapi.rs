//! The OpenAPI 3.1 document of the HTTP API, derived from the handlers' own types and their
//! `#[utoipa::path]` annotations, with the conventions every route shares (problem answers, the
//! bearer scheme, links); served at `/openapi.json` and written to `docs/openapi.yaml`.

use std::sync::LazyLock;

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, Content, HttpMethod, RefOr,
        link::Link,
        path::Operation,
        response::Response as ApiResponse,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{
    AppState, admin, auth, components, contact, decisions, dev, devices, documents, error::Problem,
    health, keys, mfa, objects, password, profile, sessions, users, verification,
};
use usvc_core::state::Mode;

/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "usvc",
        description = "The bank's user service: onboarding, authentication and sessions, profile, \
            identity verification, second factors, devices, documents and administration. Every \
            error is an RFC 9457 problem (`application/problem+json`) whose `type` names the kind \
            of problem; protected operations need `Authorization: Bearer <access token>`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        health::healthz,
        health::readyz,
        keys::jwks,
        api_document,
        auth::register,
        auth::verify_email,
        auth::login,
        sessions::refresh,
        sessions::logout,
        sessions::list,
        sessions::end,
        sessions::end_others,
        mfa::verify,
        mfa::send_login_code,
        mfa::step_up,
        mfa::send_step_up_code,
        mfa::list,
        mfa::remove,
        mfa::enrol_totp,
        mfa::confirm_totp,
        mfa::enrol_otp,
        mfa::confirm_otp,
        mfa::new_recovery_codes,
        password::change,
        password::reauthenticate,
        password::request_reset,
        password::confirm_reset,
        users::me,
        profile::get_profile,
        profile::update_profile,
        profile::get_preferences,
        profile::replace_preferences,
        contact::request_phone,
        contact::confirm_phone,
        contact::request_email,
        contact::confirm_email,
        devices::list,
        devices::rename,
        devices::forget,
        verification::get_verification,
        verification::request_verification,
        documents::declare_document,
        documents::list_documents,
        documents::get_document,
        documents::confirm_document,
        documents::download_document,
        documents::get_avatar,
        documents::replace_avatar,
        documents::remove_avatar,
        objects::upload,
        objects::download,
        admin::set_status,
        decisions::list,
        components::deploy,
        components::history,
        components::rollback,
        components::start_trial,
        components::trial,
        components::end_trial,
        components::replay,
    ),
    components(schemas(Problem)),
    modifiers(&Conventions),
    tags(
        (name = "operations", description = "Probes, keys and this document."),
        (name = "auth", description = "Registration, login, second factors at login, tokens and passwords."),
        (name = "sessions", description = "The caller's sessions and devices."),
        (name = "mfa", description = "The caller's second factors and step-ups."),
        (name = "users", description = "The caller's record, profile, preferences and contact details."),
        (name = "verification", description = "Identity verification and KYC documents."),
        (name = "objects", description = "The embedded object store's presigned URLs."),
        (name = "admin", description = "Staff actions: accounts, the decision log, components."),
    )
)]
pub struct ApiDoc;

/// Routes only a development server has.
#[derive(OpenApi)]
#[openapi(
    paths(dev::mailbox, dev::api_page),
    modifiers(&Conventions),
    tags((name = "development", description = "Development mode only: the mailbox and this API's page.")),
)]
struct DevDoc;

/// The document a server in `mode` answers with (a development server adds its own routes).
pub fn document(mode: Mode) -> openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if mode == Mode::Development {
        doc.merge(DevDoc::openapi());
    }
    doc
}

/// The production document as YAML: what `docs/openapi.yaml` holds (`usvc openapi`).
pub fn yaml() -> String {
    document(Mode::Production)
        .to_yaml()
        .expect("the document serializes")
}

static PRODUCTION: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&document(Mode::Production)).expect("serializes"));
static DEVELOPMENT: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&document(Mode::Development)).expect("serializes"));

pub fn router(mode: Mode) -> Router<AppState> {
    let body: &'static str = if mode == Mode::Development {
        &DEVELOPMENT
    } else {
        &PRODUCTION
    };
    Router::new().route("/openapi.json", get(move || api_document(body)))
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server's routes.", body = Object)),
)]
async fn api_document(body: &'static str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Raw bytes in a body (an image, a document, a component).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(#[allow(dead_code)] Vec<u8>);

/// What every route shares, added once instead of on each annotation.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` of `POST /v1/auth/login` (or `/v1/auth/mfa/verify`, \
                         `/v1/auth/refresh`): an EdDSA JWT that lives 15 minutes.",
                    ))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for method in [
                HttpMethod::Get,
                HttpMethod::Put,
                HttpMethod::Post,
                HttpMethod::Delete,
                HttpMethod::Patch,
            ] {
                if let Some(operation) = operation_mut(item, method) {
                    shared_answers(operation);
                }
            }
        }
        links(doc);
    }
}

fn operation_mut(item: &mut openapi::PathItem, method: HttpMethod) -> Option<&mut Operation> {
    match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        _ => None,
    }
}

/// Error answers are problems; the ones any route of its shape can give are added here: a JSON
/// body's rejections, a missing or refused token, a timeout, a failure.
fn shared_answers(operation: &mut Operation) {
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| match body {
            RefOr::T(body) => body.content.contains_key("application/json"),
            RefOr::Ref(_) => false,
        });
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut shared: Vec<(&str, &str)> = vec![
        (
            "500",
            "An internal failure (details are logged, never sent).",
        ),
        (
            "503",
            "A dependency or the business rules are unavailable, or the request took too long.",
        ),
    ];
    if json_body {
        shared.extend([
            ("400", "The body is not JSON, or the request is malformed."),
            ("413", "The body is too large."),
            ("415", "The body must be sent as `application/json`."),
            (
                "422",
                "The body does not have the expected shape, or it breaks business rules \
                 (`violations` names each).",
            ),
        ]);
    }
    if secured {
        shared.push((
            "401",
            "No bearer access token, or one that is invalid, expired or of an ended session.",
        ));
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(ApiResponse::new(description)));
    }
    let problem_ref = openapi::Ref::from_schema_name("Problem");
    let problem = RefOr::T(Content::new(Some(RefOr::Ref(problem_ref.clone()))));
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_problem = match response.content.get("application/json") {
            None => response.content.is_empty(),
            Some(RefOr::T(content)) => {
                matches!(&content.schema, Some(RefOr::Ref(r)) if *r == problem_ref)
            }
            Some(RefOr::Ref(_)) => false,
        };
        // An error answer is a problem, unless its annotation says otherwise (`/readyz`).
        if status.as_str() >= "400" && is_problem {
            response.content.clear();
            response
                .content
                .insert(PROBLEM_JSON.to_owned(), problem.clone());
        }
    }
}

/// The stateful links a client (or a fuzzer) can follow: the address and password a
/// registration sent log in; a login's tokens refresh, log out and complete a second factor.
fn links(doc: &mut openapi::OpenApi) {
    let add = |doc: &mut openapi::OpenApi,
               path: &str,
               method: HttpMethod,
               status: &str,
               name: &str,
               link: Link| {
        let Some(operation) = doc
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| operation_mut(item, method))
        else {
            return;
        };
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
            response.links.insert(name.to_owned(), RefOr::T(link));
        }
    };
    add(
        doc,
        "/v1/auth/register",
        HttpMethod::Post,
        "202",
        "VerifyEmail",
        Link::builder()
            .operation_id("verify_email")
            .request_body(Some(
                json!({"email": "$request.body#/email", "code": "000000"}),
            ))
            .description("Confirm the address with the code it was sent.")
            .build(),
    );
    add(
        doc,
        "/v1/auth/register",
        HttpMethod::Post,
        "202",
        "Login",
        Link::builder()
            .operation_id("login")
            .request_body(Some(json!({
                "email": "$request.body#/email",
                "password": "$request.body#/password",
            })))
            .description("Log in with the address and password registered.")
            .build(),
    );
    add(
        doc,
        "/v1/auth/login",
        HttpMethod::Post,
        "200",
        "Refresh",
        Link::builder()
            .operation_id("refresh")
            .request_body(Some(
                json!({"refresh_token": "$response.body#/refresh_token"}),
            ))
            .description("Spend the refresh token for a new pair.")
            .build(),
    );
    add(
        doc,
        "/v1/auth/login",
        HttpMethod::Post,
        "200",
        "SendLoginCode",
        Link::builder()
            .operation_id("send_login_code")
            .request_body(Some(json!({
                "challenge_token": "$response.body#/challenge_token",
                "method": "email_code",
            })))
            .description("Ask for a one-time code for the second-factor challenge.")
            .build(),
    );
    add(
        doc,
        "/v1/auth/refresh",
        HttpMethod::Post,
        "200",
        "Refresh",
        Link::builder()
            .operation_id("refresh")
            .request_body(Some(
                json!({"refresh_token": "$response.body#/refresh_token"}),
            ))
            .description("Spend the new refresh token in turn.")
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `.route("path", get(..).post(..))` in this crate's modules: (module, METHOD, path as
    /// OpenAPI writes it). Read from the source, so a route added anywhere is seen.
    fn routes_in_source() -> Vec<(String, String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut routes = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("src/ is readable")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        for file in files {
            let module = file.file_stem().unwrap().to_string_lossy().into_owned();
            let source = std::fs::read_to_string(&file).expect("readable");
            // The code, not its tests.
            let mut rest = source.split("#[cfg(test)]").next().unwrap_or_default();
            while let Some(at) = rest.find(".route(") {
                rest = &rest[at + ".route(".len()..];
                // The arguments, up to the parenthesis that closes `.route(`.
                let mut depth = 1;
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .expect("balanced parentheses");
                let args = &rest[..end];
                let path = args
                    .split('"')
                    .nth(1)
                    .expect("a route's path is a string literal")
                    .replace("{*", "{");
                let mut previous = ' ';
                for (i, c) in args.char_indices() {
                    let starts_word = !(previous.is_alphanumeric() || previous == '_');
                    previous = c;
                    if !starts_word {
                        continue;
                    }
                    for method in ["get", "post", "put", "patch", "delete"] {
                        if args[i..].starts_with(&format!("{method}(")) {
                            routes.push((module.clone(), method.to_uppercase(), path.clone()));
                        }
                    }
                }
                rest = &rest[end..];
            }
        }
        routes
    }

    fn operations(doc: &openapi::OpenApi) -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if op.is_some() {
                    operations.insert((method.to_owned(), path.clone()));
                }
            }
        }
        operations
    }

    fn routed(routes: &[(String, String, String)], dev: bool) -> BTreeSet<(String, String)> {
        routes
            .iter()
            // `/metrics` belongs to the monitoring network, not the API.
            .filter(|(module, _, _)| module != "metrics" && (dev || module != "dev"))
            .map(|(_, method, path)| (method.clone(), path.clone()))
            .collect()
    }

    #[test]
    fn the_source_scan_sees_routes() {
        let routes = routes_in_source();
        let seen = |method: &str, path: &str| {
            routes
                .iter()
                .any(|(_, m, p)| m.as_str() == method && p.as_str() == path)
        };
        // A chain of methods, a path-qualified one, a wildcard and a layered route.
        assert!(seen("PATCH", "/v1/users/me/profile"));
        assert!(seen("PUT", "/v1/users/me/phone"));
        assert!(seen("GET", "/v1/objects/{key}"));
        assert!(seen("DELETE", "/v1/admin/components/{kind}/trial"));
        assert!(seen("GET", "/metrics"));
        assert!(routes.len() > 50, "{} routes", routes.len());
    }

    #[test]
    fn every_route_is_in_the_document_and_nothing_else() {
        let routes = routes_in_source();
        for (mode, dev) in [(Mode::Production, false), (Mode::Development, true)] {
            let documented = operations(&document(mode));
            let routed = routed(&routes, dev);
            let missing: Vec<_> = routed.difference(&documented).collect();
            let extra: Vec<_> = documented.difference(&routed).collect();
            assert!(
                missing.is_empty(),
                "{mode:?}: routes without #[utoipa::path] in openapi.rs: {missing:?}"
            );
            assert!(
                extra.is_empty(),
                "{mode:?}: documented but not routed: {extra:?}"
            );
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document(Mode::Development);
        let mut ids = BTreeSet::new();
        for item in doc.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                let id = op.operation_id.clone().expect("an operation id");
                assert!(ids.insert(id.clone()), "operation id {id} twice");
            }
        }
    }

    #[test]
    fn error_answers_are_problems_and_protected_routes_say_so() {
        let doc = document(Mode::Production);
        let json = serde_json::to_value(&doc).unwrap();
        let me = &json["paths"]["/v1/users/me"]["get"];
        assert_eq!(me["security"], json!([{"bearer": []}]));
        assert_eq!(
            me["responses"]["401"]["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert!(me["responses"]["401"]["content"]["application/json"].is_null());
        let scheme = &json["components"]["securitySchemes"]["bearer"];
        assert_eq!(scheme["scheme"], "bearer");
        // A JSON body's rejections; an ETag answered and If-Match required.
        let patch = &json["paths"]["/v1/users/me/profile"]["patch"];
        for status in ["400", "413", "415", "422", "412", "428"] {
            assert!(
                patch["responses"][status]["content"][PROBLEM_JSON].is_object(),
                "{status}"
            );
        }
        assert!(patch["responses"]["200"]["headers"]["ETag"].is_object());
        let if_match = patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "If-Match")
            .expect("If-Match");
        assert_eq!(if_match["in"], "header");
        assert_eq!(if_match["required"], true);
        // Readiness answers its own body when not ready.
        assert!(
            json["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]
                .is_object()
        );
        assert_eq!(json["openapi"], "3.1.0");
    }

    #[test]
    fn docs_openapi_yaml_is_the_generated_document() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml");
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == yaml(),
            "docs/openapi.yaml is stale: run `make openapi` (usvc openapi > docs/openapi.yaml)"
        );
        // And generating is deterministic.
        assert_eq!(yaml(), yaml());
    }
}
