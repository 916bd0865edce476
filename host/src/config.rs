//! Configuration: read once from the environment at start-up, with embedded defaults that run the
//! service with no external system at all. The binary owns it; each layer takes the settings it
//! needs in its own types (`TokenConfig`, `Limits`, `ClientPolicy`, `RuntimeLimits`, ...),
//! re-exported here under the names configuration has always used.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
pub use secrecy::{ExposeSecret, SecretBox, SecretString};

pub use usvc_adapters::{amqp::Subscription, clients::ClientPolicy, s3::S3Settings};
use usvc_core::runtime::ComponentKind;
pub use usvc_core::{
    auth::tokens::TokenConfig,
    guard::limits::{Limits, Rate},
    runtime::limits::{CallLimits, KindLimits, PasswordHashing, RuntimeLimits, SandboxBounds},
    state::Mode,
};
use usvc_grpc::callers::parse_callers;

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub http_addr: SocketAddr,
    /// Where `/metrics` is served instead of the public HTTP address (`USVC_METRICS_ADDR`), for
    /// an internal network only; on the public address when unset.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the gRPC API (`usvc.v1`, health, reflection) listens.
    pub grpc_addr: SocketAddr,
    /// The services allowed to call the gRPC API: name → Ed25519 public key of the key that
    /// signs their caller tokens (`USVC_GRPC_CALLERS=name=<base64url key>,...`).
    pub grpc_callers: BTreeMap<String, [u8; 32]>,
    /// What each caller may call (`USVC_GRPC_GRANTS`); a caller not named gets
    /// [`Grants::acting_for_customers`](usvc_core::grants::Grants::acting_for_customers).
    pub grpc_grants: BTreeMap<String, usvc_core::grants::Grants>,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub database_max_connections: u32,
    pub components_dir: PathBuf,
    pub runtime: RuntimeLimits,
    /// Who may sign component artifacts: name → Ed25519 public key
    /// (`USVC_COMPONENT_SIGNERS=name=<base64url key>,...`).
    pub component_signers: usvc_core::runtime::artifact::Signers,
    /// The largest component artifact accepted (`USVC_COMPONENT_MAX_BYTES`, default 16 MiB).
    pub component_max_bytes: usize,
    /// Settings handed to components through `wasi:config`, per component kind.
    pub component_settings: BTreeMap<String, BTreeMap<String, String>>,
    pub tokens: TokenConfig,
    pub password_hashing: PasswordHashing,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Redis for rate limits, lockouts and revocations shared across replicas (`REDIS_URL`);
    /// each process keeps its own in memory when absent or unreachable.
    pub redis_url: Option<String>,
    /// Prefix of every key usvc writes to Redis.
    pub redis_prefix: String,
    pub limits: Limits,
    /// Take the client address from the last `X-Forwarded-For` entry (set by the gateway in
    /// front of usvc) instead of the TCP peer.
    pub trust_forwarded_for: bool,
    /// How many trusted proxies append to `X-Forwarded-For` (`USVC_FORWARDED_FOR_HOPS`, 1): the
    /// client is the entry that many places from the end; entries before it are the client's
    /// own claims and are ignored.
    pub forwarded_for_hops: usize,
    /// RabbitMQ for events (`AMQP_URL`); the in-process bus only when absent.
    pub amqp_url: Option<String>,
    /// The topic exchange events are published to.
    pub amqp_exchange: String,
    /// AES-256 key sealing secrets at rest (`USVC_SECRETS_KEY`, base64); a public development
    /// key when absent, refused in production.
    pub secrets_key: Option<SecretBox<SealingKey>>,
    /// Where the KYC service's result events are consumed from (with `AMQP_URL`); an empty
    /// queue name turns the consumer off.
    pub kyc_results: Subscription,
    /// The key each KYC provider signs its results with (`USVC_KYC_RESULT_KEYS`,
    /// `provider=<base64>,…`). Required in production when results are consumed; without keys
    /// (development) unsigned results are accepted.
    pub kyc_result_keys: usvc_core::kyc::signature::ProviderKeys,
    /// The bank's services usvc calls over gRPC; each unset one is served by an embedded default.
    pub clients: Clients,
    /// The address clients reach this host's HTTP API at (`USVC_PUBLIC_URL`), used in the
    /// presigned URLs of the embedded object store; the bound address when unset.
    pub public_url: Option<String>,
    /// KYC documents and avatars: where their objects are kept and how long URLs live.
    pub documents: DocumentSettings,
}

/// The AES-256 key sealing secrets at rest (`USVC_SECRETS_KEY`), held in a [`SecretBox`] so it
/// never prints and is wiped when dropped.
#[derive(Clone)]
pub struct SealingKey(pub [u8; 32]);

impl secrecy::zeroize::Zeroize for SealingKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl secrecy::CloneableSecret for SealingKey {}

