//! Configuration: read once from the environment at start-up, with embedded defaults that run the
//! service with no external system at all. The variables are deserialized into one flat struct
//! whose fields are the settings there are (`Environment`), and one function checks them and
//! turns them into [`Config`]. The binary owns it; each layer takes the settings it needs in its
//! own types (`TokenConfig`, `Limits`, `ClientPolicy`, `RuntimeLimits`, ...), re-exported here
//! under the names configuration has always used.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, anyhow, bail, ensure};
pub use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{
    Deserialize, Deserializer,
    de::{DeserializeOwned, Error as _},
};
use serde_aux::serde_introspection::serde_introspect;
use serde_json::{Map, Value};
use serde_with::{DisplayFromStr, DurationMilliSeconds, DurationSeconds, NoneAsEmptyString};

pub use usvc_adapters::{amqp::Subscription, clients::ClientPolicy, s3::S3Settings};
pub use usvc_core::{
    auth::tokens::TokenConfig,
    guard::limits::{Limits, Rate},
    runtime::limits::{CallLimits, KindLimits, PasswordHashing, RuntimeLimits, SandboxBounds},
    state::Mode,
};
use usvc_core::{
    grants::{Grants, parse_grants},
    kyc::signature::ProviderKeys,
    runtime::{ComponentKind, artifact::Signers},
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
    /// Error tracking (`USVC_SENTRY_DSN`): panics, 5xx answers, gRPC internal errors and failed
    /// component calls are reported to Sentry, scrubbed. Off when unset.
    pub sentry: Option<SentrySettings>,
}

/// Where errors are reported (`USVC_SENTRY_DSN`) and under which environment
/// (`USVC_SENTRY_ENVIRONMENT`, the mode's name by default). The DSN's key never prints.
#[derive(Clone)]
pub struct SentrySettings {
    pub dsn: sentry::types::Dsn,
    pub environment: String,
}

impl std::fmt::Debug for SentrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentrySettings")
            .field("host", &self.dsn.host())
            .field("project_id", &self.dsn.project_id().value())
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
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
            sentry: None,
        }
    }

    /// The embedded defaults overridden by `USVC_*` variables and `DATABASE_URL`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// The embedded defaults overridden by `vars`: read into an `Environment`, then checked and
    /// applied by `Environment::into_config`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        Environment::read(vars)?.into_config()
    }

    /// Whether KYC results are consumed from RabbitMQ.
    pub fn consumes_kyc_results(&self) -> bool {
        self.amqp_url.is_some() && !self.kyc_results.queue.is_empty()
    }
}

// Durations are whole milliseconds or seconds, as their variable's name says.
type Ms = DurationMilliSeconds<String>;
type Secs = DurationSeconds<String>;

