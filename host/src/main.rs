//! The `usvc` binary: configuration from the environment, then serve until Ctrl-C or SIGTERM.

use anyhow::Context;
use usvc::{admin::Grant, app::Application, config::Config, grpc::callers, telemetry};

const USAGE: &str =
    "usage: usvc [serve]          run the service (configuration from the environment)
       usvc keys generate   print a new Ed25519 signing key (PKCS#8 PEM) for USVC_JWT_SIGNING_KEY
       usvc keys list       list the token signing keys known to the database
       usvc users grant EMAIL ROLE           grant a staff role (admin, compliance, support)
       usvc callers public-key KEY.pem       the USVC_GRPC_CALLERS value of a caller's key
       usvc callers token NAME KEY.pem [TTL] a caller token for the gRPC API (e.g. for grpcurl)";

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
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    telemetry::init(config.mode);
    let app = Application::build(config).await?;
    app.serve(shutdown_signal()).await
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