/// Where documents and avatars are stored, and the limits of their presigned URLs.
#[derive(Debug, Clone)]
pub struct DocumentSettings {
    /// The embedded store's folder (`USVC_OBJECTS_DIR`), used unless S3 is configured.
    pub objects_dir: PathBuf,
    /// S3 or an S3-compatible server, when `USVC_S3_*` are set.
    pub s3: Option<S3Settings>,
    /// How long an upload URL is valid (`USVC_DOCUMENT_UPLOAD_TTL_SECS`).
    pub upload_ttl: Duration,
    /// How long a download URL is valid (`USVC_DOCUMENT_DOWNLOAD_TTL_SECS`).
    pub download_ttl: Duration,
    /// The largest document accepted, in bytes (`USVC_DOCUMENT_MAX_BYTES`).
    pub max_bytes: u64,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            objects_dir: PathBuf::from("data/objects"),
            s3: None,
            upload_ttl: Duration::from_secs(10 * 60),
            download_ttl: Duration::from_secs(5 * 60),
            max_bytes: 10 << 20,
        }
    }
}

/// Where the bank's KYC, notification and audit services are (`http://` or `https://` gRPC
/// endpoints), and how every call to them is made. An endpoint left unset is served by the
/// embedded default: the sandbox KYC, the log notifier, the local audit table only.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    pub kyc_url: Option<String>,
    /// Production may run against the sandbox KYC, which approves every well-formed identity,
    /// only when `USVC_UNSAFE_SANDBOX_KYC=true` says so.
    pub unsafe_sandbox_kyc: bool,
    pub notification_url: Option<String>,
    pub audit_url: Option<String>,
    pub policy: ClientPolicy,
}

/// An endpoint (gRPC, S3, this host's public address): an absolute `http://` or `https://` URL
/// with a host. Empty means unset.
fn parse_endpoint(value: String) -> anyhow::Result<Option<String>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let uri: tonic::transport::Uri = value.parse().context("not a URL")?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
        "expected an http:// or https:// URL with a host, e.g. http://kyc.bank.internal:50051"
    );
    Ok(Some(value.to_owned()))
}

/// Countries served when no allow-list is configured: the EEA, Switzerland and the United Kingdom.
pub const DEFAULT_ALLOWED_COUNTRIES: &str = "AT,BE,BG,CH,CY,CZ,DE,DK,EE,ES,FI,FR,GB,GR,HR,HU,IE,IS,IT,LI,LT,LU,LV,MT,NL,NO,PL,PT,RO,SE,SI,SK";

impl Config {
    /// Defaults for a developer's machine: SQLite under `./data`, components from
    /// `target/components`, development mode.
    pub fn embedded() -> Self {
        let mut onboarding = BTreeMap::new();
        onboarding.insert(
            "allowed-countries".to_owned(),
            DEFAULT_ALLOWED_COUNTRIES.to_owned(),
        );
        Self {
            mode: Mode::Development,
            http_addr: "127.0.0.1:8080".parse().expect("valid literal address"),
            metrics_addr: None,
            grpc_addr: "127.0.0.1:50051".parse().expect("valid literal address"),
            grpc_callers: BTreeMap::new(),
            grpc_grants: BTreeMap::new(),
            component_signers: Default::default(),
            component_max_bytes: 16 << 20,
            database_url: "sqlite://data/usvc.db".to_owned(),
            database_max_connections: 10,
            components_dir: PathBuf::from("target/components"),
            runtime: RuntimeLimits::default(),
            component_settings: BTreeMap::from([("onboarding".to_owned(), onboarding)]),
            tokens: TokenConfig::default(),
            password_hashing: PasswordHashing::default(),
            max_body_bytes: 64 * 1024,
            redis_url: None,
            redis_prefix: "usvc:".to_owned(),
            limits: Limits::default(),
            trust_forwarded_for: false,
            forwarded_for_hops: 1,
            amqp_url: None,
            amqp_exchange: "usvc.events".to_owned(),
            secrets_key: None,
            kyc_results: Subscription::kyc_results(),
            kyc_result_keys: Default::default(),
            clients: Clients::default(),
            public_url: None,
            documents: DocumentSettings::default(),
        }
    }