/// The variables read by name, as given (trimmed): one field per variable, named after it
/// (`usvc_http_addr` is `USVC_HTTP_ADDR`), each parsed into its type but not yet checked. Its
/// fields are the settings there are. Numbers, booleans and rates are read with `FromStr`.
#[serde_with::apply(
    Option<bool> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<u8> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<u16> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<u32> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<u64> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<usize> => #[serde_as(as = "Option<DisplayFromStr>")],
    Option<Rate> => #[serde_as(as = "Option<DisplayFromStr>")],
)]
#[serde_with::serde_as]
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "SCREAMING_SNAKE_CASE")]
struct Environment {
    #[serde(deserialize_with = "parsed")]
    usvc_mode: Option<Mode>,
    usvc_http_addr: Option<SocketAddr>,
    #[serde_as(as = "NoneAsEmptyString")]
    usvc_metrics_addr: Option<SocketAddr>,
    usvc_grpc_addr: Option<SocketAddr>,
    #[serde(deserialize_with = "parsed")]
    usvc_grpc_callers: Option<BTreeMap<String, [u8; 32]>>,
    #[serde(deserialize_with = "parsed")]
    usvc_grpc_grants: Option<BTreeMap<String, Grants>>,
    database_url: Option<String>,
    usvc_database_max_connections: Option<u32>,
    usvc_components_dir: Option<PathBuf>,
    usvc_component_max_bytes: Option<usize>,
    #[serde(deserialize_with = "parsed")]
    usvc_component_signers: Option<Signers>,
    #[serde_as(as = "Option<Ms>")]
    usvc_call_deadline_ms: Option<Duration>,
    usvc_component_memory_mib: Option<usize>,
    usvc_max_concurrent_calls: Option<u32>,
    usvc_component_log_lines_per_call: Option<u32>,
    usvc_component_kv_writes_per_call: Option<u32>,
    usvc_component_kv_keys_per_customer: Option<u32>,
    usvc_component_kv_bytes_per_customer: Option<u64>,
    usvc_jwt_issuer: Option<String>,
    usvc_jwt_audience: Option<String>,
    #[serde_as(as = "Option<Secs>")]
    usvc_access_token_ttl_secs: Option<Duration>,
    #[serde_as(as = "Option<Secs>")]
    usvc_refresh_token_ttl_secs: Option<Duration>,
    usvc_jwt_signing_key: Option<SecretString>,
    usvc_argon2_memory_kib: Option<u32>,
    usvc_argon2_iterations: Option<u32>,
    usvc_argon2_parallelism: Option<u32>,
    usvc_max_concurrent_hashes: Option<usize>,
    usvc_max_body_bytes: Option<usize>,
    #[serde_as(as = "NoneAsEmptyString")]
    redis_url: Option<String>,
    usvc_redis_prefix: Option<String>,
    #[serde_as(as = "NoneAsEmptyString")]
    amqp_url: Option<String>,
    usvc_amqp_exchange: Option<String>,
    #[serde(deserialize_with = "parsed")]
    usvc_secrets_key: Option<SecretBox<SealingKey>>,
    usvc_kyc_exchange: Option<String>,
    usvc_kyc_routing_key: Option<String>,
    usvc_kyc_results_queue: Option<String>,
    usvc_kyc_max_attempts: Option<u32>,
    #[serde_as(as = "Option<Ms>")]
    usvc_kyc_retry_delay_ms: Option<Duration>,
    usvc_kyc_prefetch: Option<u16>,
    #[serde(deserialize_with = "parsed")]
    usvc_kyc_result_keys: Option<ProviderKeys>,
    #[serde(deserialize_with = "endpoint")]
    usvc_kyc_grpc_url: Option<String>,
    usvc_unsafe_sandbox_kyc: Option<bool>,
    #[serde(deserialize_with = "endpoint")]
    usvc_notification_grpc_url: Option<String>,
    #[serde(deserialize_with = "endpoint")]
    usvc_audit_grpc_url: Option<String>,
    #[serde_as(as = "Option<Ms>")]
    usvc_client_deadline_ms: Option<Duration>,
    usvc_trust_forwarded_for: Option<bool>,
    usvc_forwarded_for_hops: Option<usize>,
    #[serde(deserialize_with = "endpoint")]
    usvc_public_url: Option<String>,
    usvc_objects_dir: Option<PathBuf>,
    #[serde_as(as = "Option<Secs>")]
    usvc_document_upload_ttl_secs: Option<Duration>,
    #[serde_as(as = "Option<Secs>")]
    usvc_document_download_ttl_secs: Option<Duration>,
    usvc_document_max_bytes: Option<u64>,
    #[serde(deserialize_with = "endpoint")]
    usvc_s3_endpoint: Option<String>,
    usvc_s3_region: Option<String>,
    usvc_s3_bucket: Option<String>,
    usvc_s3_access_key_id: Option<String>,
    usvc_s3_secret_access_key: Option<SecretString>,
    usvc_limit_login_per_ip: Option<Rate>,
    usvc_limit_login_per_account: Option<Rate>,
    usvc_limit_register_per_ip: Option<Rate>,
    usvc_limit_code_sends_per_account: Option<Rate>,
    usvc_limit_reset_per_ip: Option<Rate>,
    usvc_limit_reset_per_account: Option<Rate>,
    usvc_limit_code_checks_per_ip: Option<Rate>,
    usvc_limit_code_checks_per_account: Option<Rate>,
    usvc_limit_reauth_per_session: Option<Rate>,
    usvc_limit_ipv6_prefix: Option<u8>,
    usvc_login_delay_after_failures: Option<u32>,
    #[serde_as(as = "Option<Ms>")]
    usvc_login_delay_ms: Option<Duration>,
    #[serde_as(as = "Option<Ms>")]
    usvc_login_max_delay_ms: Option<Duration>,
    usvc_lockout_after_failures: Option<u32>,
    #[serde_as(as = "Option<Secs>")]
    usvc_lockout_secs: Option<Duration>,
    #[serde(deserialize_with = "parsed")]
    usvc_sentry_dsn: Option<Option<sentry::types::Dsn>>,
    usvc_sentry_environment: Option<String>,
    /// `USVC_<KIND>_<LIMIT>`: the limits a kind has of its own.
    #[serde(skip)]
    per_kind: BTreeMap<ComponentKind, KindEnvironment>,
    /// `USVC_COMPONENT_<KIND>__<SETTING>`, e.g. `USVC_COMPONENT_ONBOARDING__ALLOWED_COUNTRIES`:
    /// handed to the kind's components through `wasi:config`, as `allowed-countries`.
    #[serde(skip)]
    component_settings: BTreeMap<String, BTreeMap<String, String>>,
}

