//! Persistence: the connection pool, migrations, and one module of parameterised SQL per table
//! family. The same portable SQL runs on SQLite (embedded default) and PostgreSQL, through sqlx's
//! `Any` driver. Sealing (`secrets`, `sealing`) keeps personal data and secrets encrypted at
//! rest. This crate knows nothing of HTTP, gRPC, components or flows: everything above it
//! depends on it, never the other way round.

pub mod audit;
mod columns;
pub mod component_trials;
pub mod component_versions;
pub mod contact_changes;
pub mod credentials;
pub mod decisions;
pub mod devices;
pub mod documents;
pub mod factors;
pub mod inbox;
pub mod kyc_checks;
pub mod kyc_results;
pub mod outbox;
pub mod password_resets;
pub mod preferences;
pub mod profiles;
pub mod sealing;
pub mod secrets;
pub mod sessions;
pub mod signing_keys;
pub mod users;
pub mod verification;

use std::{path::Path, str::FromStr, time::Duration};

pub use columns::UnknownName;

use anyhow::Context;
use sqlx::{
    AnyPool, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
};

pub type Database = AnyPool;
pub type Transaction = sqlx::Transaction<'static, sqlx::Any>;
pub type Connection = sqlx::AnyConnection;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
        }
    }
}

/// Opens the pool (creating an SQLite file and its folder on first run) and applies migrations.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Database> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url)?;
    let mut url = url.to_owned();
    if backend == Backend::Sqlite {
        url = prepare_sqlite_file(&url)?;
    }
    let options = AnyConnectOptions::from_str(&url).context("parsing DATABASE_URL")?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let mut pool = AnyPoolOptions::new()
        .max_connections(if in_memory { 1 } else { max_connections })
        .acquire_timeout(Duration::from_secs(10));
    if in_memory {
        // Each connection to `:memory:` is its own database: keep the one connection alive.
        pool = pool
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    if backend == Backend::Sqlite {
        pool = pool.after_connect(|conn, _| {
            Box::pin(async move {
                // WAL lets readers proceed while a unit of work writes (in-memory databases
                // silently keep their own journal mode).
                conn.execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;",
                )
                .await?;
                Ok(())
            })
        });
    }
    let pool = pool
        .connect_with(options)
        .await
        .context("connecting to the database")?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
}

/// Makes sure the folder of an SQLite file exists and that the file is created on first use.
fn prepare_sqlite_file(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=") {
        return Ok(url.to_owned());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}mode=rwc"))
}

/// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// transaction that reads first and writes later would otherwise fail with SQLITE_BUSY whenever
/// another connection committed in between, without waiting for the busy timeout.
pub async fn begin(db: &Database) -> sqlx::Result<Transaction> {
    let url = db.connect_options().database_url.to_string();
    match Backend::of(&url) {
        Ok(Backend::Sqlite) => db.begin_with("BEGIN IMMEDIATE").await,
        _ => db.begin().await,
    }
}

/// True when the database answers; what `/readyz` asks.
pub async fn ping(db: &Database) -> bool {
    sqlx::query("SELECT 1").execute(db).await.is_ok()
}