    /// The embedded defaults overridden by `USVC_*` variables and `DATABASE_URL`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut config = Self::embedded();
        for (key, value) in vars {
            config
                .apply(&key, value)
                .with_context(|| format!("invalid {key}"))?;
        }
        if config.mode == Mode::Production && config.tokens.signing_key_pem.is_none() {
            bail!("USVC_JWT_SIGNING_KEY is required in production mode");
        }
        if config.mode == Mode::Production && config.secrets_key.is_none() {
            bail!("USVC_SECRETS_KEY is required in production mode");
        }
        if config.mode == Mode::Production
            && config.clients.kyc_url.is_none()
            && !config.clients.unsafe_sandbox_kyc
        {
            bail!(
                "USVC_KYC_GRPC_URL is required in production mode: without it identity checks run against the sandbox, which approves everyone (set USVC_UNSAFE_SANDBOX_KYC=true to run a production-mode sandbox on purpose)"
            );
        }
        if config.mode == Mode::Production
            && config.consumes_kyc_results()
            && config.kyc_result_keys.is_empty()
        {
            bail!(
                "USVC_KYC_RESULT_KEYS is required in production mode when KYC results are consumed (AMQP_URL): unsigned results would set any customer's outcome"
            );
        }
        if let Some(unknown) = config
            .grpc_grants
            .keys()
            .find(|name| !config.grpc_callers.contains_key(*name))
        {
            bail!("USVC_GRPC_GRANTS names {unknown:?}, which USVC_GRPC_CALLERS does not");
        }
        if let Some(s3) = &config.documents.s3 {
            for (name, value) in [
                ("USVC_S3_BUCKET", &s3.bucket),
                ("USVC_S3_ACCESS_KEY_ID", &s3.access_key_id),
                ("USVC_S3_SECRET_ACCESS_KEY", &s3.secret_access_key),
            ] {
                if value.is_empty() {
                    bail!("{name} is required when any USVC_S3_* setting is given");
                }
            }
        }
        Ok(config)
    }

    /// Whether KYC results are consumed from RabbitMQ.
    pub fn consumes_kyc_results(&self) -> bool {
        self.amqp_url.is_some() && !self.kyc_results.queue.is_empty()
    }

    fn apply(&mut self, key: &str, value: String) -> anyhow::Result<()> {
        match key {
            "USVC_MODE" => {
                self.mode = match value.as_str() {
                    "development" | "dev" => Mode::Development,
                    "production" | "prod" => Mode::Production,
                    _ => bail!("expected `development` or `production`"),
                }
            }
            "USVC_HTTP_ADDR" => self.http_addr = value.parse()?,
            "USVC_METRICS_ADDR" => {
                self.metrics_addr = Some(value.trim())
                    .filter(|v| !v.is_empty())
                    .map(str::parse)
                    .transpose()?
            }
            "USVC_GRPC_ADDR" => self.grpc_addr = value.parse()?,
            "USVC_GRPC_CALLERS" => self.grpc_callers = parse_callers(&value)?,
            "USVC_GRPC_GRANTS" => self.grpc_grants = usvc_core::grants::parse_grants(&value)?,
            "DATABASE_URL" => self.database_url = value,
            "USVC_DATABASE_MAX_CONNECTIONS" => self.database_max_connections = value.parse()?,
            "USVC_COMPONENTS_DIR" => self.components_dir = value.into(),
            "USVC_COMPONENT_MAX_BYTES" => self.component_max_bytes = value.parse()?,
            "USVC_COMPONENT_SIGNERS" => {
                self.component_signers = usvc_core::runtime::artifact::Signers::parse(&value)?
            }
            "USVC_CALL_DEADLINE_MS" => {
                self.runtime.call_deadline = Duration::from_millis(value.parse()?)
            }
            "USVC_COMPONENT_MEMORY_MIB" => {
                self.runtime.memory_bytes = value.parse::<usize>()? << 20
            }
            "USVC_MAX_CONCURRENT_CALLS" => self.runtime.max_concurrent_calls = value.parse()?,
            "USVC_COMPONENT_LOG_LINES_PER_CALL" => {
                self.runtime.sandbox.log_lines_per_call = value.parse()?
            }
            "USVC_COMPONENT_KV_WRITES_PER_CALL" => {
                self.runtime.sandbox.kv_writes_per_call = value.parse()?
            }
            "USVC_COMPONENT_KV_KEYS_PER_CUSTOMER" => {
                self.runtime.sandbox.kv_keys_per_customer = value.parse()?
            }
            "USVC_COMPONENT_KV_BYTES_PER_CUSTOMER" => {
                self.runtime.sandbox.kv_bytes_per_customer = value.parse()?
            }
            "USVC_JWT_ISSUER" => self.tokens.issuer = value,
            "USVC_JWT_AUDIENCE" => self.tokens.audience = value,
            "USVC_ACCESS_TOKEN_TTL_SECS" => {
                self.tokens.access_ttl = Duration::from_secs(value.parse()?)
            }
            "USVC_REFRESH_TOKEN_TTL_SECS" => {
                self.tokens.refresh_ttl = Duration::from_secs(value.parse()?)
            }
            "USVC_JWT_SIGNING_KEY" => self.tokens.signing_key_pem = Some(value.into()),
            "USVC_ARGON2_MEMORY_KIB" => self.password_hashing.memory_kib = value.parse()?,
            "USVC_ARGON2_ITERATIONS" => self.password_hashing.iterations = value.parse()?,
            "USVC_ARGON2_PARALLELISM" => self.password_hashing.parallelism = value.parse()?,
            "USVC_MAX_CONCURRENT_HASHES" => self.password_hashing.max_concurrent = value.parse()?,
            "USVC_MAX_BODY_BYTES" => self.max_body_bytes = value.parse()?,
            "REDIS_URL" => self.redis_url = Some(value).filter(|v| !v.is_empty()),
            "USVC_REDIS_PREFIX" => self.redis_prefix = value,
            "AMQP_URL" => self.amqp_url = Some(value).filter(|v| !v.is_empty()),
            "USVC_AMQP_EXCHANGE" => self.amqp_exchange = value,
            "USVC_SECRETS_KEY" => {
                use base64::{Engine, engine::general_purpose::STANDARD};
                let key = STANDARD
                    .decode(value.trim())
                    .context("expected 32 bytes in standard base64 (`openssl rand -base64 32`)")?;
                let key: [u8; 32] = key.try_into().map_err(|_| {
                    anyhow::anyhow!("expected 32 bytes (`openssl rand -base64 32`)")
                })?;
                self.secrets_key = Some(SecretBox::new(Box::new(SealingKey(key))));
            }
            "USVC_KYC_EXCHANGE" => self.kyc_results.exchange = value,
            "USVC_KYC_ROUTING_KEY" => self.kyc_results.routing_key = value,
            "USVC_KYC_RESULTS_QUEUE" => self.kyc_results.queue = value,
            "USVC_KYC_MAX_ATTEMPTS" => {
                self.kyc_results.max_attempts = value.parse()?;
                anyhow::ensure!(self.kyc_results.max_attempts >= 1, "at least one attempt");
            }
            "USVC_KYC_RETRY_DELAY_MS" => {
                self.kyc_results.retry_delay = Duration::from_millis(value.parse()?)
            }
            "USVC_KYC_PREFETCH" => {
                self.kyc_results.prefetch = value.parse()?;
                anyhow::ensure!(self.kyc_results.prefetch >= 1, "at least one message");
            }
            "USVC_KYC_GRPC_URL" => self.clients.kyc_url = parse_endpoint(value)?,
            "USVC_UNSAFE_SANDBOX_KYC" => {
                self.clients.unsafe_sandbox_kyc = value.parse().context("expected true or false")?
            }
            "USVC_KYC_RESULT_KEYS" => {
                self.kyc_result_keys = usvc_core::kyc::signature::ProviderKeys::parse(&value)?
            }
            "USVC_NOTIFICATION_GRPC_URL" => self.clients.notification_url = parse_endpoint(value)?,
            "USVC_AUDIT_GRPC_URL" => self.clients.audit_url = parse_endpoint(value)?,
            "USVC_CLIENT_DEADLINE_MS" => {
                let ms: u64 = value.parse()?;
                anyhow::ensure!(ms > 0, "the deadline must be at least one millisecond");
                self.clients.policy.deadline = Duration::from_millis(ms)
            }
            "USVC_TRUST_FORWARDED_FOR" => self.trust_forwarded_for = value.parse()?,
            "USVC_PUBLIC_URL" => {
                self.public_url = parse_endpoint(value)?;
            }
            "USVC_OBJECTS_DIR" => self.documents.objects_dir = value.into(),
            "USVC_DOCUMENT_UPLOAD_TTL_SECS" => {
                self.documents.upload_ttl = Duration::from_secs(value.parse()?);
                anyhow::ensure!(!self.documents.upload_ttl.is_zero(), "at least one second");
            }
            "USVC_DOCUMENT_DOWNLOAD_TTL_SECS" => {
                self.documents.download_ttl = Duration::from_secs(value.parse()?);
                anyhow::ensure!(
                    !self.documents.download_ttl.is_zero(),
                    "at least one second"
                );
            }
            "USVC_DOCUMENT_MAX_BYTES" => {
                self.documents.max_bytes = value.parse()?;
                anyhow::ensure!(self.documents.max_bytes > 0, "at least one byte");
            }
            "USVC_S3_ENDPOINT"
            | "USVC_S3_REGION"
            | "USVC_S3_BUCKET"
            | "USVC_S3_ACCESS_KEY_ID"
            | "USVC_S3_SECRET_ACCESS_KEY" => {
                let s3 = self.documents.s3.get_or_insert_with(|| S3Settings {
                    region: "us-east-1".to_owned(),
                    ..S3Settings::default()
                });
                let value = value.trim().to_owned();
                match key {
                    "USVC_S3_ENDPOINT" => s3.endpoint = parse_endpoint(value)?,
                    "USVC_S3_REGION" => s3.region = value,
                    "USVC_S3_BUCKET" => s3.bucket = value,
                    "USVC_S3_ACCESS_KEY_ID" => s3.access_key_id = value,
                    _ => s3.secret_access_key = value,
                }
            }
            "USVC_LIMIT_LOGIN_PER_IP" => self.limits.login_per_ip = value.parse()?,
            "USVC_LIMIT_LOGIN_PER_ACCOUNT" => self.limits.login_per_account = value.parse()?,
            "USVC_LIMIT_REAUTH_PER_SESSION" => self.limits.reauth_per_session = value.parse()?,
            "USVC_LIMIT_IPV6_PREFIX" => {
                self.limits.ipv6_prefix = value.parse()?;
                anyhow::ensure!(
                    (1..=128).contains(&self.limits.ipv6_prefix),
                    "a prefix length is 1 to 128"
                );
            }
            "USVC_FORWARDED_FOR_HOPS" => {
                self.forwarded_for_hops = value.parse()?;
                anyhow::ensure!(self.forwarded_for_hops >= 1, "at least one proxy");
            }
            "USVC_LIMIT_REGISTER_PER_IP" => self.limits.register_per_ip = value.parse()?,
            "USVC_LIMIT_CODE_SENDS_PER_ACCOUNT" => {
                self.limits.code_sends_per_account = value.parse()?
            }
            "USVC_LIMIT_RESET_PER_IP" => self.limits.reset_per_ip = value.parse()?,
            "USVC_LIMIT_RESET_PER_ACCOUNT" => self.limits.reset_per_account = value.parse()?,
            "USVC_LIMIT_CODE_CHECKS_PER_IP" => self.limits.code_checks_per_ip = value.parse()?,
            "USVC_LIMIT_CODE_CHECKS_PER_ACCOUNT" => {
                self.limits.code_checks_per_account = value.parse()?
            }
            "USVC_LOGIN_DELAY_AFTER_FAILURES" => {
                self.limits.failures_before_delay = value.parse()?
            }
            "USVC_LOGIN_DELAY_MS" => {
                self.limits.failure_delay = Duration::from_millis(value.parse()?)
            }
            "USVC_LOGIN_MAX_DELAY_MS" => {
                self.limits.max_failure_delay = Duration::from_millis(value.parse()?)
            }
            "USVC_LOCKOUT_AFTER_FAILURES" => self.limits.failures_before_lockout = value.parse()?,
            "USVC_LOCKOUT_SECS" => self.limits.lockout = Duration::from_secs(value.parse()?),
            _ if self.apply_kind_limit(key, &value)? => {}
            _ => {
                // USVC_COMPONENT_<KIND>__<SETTING>: a component setting, e.g.
                // USVC_COMPONENT_ONBOARDING__ALLOWED_COUNTRIES=GB,DE.
                if let Some(rest) = key.strip_prefix("USVC_COMPONENT_")
                    && let Some((kind, setting)) = rest.split_once("__")
                {
                    let kebab = |s: &str| s.to_ascii_lowercase().replace('_', "-");
                    self.component_settings
                        .entry(kebab(kind))
                        .or_default()
                        .insert(kebab(setting), value);
                } else if key.starts_with("USVC_") && !READ_ELSEWHERE.contains(&key) {
                    // A misspelt setting (a security control among them) must not pass
                    // unnoticed as the default.
                    let hint = if let Some(name) = closest_setting(key) {
                        format!("; did you mean {name}?")
                    } else if key.starts_with("USVC_COMPONENT_") {
                        "; a component's setting is USVC_COMPONENT_<KIND>__<SETTING>, with two underscores".to_owned()
                    } else {
                        String::new()
                    };
                    bail!(
                        "unknown setting: no USVC_* variable of that name{hint} (see the README's configuration table)"
                    );
                }
            }
        }
        Ok(())
    }
}