/// The limits a kind of component may have of its own: `USVC_<KIND>_<FIELD>`, e.g.
/// `USVC_MFA_INSTANCES`.
#[serde_with::serde_as]
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct KindEnvironment {
    #[serde_as(as = "Option<Ms>")]
    deadline_ms: Option<Duration>,
    #[serde_as(as = "Option<DisplayFromStr>")]
    memory_mib: Option<usize>,
    #[serde_as(as = "Option<DisplayFromStr>")]
    instances: Option<u32>,
}

impl Environment {
    /// Sorts `vars` out: the settings read by name, each kind's limits and the components'
    /// settings. Any other `USVC_*` variable is refused: a misspelt setting (a security control
    /// among them) must not pass unnoticed as the default. The rest of the environment is not ours.
    fn read(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let names = serde_introspect::<Self>();
        let mut by_name = Map::new();
        let mut per_kind = BTreeMap::<ComponentKind, Map<String, Value>>::new();
        let mut component_settings = BTreeMap::<String, BTreeMap<String, String>>::new();
        for (key, value) in vars {
            if names.contains(&key.as_str()) {
                by_name.insert(key, value.trim().into());
            } else if let Some((kind, limit)) = kind_limit(&key) {
                let limits = per_kind.entry(kind).or_default();
                limits.insert(limit.to_owned(), value.trim().into());
            } else if let Some((kind, setting)) = key
                .strip_prefix("USVC_COMPONENT_")
                .and_then(|rest| rest.split_once("__"))
            {
                let kebab = |s: &str| s.to_ascii_lowercase().replace('_', "-");
                let settings = component_settings.entry(kebab(kind)).or_default();
                settings.insert(kebab(setting), value);
            } else if key.starts_with("USVC_") && !READ_ELSEWHERE.contains(&key.as_str()) {
                let hint = if let Some(name) = closest_setting(&key) {
                    format!("; did you mean {name}?")
                } else if key.starts_with("USVC_COMPONENT_") {
                    "; a component's setting is USVC_COMPONENT_<KIND>__<SETTING>, with two underscores".to_owned()
                } else {
                    String::new()
                };
                bail!(
                    "invalid {key}: unknown setting: no USVC_* variable of that name{hint} (see the README's configuration table)"
                );
            }
        }
        let mut environment: Self = deserialize("", by_name)?;
        for (kind, limits) in per_kind {
            let limits = deserialize(&kind_prefix(kind), limits)?;
            environment.per_kind.insert(kind, limits);
        }
        environment.component_settings = component_settings;
        Ok(environment)
    }

