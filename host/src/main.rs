//! The `usvc` binary: configuration from the environment, then serve until Ctrl-C or SIGTERM.

use anyhow::Context;
use usvc::{
    admin::Grant,
    admin_client as client,
    app::Application,
    config::Config,
    grpc::callers,
    runtime::{ComponentKind, artifact},
    telemetry,
};

const USAGE: &str =
    "usage: usvc [serve]          run the service (configuration from the environment)
       usvc migrate         apply the database migrations and exit (a deployment's init step)
       usvc openapi         print the HTTP API's OpenAPI 3.1 document (YAML; docs/openapi.yaml)
       usvc keys generate   print a new Ed25519 signing key (PKCS#8 PEM) for USVC_JWT_SIGNING_KEY
       usvc keys list       list the token signing keys known to the database
       usvc users grant EMAIL ROLE           grant a staff role (admin, compliance, support)
       usvc callers public-key KEY.pem       the USVC_GRPC_CALLERS value of a caller's key
       usvc callers token NAME KEY.pem [TTL] a caller token for the gRPC API (e.g. for grpcurl)
       usvc components new KIND DIR         a new component crate in DIR (under the workspace),
                                            started from the reference KIND policy, with a test
       usvc components keygen               print a new component-signing key (PKCS#8 PEM)
       usvc components public-key KEY.pem   the USVC_COMPONENT_SIGNERS value of a signing key
       usvc components sign COMPONENT.wasm KIND VERSION SIGNER KEY.pem [DESCRIPTION [AUTHOR]]
                                            print the signed artifact (JSON) for COMPONENT.wasm
       usvc components verify ARTIFACT      check an artifact against USVC_COMPONENT_SIGNERS
       usvc components deploy FILE          deploy an artifact (USVC_URL, USVC_ADMIN_TOKEN)
       usvc components list                 every deployed version, by kind
       usvc components rollback KIND DIGEST make a stored version active again
       usvc components shadow on KIND FILE  evaluate a candidate beside the active version
       usvc components shadow off KIND      end the shadow trial (prints its counts)
       usvc components canary on KIND FILE PERCENT  let a candidate decide for PERCENT of customers
       usvc components canary off KIND      end the canary
       usvc components trial KIND           the trial of KIND: candidate, mode, disagreements
       usvc components test KIND FILE [SINCE]  replay recorded decisions against a candidate;
                                            exits 1 when any answer differs
       usvc components decisions [KIND]     the newest logged decisions";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // One line for an operator: the cause chain, no backtrace.
        Err(error) => {
            eprintln!("usvc: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => serve().await,
        ["migrate"] => migrate().await,
        ["openapi"] => {
            print!("{}", usvc::http::openapi::yaml());
            Ok(())
        }
        ["keys", "generate"] => {
            print!("{}", usvc::auth::tokens::generate_pem()?);
            Ok(())
        }
        ["keys", "list"] => list_keys().await,
        ["users", "grant", email, role] => grant_role(email, role).await,
        ["callers", "public-key", key] => {
            let pem = std::fs::read_to_string(key).with_context(|| format!("reading {key}"))?;
            println!("{}", callers::public_key(&pem)?);
            Ok(())
        }
        ["callers", "token", name, key, rest @ ..] if rest.len() <= 1 => {
            let ttl = rest.first().map_or(Ok(300), |t| t.parse())?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let pem = std::fs::read_to_string(key).with_context(|| format!("reading {key}"))?;
            println!("{}", callers::mint(name, &pem, ttl, now)?);
            Ok(())
        }
        ["components", "new", kind, dir] => {
            let kind = ComponentKind::from_name(kind).with_context(|| {
                format!("{kind}: not a component kind (onboarding, mfa, verification)")
            })?;
            let made =
                usvc::scaffold::new_component(kind, &std::env::current_dir()?, dir.as_ref())?;
            println!("created {} in {}", made.package, made.dir.display());
            if !made.joined_workspace {
                println!("add {dir:?} to the workspace's members in Cargo.toml");
            }
            println!("next: make components && cargo test -p {}", made.package);
            Ok(())
        }
        ["components", "keygen"] => {
            print!("{}", usvc::auth::tokens::generate_pem()?);
            Ok(())
        }
        ["components", "public-key", key] => {
            let pem = std::fs::read_to_string(key).with_context(|| format!("reading {key}"))?;
            println!("{}", callers::public_key(&pem)?);
            Ok(())
        }
        [
            "components",
            "sign",
            component,
            kind,
            version,
            signer,
            key,
            rest @ ..,
        ] if rest.len() <= 2 => sign_component(component, kind, version, signer, key, rest),
        ["components", "verify", artifact] => verify_component(artifact),
        ["components", "deploy", file] | ["components", "deploy", "--allow-downgrade", file] => {
            let downgrade = args.contains(&"--allow-downgrade");
            let deployed = admin_client()?
                .deploy(std::path::Path::new(file), downgrade)
                .await?;
            println!("{}", serde_json::to_string_pretty(&deployed)?);
            Ok(())
        }
        ["components", "list"] => {
            print!("{}", client::table(&admin_client()?.list().await?));
            Ok(())
        }
        ["components", "rollback", kind, digest] => {
            let active = admin_client()?.rollback(kind, digest).await?;
            println!("{}", serde_json::to_string_pretty(&active)?);
            Ok(())
        }
        ["components", "shadow", "on", kind, file] => {
            let trial = admin_client()?
                .start_trial(kind, std::path::Path::new(file), None)
                .await?;
            println!("{}", serde_json::to_string_pretty(&trial)?);
            Ok(())
        }
        ["components", "canary", "on", kind, file, percent] => {
            let percent: u8 = percent
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .context("PERCENT is a whole number from 0 to 100")?;
            let trial = admin_client()?
                .start_trial(kind, std::path::Path::new(file), Some(percent))
                .await?;
            println!("{}", serde_json::to_string_pretty(&trial)?);
            Ok(())
        }
        ["components", mode @ ("shadow" | "canary"), "off", kind] => {
            let ended = admin_client()?.end_trial(kind, mode).await?;
            println!("{}", serde_json::to_string_pretty(&ended)?);
            Ok(())
        }
        ["components", "trial", kind] => {
            let trial = admin_client()?.trial(kind).await?;
            println!("{}", serde_json::to_string_pretty(&trial)?);
            Ok(())
        }
        ["components", "test", kind, file, rest @ ..] if rest.len() <= 1 => {
            let since = rest
                .first()
                .map(|s| s.parse::<i64>().context("SINCE is unix seconds"))
                .transpose()?;
            let report = admin_client()?
                .replay(kind, std::path::Path::new(file), since)
                .await?;
            print!("{}", client::replay_summary(&report));
            let differ = report["differences"]
                .as_array()
                .is_some_and(|d| !d.is_empty());
            if differ {
                std::process::exit(1);
            }
            Ok(())
        }
        ["components", "decisions", rest @ ..] if rest.len() <= 1 => {
            let page = admin_client()?.decisions(rest.first().copied()).await?;
            print!("{}", client::decisions_table(&page));
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    // Kept until serving ends: dropping it flushes the errors still to be reported.
    let _sentry = telemetry::init(config.mode, config.sentry.as_ref());
    let app = Application::build(config).await?;
    app.serve(shutdown_signal()).await
}

/// Applies every migration the database lacks, then exits; a replica starting later finds
/// nothing left to apply. Safe to run again, and beside serving replicas.
async fn migrate() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    usvc::store::connect(&config.database_url, 1).await?;
    println!("migrations applied");
    Ok(())
}

/// One line per key: id, state, created and retired (unix seconds). Never a private key.
async fn list_keys() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let db = usvc::store::connect(&config.database_url, 1).await?;
    let mut conn = db.acquire().await?;
    println!("kid\tstate\tcreated_at\tretired_at");
    for key in usvc::store::signing_keys::all(&mut conn).await? {
        let state = if key.retired_at.is_some() {
            "retired"
        } else {
            "signing"
        };
        let retired = key.retired_at.map_or("-".to_owned(), |t| t.to_string());
        println!("{}\t{state}\t{}\t{retired}", key.kid, key.created_at);
    }
    Ok(())
}

/// Grants a staff role to the customer with `email`; takes effect at their next login.
async fn grant_role(email: &str, role: &str) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let db = usvc::store::connect(&config.database_url, 1).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match usvc::admin::grant_role(&db, email, role, now).await? {
        Grant::Granted(id) => println!("granted {role} to {id}"),
        Grant::AlreadyHeld(id) => println!("{id} already holds {role}"),
    }
    Ok(())
}

fn sign_component(
    component: &str,
    kind: &str,
    version: &str,
    signer: &str,
    key: &str,
    rest: &[&str],
) -> anyhow::Result<()> {
    let kind = ComponentKind::from_name(kind)
        .ok_or_else(|| anyhow::anyhow!("no component kind is called {kind:?}"))?;
    let bytes = std::fs::read(component).with_context(|| format!("reading {component}"))?;
    let pem = std::fs::read_to_string(key).with_context(|| format!("reading {key}"))?;
    let draft = artifact::Draft {
        kind,
        version,
        description: rest.first().copied().unwrap_or(""),
        author: rest.get(1).copied().unwrap_or(""),
    };
    let signed = artifact::sign(&bytes, draft, signer, &pem)?;
    println!("{}", serde_json::to_string_pretty(&signed)?);
    Ok(())
}

/// Opens an artifact as a production host would (signers from `USVC_COMPONENT_SIGNERS`) and
/// prints its manifest; the reason, with its code, when it is refused.
fn verify_component(path: &str) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let policy = artifact::Policy {
        signers: &config.component_signers,
        max_bytes: config.component_max_bytes,
        allow_unsigned: false,
    };
    let opened = artifact::open(&bytes, None, &policy)
        .map_err(|r| anyhow::anyhow!("refused ({}): {r}", r.code()))?;
    let manifest = opened.manifest.expect("a signed artifact has a manifest");
    println!(
        "ok: {} {} ({}), signed by {}, component sha256 {}",
        manifest.kind,
        manifest.version,
        manifest.world,
        opened.signer.unwrap_or_default(),
        manifest.component_sha256
    );
    Ok(())
}

/// The admin API at `USVC_URL`, as the administrator whose token is `USVC_ADMIN_TOKEN`.
fn admin_client() -> anyhow::Result<client::AdminClient> {
    let (url, token) = usvc::config::admin_api_from_env()?;
    Ok(client::AdminClient::new(&url, &token))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