/// Every variable [`Config::apply`] reads by its exact name, for the suggestion when a name is
/// misspelt (the families `USVC_COMPONENT_<KIND>__<SETTING>` and `USVC_<KIND>_<LIMIT>` aside).
/// A unit test keeps it equal to `apply`'s arms.
const SETTINGS: &[&str] = &[
    "AMQP_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "USVC_ACCESS_TOKEN_TTL_SECS",
    "USVC_AMQP_EXCHANGE",
    "USVC_ARGON2_ITERATIONS",
    "USVC_ARGON2_MEMORY_KIB",
    "USVC_ARGON2_PARALLELISM",
    "USVC_AUDIT_GRPC_URL",
    "USVC_CALL_DEADLINE_MS",
    "USVC_CLIENT_DEADLINE_MS",
    "USVC_COMPONENTS_DIR",
    "USVC_COMPONENT_KV_BYTES_PER_CUSTOMER",
    "USVC_COMPONENT_KV_KEYS_PER_CUSTOMER",
    "USVC_COMPONENT_KV_WRITES_PER_CALL",
    "USVC_COMPONENT_LOG_LINES_PER_CALL",
    "USVC_COMPONENT_MAX_BYTES",
    "USVC_COMPONENT_MEMORY_MIB",
    "USVC_COMPONENT_SIGNERS",
    "USVC_DATABASE_MAX_CONNECTIONS",
    "USVC_DOCUMENT_DOWNLOAD_TTL_SECS",
    "USVC_DOCUMENT_MAX_BYTES",
    "USVC_DOCUMENT_UPLOAD_TTL_SECS",
    "USVC_FORWARDED_FOR_HOPS",
    "USVC_GRPC_ADDR",
    "USVC_GRPC_CALLERS",
    "USVC_GRPC_GRANTS",
    "USVC_HTTP_ADDR",
    "USVC_JWT_AUDIENCE",
    "USVC_JWT_ISSUER",
    "USVC_JWT_SIGNING_KEY",
    "USVC_KYC_EXCHANGE",
    "USVC_KYC_GRPC_URL",
    "USVC_KYC_MAX_ATTEMPTS",
    "USVC_KYC_PREFETCH",
    "USVC_KYC_RESULTS_QUEUE",
    "USVC_KYC_RESULT_KEYS",
    "USVC_KYC_RETRY_DELAY_MS",
    "USVC_KYC_ROUTING_KEY",
    "USVC_LIMIT_CODE_CHECKS_PER_ACCOUNT",
    "USVC_LIMIT_CODE_CHECKS_PER_IP",
    "USVC_LIMIT_CODE_SENDS_PER_ACCOUNT",
    "USVC_LIMIT_IPV6_PREFIX",
    "USVC_LIMIT_LOGIN_PER_ACCOUNT",
    "USVC_LIMIT_LOGIN_PER_IP",
    "USVC_LIMIT_REAUTH_PER_SESSION",
    "USVC_LIMIT_REGISTER_PER_IP",
    "USVC_LIMIT_RESET_PER_ACCOUNT",
    "USVC_LIMIT_RESET_PER_IP",
    "USVC_LOCKOUT_AFTER_FAILURES",
    "USVC_LOCKOUT_SECS",
    "USVC_LOGIN_DELAY_AFTER_FAILURES",
    "USVC_LOGIN_DELAY_MS",
    "USVC_LOGIN_MAX_DELAY_MS",
    "USVC_MAX_BODY_BYTES",
    "USVC_MAX_CONCURRENT_CALLS",
    "USVC_MAX_CONCURRENT_HASHES",
    "USVC_METRICS_ADDR",
    "USVC_MODE",
    "USVC_NOTIFICATION_GRPC_URL",
    "USVC_OBJECTS_DIR",
    "USVC_PUBLIC_URL",
    "USVC_REDIS_PREFIX",
    "USVC_REFRESH_TOKEN_TTL_SECS",
    "USVC_S3_ACCESS_KEY_ID",
    "USVC_S3_BUCKET",
    "USVC_S3_ENDPOINT",
    "USVC_S3_REGION",
    "USVC_S3_SECRET_ACCESS_KEY",
    "USVC_SECRETS_KEY",
    "USVC_TRUST_FORWARDED_FOR",
    "USVC_UNSAFE_SANDBOX_KYC",
];