    /// The embedded defaults overridden by the settings given, and every check: of values on
    /// their own, of settings against each other, and of what production requires.
    fn into_config(self) -> anyhow::Result<Config> {
        let mut c = Config::embedded();
        // Each setting given replaces its default.
        macro_rules! set {
            ($($given:expr => $setting:expr,)*) => {
                $(if let Some(given) = $given { $setting = given; })*
            };
        }
        let mib = |mib: usize| mib << 20;
        set! {
            self.usvc_mode => c.mode,
            self.usvc_http_addr => c.http_addr,
            self.usvc_grpc_addr => c.grpc_addr,
            self.usvc_grpc_callers => c.grpc_callers,
            self.usvc_grpc_grants => c.grpc_grants,
            self.database_url => c.database_url,
            self.usvc_database_max_connections => c.database_max_connections,
            self.usvc_components_dir => c.components_dir,
            self.usvc_component_max_bytes => c.component_max_bytes,
            self.usvc_component_signers => c.component_signers,
            self.usvc_call_deadline_ms => c.runtime.call_deadline,
            self.usvc_component_memory_mib.map(mib) => c.runtime.memory_bytes,
            self.usvc_max_concurrent_calls => c.runtime.max_concurrent_calls,
            self.usvc_component_log_lines_per_call => c.runtime.sandbox.log_lines_per_call,
            self.usvc_component_kv_writes_per_call => c.runtime.sandbox.kv_writes_per_call,
            self.usvc_component_kv_keys_per_customer => c.runtime.sandbox.kv_keys_per_customer,
            self.usvc_component_kv_bytes_per_customer => c.runtime.sandbox.kv_bytes_per_customer,
            self.usvc_jwt_issuer => c.tokens.issuer,
            self.usvc_jwt_audience => c.tokens.audience,
            self.usvc_access_token_ttl_secs => c.tokens.access_ttl,
            self.usvc_refresh_token_ttl_secs => c.tokens.refresh_ttl,
            self.usvc_argon2_memory_kib => c.password_hashing.memory_kib,
            self.usvc_argon2_iterations => c.password_hashing.iterations,
            self.usvc_argon2_parallelism => c.password_hashing.parallelism,
            self.usvc_max_concurrent_hashes => c.password_hashing.max_concurrent,
            self.usvc_max_body_bytes => c.max_body_bytes,
            self.usvc_redis_prefix => c.redis_prefix,
            self.usvc_amqp_exchange => c.amqp_exchange,
            self.usvc_kyc_exchange => c.kyc_results.exchange,
            self.usvc_kyc_routing_key => c.kyc_results.routing_key,
            self.usvc_kyc_results_queue => c.kyc_results.queue,
            self.usvc_kyc_max_attempts => c.kyc_results.max_attempts,
            self.usvc_kyc_retry_delay_ms => c.kyc_results.retry_delay,
            self.usvc_kyc_prefetch => c.kyc_results.prefetch,
            self.usvc_kyc_result_keys => c.kyc_result_keys,
            self.usvc_unsafe_sandbox_kyc => c.clients.unsafe_sandbox_kyc,
            self.usvc_client_deadline_ms => c.clients.policy.deadline,
            self.usvc_trust_forwarded_for => c.trust_forwarded_for,
            self.usvc_forwarded_for_hops => c.forwarded_for_hops,
            self.usvc_objects_dir => c.documents.objects_dir,
            self.usvc_document_upload_ttl_secs => c.documents.upload_ttl,
            self.usvc_document_download_ttl_secs => c.documents.download_ttl,
            self.usvc_document_max_bytes => c.documents.max_bytes,
            self.usvc_limit_login_per_ip => c.limits.login_per_ip,
            self.usvc_limit_login_per_account => c.limits.login_per_account,
            self.usvc_limit_register_per_ip => c.limits.register_per_ip,
            self.usvc_limit_code_sends_per_account => c.limits.code_sends_per_account,
            self.usvc_limit_reset_per_ip => c.limits.reset_per_ip,
            self.usvc_limit_reset_per_account => c.limits.reset_per_account,
            self.usvc_limit_code_checks_per_ip => c.limits.code_checks_per_ip,
            self.usvc_limit_code_checks_per_account => c.limits.code_checks_per_account,
            self.usvc_limit_reauth_per_session => c.limits.reauth_per_session,
            self.usvc_limit_ipv6_prefix => c.limits.ipv6_prefix,
            self.usvc_login_delay_after_failures => c.limits.failures_before_delay,
            self.usvc_login_delay_ms => c.limits.failure_delay,
            self.usvc_login_max_delay_ms => c.limits.max_failure_delay,
            self.usvc_lockout_after_failures => c.limits.failures_before_lockout,
            self.usvc_lockout_secs => c.limits.lockout,
        }
        // Unset by default.
        c.metrics_addr = self.usvc_metrics_addr;
        c.tokens.signing_key_pem = self.usvc_jwt_signing_key;
        c.redis_url = self.redis_url;
        c.amqp_url = self.amqp_url;
        c.secrets_key = self.usvc_secrets_key;
        c.clients.kyc_url = self.usvc_kyc_grpc_url;
        c.clients.notification_url = self.usvc_notification_grpc_url;
        c.clients.audit_url = self.usvc_audit_grpc_url;
        c.public_url = self.usvc_public_url;
        c.sentry = self.usvc_sentry_dsn.flatten().map(|dsn| SentrySettings {
            dsn,
            environment: self
                .usvc_sentry_environment
                .filter(|environment| !environment.is_empty())
                .unwrap_or_else(|| {
                    match c.mode {
                        Mode::Development => "development",
                        Mode::Production => "production",
                    }
                    .to_owned()
                }),
        });
        for (kind, own) in self.per_kind {
            let limits = c.runtime.per_kind.entry(kind).or_default();
            limits.deadline = own.deadline_ms.or(limits.deadline);
            limits.memory_bytes = own.memory_mib.map(mib).or(limits.memory_bytes);
            limits.instances = own.instances.or(limits.instances);
        }
        for (kind, settings) in self.component_settings {
            let defaults = c.component_settings.entry(kind).or_default();
            defaults.extend(settings);
        }
        let s3_secret = self.usvc_s3_secret_access_key;
        if self.usvc_s3_endpoint.is_some()
            || self.usvc_s3_region.is_some()
            || self.usvc_s3_bucket.is_some()
            || self.usvc_s3_access_key_id.is_some()
            || s3_secret.is_some()
        {
            c.documents.s3 = Some(S3Settings {
                endpoint: self.usvc_s3_endpoint,
                region: self
                    .usvc_s3_region
                    .unwrap_or_else(|| "us-east-1".to_owned()),
                bucket: self.usvc_s3_bucket.unwrap_or_default(),
                access_key_id: self.usvc_s3_access_key_id.unwrap_or_default(),
                secret_access_key: s3_secret
                    .map_or_else(String::new, |secret| secret.expose_secret().to_owned()),
            });
        }

        #[rustfmt::skip]
        let bounds = [
            ("USVC_KYC_MAX_ATTEMPTS", c.kyc_results.max_attempts >= 1, "at least one attempt"),
            ("USVC_KYC_PREFETCH", c.kyc_results.prefetch >= 1, "at least one message"),
            ("USVC_CLIENT_DEADLINE_MS", !c.clients.policy.deadline.is_zero(), "at least one millisecond"),
            ("USVC_DOCUMENT_UPLOAD_TTL_SECS", !c.documents.upload_ttl.is_zero(), "at least one second"),
            ("USVC_DOCUMENT_DOWNLOAD_TTL_SECS", !c.documents.download_ttl.is_zero(), "at least one second"),
            ("USVC_DOCUMENT_MAX_BYTES", c.documents.max_bytes > 0, "at least one byte"),
            ("USVC_LIMIT_IPV6_PREFIX", (1..=128).contains(&c.limits.ipv6_prefix), "a prefix length is 1 to 128"),
            ("USVC_FORWARDED_FOR_HOPS", c.forwarded_for_hops >= 1, "at least one proxy"),
        ];
        for (name, within, bound) in bounds {
            ensure!(within, "invalid {name}: {bound}");
        }
        let production = c.mode == Mode::Production;
        if production && c.tokens.signing_key_pem.is_none() {
            bail!("USVC_JWT_SIGNING_KEY is required in production mode");
        }
        if production && c.secrets_key.is_none() {
            bail!("USVC_SECRETS_KEY is required in production mode");
        }
        if production && c.clients.kyc_url.is_none() && !c.clients.unsafe_sandbox_kyc {
            bail!(
                "USVC_KYC_GRPC_URL is required in production mode: without it identity checks run against the sandbox, which approves everyone (set USVC_UNSAFE_SANDBOX_KYC=true to run a production-mode sandbox on purpose)"
            );
        }
        if production && c.consumes_kyc_results() && c.kyc_result_keys.is_empty() {
            bail!(
                "USVC_KYC_RESULT_KEYS is required in production mode when KYC results are consumed (AMQP_URL): unsigned results would set any customer's outcome"
            );
        }
        if let Some(unknown) = c
            .grpc_grants
            .keys()
            .find(|name| !c.grpc_callers.contains_key(*name))
        {
            bail!("USVC_GRPC_GRANTS names {unknown:?}, which USVC_GRPC_CALLERS does not");
        }
        if let Some(s3) = &c.documents.s3 {
            for (name, value) in [
                ("USVC_S3_BUCKET", &s3.bucket),
                ("USVC_S3_ACCESS_KEY_ID", &s3.access_key_id),
                ("USVC_S3_SECRET_ACCESS_KEY", &s3.secret_access_key),
            ] {
                ensure!(
                    !value.is_empty(),
                    "{name} is required when any USVC_S3_* setting is given"
                );
            }
        }
        Ok(c)
    }
}

/// `vars`, named without `prefix`, into a `T`; a value that does not parse is refused naming its
/// variable. They are held as a JSON object of strings, which serde reads as it reads any map
/// (an `Option` field given is `Some`).
fn deserialize<T: DeserializeOwned>(prefix: &str, vars: Map<String, Value>) -> anyhow::Result<T> {
    serde_path_to_error::deserialize(Value::Object(vars))
        .map_err(|error| anyhow!("invalid {prefix}{}: {}", error.path(), error.inner()))
}

/// The prefix of a kind's own limits, `USVC_MFA_` for `USVC_MFA_INSTANCES`.
fn kind_prefix(kind: ComponentKind) -> String {
    format!("USVC_{}_", kind.name().to_ascii_uppercase())
}

/// A kind's own limit, `USVC_<KIND>_<FIELD>` with a field of [`KindEnvironment`]: the kind and
/// the field's name.
fn kind_limit(key: &str) -> Option<(ComponentKind, &str)> {
    ComponentKind::ALL.into_iter().find_map(|kind| {
        let limit = key.strip_prefix(&kind_prefix(kind))?;
        serde_introspect::<KindEnvironment>()
            .contains(&limit)
            .then_some((kind, limit))
    })
}

/// Every variable read by its exact name: the fields of [`Environment`], and each kind's
/// [`KindEnvironment`].
fn settings() -> impl Iterator<Item = String> {
    let per_kind = ComponentKind::ALL.into_iter().flat_map(|kind| {
        let prefix = kind_prefix(kind);
        serde_introspect::<KindEnvironment>()
            .iter()
            .map(move |limit| format!("{prefix}{limit}"))
    });
    serde_introspect::<Environment>()
        .iter()
        .map(|name| (*name).to_owned())
        .chain(per_kind)
}