/// The known setting closest to a misspelt `key`, when one is close enough to be meant.
fn closest_setting(key: &str) -> Option<String> {
    let kind_limits = ComponentKind::ALL.into_iter().flat_map(|kind| {
        let kind = kind.name().to_ascii_uppercase();
        ["DEADLINE_MS", "MEMORY_MIB", "INSTANCES"].map(|limit| format!("USVC_{kind}_{limit}"))
    });
    SETTINGS
        .iter()
        .map(|name| (*name).to_owned())
        .chain(kind_limits)
        .map(|name| (strsim::levenshtein(key, &name), name))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// `USVC_*` variables the service does not read but the command line, the build or the test
/// kit do: present in the environment, they are not misspelt settings.
const READ_ELSEWHERE: &[&str] = &[
    "USVC_URL",
    "USVC_ADMIN_TOKEN",
    "USVC_BASELINE_COMPONENTS",
    "USVC_COMPONENTS_OUT",
    "USVC_COMPONENTS_FALLBACK",
    "USVC_TEST_POSTGRES_URL",
    "USVC_TEST_REDIS_URL",
    "USVC_TEST_AMQP_URL",
    "USVC_TEST_RABBITMQCTL",
];

impl Config {
    /// `USVC_<KIND>_DEADLINE_MS`, `USVC_<KIND>_MEMORY_MIB` or `USVC_<KIND>_INSTANCES`; false
    /// for any other variable.
    fn apply_kind_limit(&mut self, key: &str, value: &str) -> anyhow::Result<bool> {
        let Some(rest) = key.strip_prefix("USVC_") else {
            return Ok(false);
        };
        let Some((kind, limit)) = ComponentKind::ALL.into_iter().find_map(|kind| {
            let prefix = format!("{}_", kind.name().to_ascii_uppercase());
            rest.strip_prefix(&prefix).map(|limit| (kind, limit))
        }) else {
            return Ok(false);
        };
        let limits = self.runtime.per_kind.entry(kind).or_default();
        match limit {
            "DEADLINE_MS" => limits.deadline = Some(Duration::from_millis(value.parse()?)),
            "MEMORY_MIB" => limits.memory_bytes = Some(value.parse::<usize>()? << 20),
            "INSTANCES" => limits.instances = Some(value.parse()?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Where `usvc components deploy|list|rollback` send their requests: the service's base URL
/// (`USVC_URL`, default `http://127.0.0.1:8080`) and an administrator's access token
/// (`USVC_ADMIN_TOKEN`, required).
pub fn admin_api_from_env() -> anyhow::Result<(String, String)> {
    let url = std::env::var("USVC_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let token = std::env::var("USVC_ADMIN_TOKEN")
        .context("USVC_ADMIN_TOKEN (an administrator's access token) is required")?;
    Ok((url, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_misspelt_setting_stops_start_up_and_other_tools_variables_do_not() {
        let Err(error) = Config::from_vars(vars(&[("USVC_GRPC_GRANT", "ledger=UserService/*")]))
        else {
            panic!("a misspelt setting is refused");
        };
        assert!(
            format!("{error:#}").contains("USVC_GRPC_GRANT"),
            "{error:#}"
        );
        assert!(
            format!("{error:#}").contains("unknown setting"),
            "{error:#}"
        );
        let fine = Config::from_vars(vars(&[
            ("USVC_URL", "http://127.0.0.1:8080"),
            ("USVC_BASELINE_COMPONENTS", "target/components"),
            ("PATH", "/usr/bin"),
        ]));
        assert!(fine.is_ok(), "{:?}", fine.err());
    }

    #[test]
    fn a_misspelt_setting_is_answered_with_the_closest_name() {
        let error = |key: &str| {
            let Err(error) = Config::from_vars(vars(&[(key, "1")])) else {
                panic!("{key} is refused");
            };
            format!("{error:#}")
        };
        assert!(
            error("USVC_GRPC_GRANT").contains("did you mean USVC_GRPC_GRANTS?"),
            "{}",
            error("USVC_GRPC_GRANT")
        );
        assert!(error("USVC_LOCKOUT_SEC").contains("did you mean USVC_LOCKOUT_SECS?"));
        assert!(error("USVC_MFA_DEADLINE_M").contains("did you mean USVC_MFA_DEADLINE_MS?"));
        assert!(error("USVC_COMPONENT_ONBOARDING_ALLOWED_COUNTRIES").contains("two underscores"));
        assert!(!error("USVC_SOMETHING_ELSE_ENTIRELY").contains("did you mean"));
    }

    #[test]
    fn the_suggestions_know_every_setting_read() {
        let source = include_str!("config.rs");
        let apply = &source[source.find("fn apply(&mut self").expect("apply")..];
        let apply = &apply[..apply.find("\n    }\n}\n").expect("the end of apply")];
        // The names in the patterns of its arms: lines that start with a quoted name in capitals.
        let is_name = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        };
        let mut read: Vec<&str> = apply
            .lines()
            .map(|line| line.trim().trim_start_matches("| "))
            .filter_map(|line| line.strip_prefix('"')?.split('"').next())
            .filter(|name| is_name(name))
            .collect();
        read.sort_unstable();
        read.dedup();
        let mut listed = SETTINGS.to_vec();
        listed.sort_unstable();
        assert_eq!(read, listed, "SETTINGS must list every name apply reads");
        for name in SETTINGS {
            if let Err(error) = Config::from_vars(vars(&[(name, "")])) {
                assert!(!format!("{error:#}").contains("unknown setting"), "{name}");
            }
        }
    }

    #[test]
    fn component_settings_come_from_prefixed_variables() {
        let config = Config::from_vars(vars(&[(
            "USVC_COMPONENT_ONBOARDING__ALLOWED_COUNTRIES",
            "GB",
        )]))
        .unwrap();
        assert_eq!(
            config.component_settings["onboarding"]["allowed-countries"],
            "GB"
        );
    }

    #[test]
    fn a_kind_may_have_limits_of_its_own() {
        let config = Config::from_vars(vars(&[
            ("USVC_CALL_DEADLINE_MS", "4000"),
            ("USVC_VERIFICATION_DEADLINE_MS", "500"),
            ("USVC_VERIFICATION_MEMORY_MIB", "8"),
            ("USVC_MFA_INSTANCES", "3"),
        ]))
        .unwrap();
        let limits = &config.runtime;
        let verification = limits.of(ComponentKind::Verification);
        assert_eq!(verification.deadline, Duration::from_millis(500));
        assert_eq!(verification.memory_bytes, 8 << 20);
        assert_eq!(verification.instances, 64);
        let mfa = limits.of(ComponentKind::Mfa);
        assert_eq!(mfa.deadline, Duration::from_millis(4000));
        assert_eq!(mfa.instances, 3);
        assert_eq!(limits.of(ComponentKind::Onboarding).memory_bytes, 64 << 20);
        assert!(Config::from_vars(vars(&[("USVC_MFA_INSTANCES", "many")])).is_err());
        // Not a limit, nor any other setting: refused, not ignored.
        assert!(Config::from_vars(vars(&[("USVC_MFA_COLOUR", "blue")])).is_err());
    }

    #[test]
    fn keys_never_print() {
        let pem = usvc_core::runtime::keys::generate_pem().unwrap();
        let config = Config::from_vars(vars(&[
            ("USVC_JWT_SIGNING_KEY", pem.as_str()),
            (
                "USVC_SECRETS_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]))
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
        let body = pem.lines().nth(1).expect("a PEM body line");
        assert!(!printed.contains(body), "{printed}");
        assert!(
            !printed.contains("31"),
            "the sealing key's bytes: {printed}"
        );
    }

    #[test]
    fn production_mode_requires_a_secrets_key_of_32_bytes() {
        let pem = usvc_core::runtime::keys::generate_pem().unwrap();
        let production = [
            ("USVC_MODE", "production"),
            ("USVC_JWT_SIGNING_KEY", pem.as_str()),
            ("USVC_KYC_GRPC_URL", "http://kyc.bank.internal:50051"),
        ];
        let err = Config::from_vars(vars(&production)).unwrap_err();
        assert!(err.to_string().contains("USVC_SECRETS_KEY"));
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // 32 bytes
        let mut with_key = production.to_vec();
        with_key.push(("USVC_SECRETS_KEY", key));
        let config = Config::from_vars(vars(&with_key)).unwrap();
        assert_eq!(config.secrets_key.unwrap().expose_secret().0[31], 31);
        let err = Config::from_vars(vars(&[("USVC_SECRETS_KEY", "c2hvcnQ=")])).unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"));
    }

    #[test]
    fn production_mode_requires_a_signing_key() {
        let err = Config::from_vars(vars(&[("USVC_MODE", "production")])).unwrap_err();
        assert!(err.to_string().contains("USVC_JWT_SIGNING_KEY"));
    }

    #[test]
    fn limits_are_configured_as_attempts_per_seconds() {
        let config = Config::from_vars(vars(&[
            ("USVC_LIMIT_LOGIN_PER_IP", "5/30"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ]))
        .unwrap();
        assert_eq!(
            config.limits.login_per_ip,
            Rate {
                max: 5,
                per: Duration::from_secs(30)
            }
        );
        assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
        let err = Config::from_vars(vars(&[("USVC_LIMIT_LOGIN_PER_IP", "5")])).unwrap_err();
        assert!(format!("{err:#}").contains("attempts/seconds"));
    }

    #[test]
    fn the_kyc_results_subscription_is_configurable() {
        let config = Config::from_vars(vars(&[
            ("USVC_KYC_EXCHANGE", "kyc.v2"),
            ("USVC_KYC_RESULTS_QUEUE", "usvc.kyc"),
            ("USVC_KYC_MAX_ATTEMPTS", "3"),
            ("USVC_KYC_RETRY_DELAY_MS", "250"),
        ]))
        .unwrap();
        assert_eq!(
            config.kyc_results,
            Subscription {
                exchange: "kyc.v2".into(),
                queue: "usvc.kyc".into(),
                max_attempts: 3,
                retry_delay: Duration::from_millis(250),
                ..Subscription::kyc_results()
            }
        );
        for (key, bad) in [("USVC_KYC_MAX_ATTEMPTS", "0"), ("USVC_KYC_PREFETCH", "0")] {
            let err = Config::from_vars(vars(&[(key, bad)])).unwrap_err();
            assert!(format!("{err:#}").contains(key), "{err:#}");
        }
    }

    #[test]
    fn a_malformed_value_names_its_variable() {
        let err = Config::from_vars(vars(&[("USVC_HTTP_ADDR", "nonsense")])).unwrap_err();
        assert!(err.to_string().contains("USVC_HTTP_ADDR"));
    }

    #[test]
    fn client_endpoints_are_urls_and_unset_by_default() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(config.clients.kyc_url, None);
        assert_eq!(config.clients.policy, ClientPolicy::default());
        let config = Config::from_vars(vars(&[
            ("USVC_KYC_GRPC_URL", "http://kyc.bank.internal:50051"),
            (
                "USVC_NOTIFICATION_GRPC_URL",
                " https://notify.bank.internal ",
            ),
            ("USVC_AUDIT_GRPC_URL", ""),
            ("USVC_CLIENT_DEADLINE_MS", "750"),
        ]))
        .unwrap();
        assert_eq!(
            config.clients.kyc_url.as_deref(),
            Some("http://kyc.bank.internal:50051")
        );
        assert_eq!(
            config.clients.notification_url.as_deref(),
            Some("https://notify.bank.internal")
        );
        assert_eq!(config.clients.audit_url, None);
        assert_eq!(config.clients.policy.deadline, Duration::from_millis(750));
        for (key, bad) in [
            ("USVC_AUDIT_GRPC_URL", "audit.bank.internal:50051"),
            ("USVC_AUDIT_GRPC_URL", "ftp://audit.bank.internal"),
            ("USVC_CLIENT_DEADLINE_MS", "0"),
        ] {
            let err = Config::from_vars(vars(&[(key, bad)])).unwrap_err();
            assert!(format!("{err:#}").contains(key), "{bad}: {err:#}");
        }
    }

    #[test]
    fn documents_are_kept_in_a_folder_unless_an_s3_bucket_is_configured() {
        let config = Config::from_vars(vars(&[])).unwrap();
        assert!(config.documents.s3.is_none());
        assert_eq!(config.documents.objects_dir, PathBuf::from("data/objects"));
        assert_eq!(config.documents.upload_ttl, Duration::from_secs(600));

        let config = Config::from_vars(vars(&[
            ("USVC_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("USVC_S3_BUCKET", "kyc"),
            ("USVC_S3_ACCESS_KEY_ID", "K"),
            ("USVC_S3_SECRET_ACCESS_KEY", "very secret"),
            ("USVC_DOCUMENT_UPLOAD_TTL_SECS", "60"),
        ]))
        .unwrap();
        let s3 = config.documents.s3.as_ref().unwrap();
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(
            (s3.bucket.as_str(), s3.region.as_str()),
            ("kyc", "us-east-1")
        );
        assert_eq!(config.documents.upload_ttl, Duration::from_secs(60));
        assert!(!format!("{config:?}").contains("very secret"));

        let err = Config::from_vars(vars(&[("USVC_S3_BUCKET", "kyc")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("USVC_S3_ACCESS_KEY_ID"),
            "{err:#}"
        );
        let err = Config::from_vars(vars(&[("USVC_DOCUMENT_UPLOAD_TTL_SECS", "0")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("USVC_DOCUMENT_UPLOAD_TTL_SECS"),
            "{err:#}"
        );
    }

    #[test]
    fn grpc_callers_are_names_with_public_keys() {
        let key = "A".repeat(43); // 32 zero-ish bytes in base64url
        let config = Config::from_vars(vars(&[(
            "USVC_GRPC_CALLERS",
            &format!("gateway={key}, ledger={key}"),
        )]))
        .unwrap();
        assert_eq!(
            config.grpc_callers.keys().collect::<Vec<_>>(),
            ["gateway", "ledger"]
        );
        for bad in [
            "gateway",
            "Gateway=AAAA",
            &format!("gateway={}", "A".repeat(40)),
        ] {
            let err = Config::from_vars(vars(&[("USVC_GRPC_CALLERS", bad)])).unwrap_err();
            assert!(
                format!("{err:#}").contains("USVC_GRPC_CALLERS"),
                "{bad}: {err:#}"
            );
        }
    }
}