/// The known setting closest to a misspelt `key`, when one is close enough to be meant.
fn closest_setting(key: &str) -> Option<String> {
    settings()
        .map(|name| (strsim::levenshtein(key, &name), name))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// A value in a syntax of its own, parsed by the layer that owns its type.
trait ParseText: Sized {
    fn parse_text(text: &str) -> anyhow::Result<Self>;
}

/// A [`ParseText`] value (`#[serde(deserialize_with = "parsed")]`).
fn parsed<'de, D: Deserializer<'de>, T: ParseText>(deserializer: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(deserializer)?;
    T::parse_text(&text)
        .map(Some)
        .map_err(|error| D::Error::custom(format!("{error:#}")))
}

impl ParseText for Mode {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        match text {
            "development" | "dev" => Ok(Mode::Development),
            "production" | "prod" => Ok(Mode::Production),
            _ => bail!("expected `development` or `production`"),
        }
    }
}

/// `USVC_GRPC_CALLERS`.
impl ParseText for BTreeMap<String, [u8; 32]> {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        parse_callers(text)
    }
}

/// `USVC_GRPC_GRANTS`.
impl ParseText for BTreeMap<String, Grants> {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        parse_grants(text)
    }
}

impl ParseText for Signers {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        Signers::parse(text)
    }
}

impl ParseText for ProviderKeys {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        ProviderKeys::parse(text)
    }
}

/// `USVC_SENTRY_DSN`: empty is unset. A DSN that does not parse is refused without quoting it (its
/// key is not for the log).
impl ParseText for Option<sentry::types::Dsn> {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        if text.is_empty() {
            return Ok(None);
        }
        let dsn: sentry::types::Dsn = text.parse().map_err(|error| {
            anyhow!("not a Sentry DSN ({error}); expected https://<key>@<host>/<project id>")
        })?;
        Ok(Some(dsn))
    }
}

/// Standard base64; a decoding error is not shown, as it would quote the key.
impl ParseText for SecretBox<SealingKey> {
    fn parse_text(text: &str) -> anyhow::Result<Self> {
        use base64::{Engine, engine::general_purpose::STANDARD};
        let key = STANDARD.decode(text).map_err(|_| {
            anyhow!("expected 32 bytes in standard base64 (`openssl rand -base64 32`)")
        })?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| anyhow!("expected 32 bytes (`openssl rand -base64 32`)"))?;
        Ok(SecretBox::new(Box::new(SealingKey(key))))
    }
}

/// An endpoint (gRPC, S3, this host's public address): an absolute `http://` or `https://` URL
/// with a host. Empty means unset.
fn endpoint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(deserializer)?;
    if value.is_empty() {
        return Ok(None);
    }
    let uri: tonic::transport::Uri = value
        .parse()
        .map_err(|error| D::Error::custom(format!("not a URL: {error}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(D::Error::custom(
            "expected an http:// or https:// URL with a host, e.g. http://kyc.bank.internal:50051",
        ));
    }
    Ok(Some(value))
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
        // The settings are the fields of `Environment` and, for each kind, of `KindEnvironment`.
        let read: Vec<String> = settings().collect();
        for name in ["DATABASE_URL", "USVC_HTTP_ADDR", "USVC_MFA_INSTANCES"] {
            assert!(read.iter().any(|read| read == name), "{name}");
        }
        for name in &read {
            assert_eq!(closest_setting(name).as_ref(), Some(name));
            if let Err(error) = Config::from_vars(vars(&[(name, "")])) {
                let error = format!("{error:#}");
                assert!(!error.contains("unknown setting"), "{name}: {error}");
                // Each field is read from text, whatever its type.
                assert!(!error.contains("invalid type"), "{name}: {error}");
            }
        }
    }

    #[test]
    fn every_documented_setting_is_read() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // Every Markdown file under docs/ (its folders too), and the README.
        let mut docs = vec![root.join("README.md")];
        let mut folders = vec![root.join("docs")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "md") {
                    docs.push(path);
                }
            }
        }
        let mut documented = 0;
        for path in docs {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("USVC_") {
                let name = &text[at..];
                let end = name
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(name.len());
                let name = &name[..end];
                // A family (`USVC_S3_*`), or the README's example of a misspelt name.
                if name.ends_with('_') || name == "USVC_GRPC_GRANT" {
                    continue;
                }
                documented += 1;
                if let Err(error) = Config::from_vars(vars(&[(name, "")])) {
                    let error = format!("{error:#}");
                    assert!(!error.contains("unknown setting"), "{path:?}: {error}");
                }
            }
        }
        assert!(documented > 70, "{documented}");
    }

    /// `.env.example` names every variable the service reads, and no other; its values parse.
    #[test]
    fn the_example_environment_is_the_configuration() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join(".env.example")).unwrap();
        let example: Vec<(String, String)> = text
            .lines()
            .filter_map(|line| line.trim_start_matches('#').trim().split_once('='))
            .filter(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(|(name, value)| {
                let value = value.split(" #").next().unwrap_or_default().trim();
                (name.to_owned(), value.to_owned())
            })
            .collect();
        let named: std::collections::BTreeSet<&str> =
            example.iter().map(|(name, _)| name.as_str()).collect();
        for setting in serde_introspect::<Environment>() {
            assert!(
                named.contains(setting),
                "{setting} is missing from .env.example"
            );
        }
        for name in &named {
            let known = serde_introspect::<Environment>().contains(name)
                || READ_ELSEWHERE.contains(name)
                || name.starts_with("USVC_COMPONENT_") && name.contains("__");
            assert!(known, ".env.example names {name}, which nothing reads");
        }
        let given = example.into_iter().filter(|(_, value)| !value.is_empty());
        let config = Config::from_vars(given.collect::<Vec<_>>()).unwrap();
        assert_eq!(config.mode, Mode::Development);
        assert_eq!(config.limits.lockout, Duration::from_secs(900));
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
    fn sentry_is_off_unless_a_dsn_is_given_and_a_bad_one_stops_start_up() {
        assert!(Config::from_vars(vars(&[])).unwrap().sentry.is_none());
        let config = Config::from_vars(vars(&[("USVC_SENTRY_DSN", "")])).unwrap();
        assert!(config.sentry.is_none());
        let dsn = "https://0123456789abcdef@sentry.bank.internal/42";
        let config = Config::from_vars(vars(&[("USVC_SENTRY_DSN", dsn)])).unwrap();
        let sentry = config.sentry.as_ref().unwrap();
        assert_eq!(sentry.dsn.project_id().value(), "42");
        assert_eq!(sentry.environment, "development");
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
        let config = Config::from_vars(vars(&[
            ("USVC_SENTRY_DSN", dsn),
            ("USVC_SENTRY_ENVIRONMENT", "staging"),
        ]))
        .unwrap();
        assert_eq!(config.sentry.unwrap().environment, "staging");
        let error = Config::from_vars(vars(&[("USVC_SENTRY_DSN", "sentry.bank.internal/s3cr3t")]))
            .unwrap_err();
        let error = format!("{error:#}");
        assert!(
            error.starts_with("invalid USVC_SENTRY_DSN: not a Sentry DSN"),
            "{error}"
        );
        assert!(!error.contains("s3cr3t"), "{error}");
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
    fn an_unparsable_value_names_its_variable_and_why() {
        let error = |key: &str, value: &str| {
            let error = Config::from_vars(vars(&[(key, value)])).unwrap_err();
            format!("{error:#}")
        };
        assert_eq!(
            error("USVC_HTTP_ADDR", "nonsense"),
            "invalid USVC_HTTP_ADDR: invalid socket address syntax"
        );
        for (key, value, why) in [
            ("USVC_MAX_BODY_BYTES", "lots", "invalid digit"),
            ("USVC_LOCKOUT_SECS", "-1", "negative"),
            ("USVC_TRUST_FORWARDED_FOR", "yes", "`true` or `false`"),
            ("USVC_LIMIT_RESET_PER_IP", "5", "attempts/seconds"),
            ("USVC_MODE", "staging", "`development` or `production`"),
            ("USVC_MFA_DEADLINE_MS", "soon", "invalid digit"),
            ("USVC_GRPC_GRANTS", "ledger", "caller=<grant>"),
            ("USVC_PUBLIC_URL", "usvc.bank", "http:// or https://"),
        ] {
            let error = error(key, value);
            assert!(error.starts_with(&format!("invalid {key}: ")), "{error}");
            assert!(error.contains(why), "{error}");
        }
        // A secret that does not parse is not quoted.
        let error = error("USVC_SECRETS_KEY", "s3cr3t-k3y!");
        assert!(!error.contains("s3cr3t"), "{error}");
        // Values are trimmed; an empty address or URL is unset.
        let config = Config::from_vars(vars(&[
            ("USVC_MAX_BODY_BYTES", " 1024\n"),
            ("USVC_METRICS_ADDR", " "),
            ("REDIS_URL", ""),
        ]))
        .unwrap();
        assert_eq!(config.max_body_bytes, 1024);
        assert_eq!((config.metrics_addr, config.redis_url), (None, None));
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
