//! Test support: start the real usvc application on a random port against a fresh SQLite file
//! or a fresh PostgreSQL database, and talk to it over HTTP. `bank` has test servers of the
//! bank's services usvc calls over gRPC; `swap` drives traffic while component versions swap.

pub mod bank;
pub mod process;
pub mod s3;
pub mod swap;
pub mod verification;

use std::{path::PathBuf, sync::Arc};

use serde_json::Value;
use sqlx::Executor;
use usvc::{
    app::Application,
    clock::{Clock, SystemClock},
    config::{
        ClientPolicy, Config, DocumentSettings, KindLimits, Limits, Mode, PasswordHashing,
        Subscription,
    },
    runtime::ComponentKind,
    store::{self, Database, outbox, users},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on (an administrative connection).
pub fn postgres_admin_url() -> String {
    std::env::var("USVC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The Redis server tests share, each under a key prefix of its own.
pub fn redis_url() -> String {
    std::env::var("USVC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The RabbitMQ tests publish to, each on an exchange of its own.
pub fn amqp_url() -> String {
    std::env::var("USVC_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Where `make components` puts the compiled components.
pub fn components_dir() -> PathBuf {
    std::env::var_os("USVC_COMPONENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/components"))
}

/// A database that exists for one test and is removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    backend: Backend,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
            Backend::Postgres => {
                // Drop runs inside the test's runtime, so the removal gets a runtime of its own.
                let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async {
                        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(
                            &postgres_admin_url(),
                        )
                        .await?;
                        conn.execute(statement.as_str()).await?;
                        Ok::<_, anyhow::Error>(())
                    })
                })
                .join();
            }
        }
    }
}

/// A fresh, empty database for one test.
pub async fn fresh_database(backend: Backend) -> TestDatabase {
    let name = format!("usvc_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("usvc-tests");
            std::fs::create_dir_all(&dir).expect("creating the test folder");
            let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
            TestDatabase { url, backend, name }
        }
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let admin = postgres_admin_url();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed by this test: {e}"));
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("creating a test database");
            let base = admin
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin);
            TestDatabase {
                url: format!("{base}/{name}"),
                backend,
                name,
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// The gRPC API's address, `http://127.0.0.1:port`.
    pub grpc: String,
    /// The internal `/metrics` address's base URL, when it has one.
    pub metrics: Option<String>,
    pub http: reqwest::Client,
    pub db: Database,
    pub app_events: usvc::events::EventBus,
    pub database_url: String,
    /// Sending (or dropping) it shuts the app down gracefully (see [`TestApp::shut_down`]);
    /// dropping the `TestApp` stops it at once.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The database this app created and removes; `None` for an app sharing another's.
    _database: Option<TestDatabase>,
    /// The embedded object store's folder, removed with the app.
    objects_dir: Option<PathBuf>,
}

/// Options for [`spawn_with`].
pub struct Spawn {
    pub backend: Backend,
    pub components_dir: PathBuf,
    pub mode: Mode,
    pub call_deadline_ms: u64,
    pub max_body_bytes: usize,
    pub password_hashing: PasswordHashing,
    /// Where limits, lockouts and revocations live: Redis (at this URL) or memory.
    pub redis_url: Option<String>,
    pub limits: Limits,
    /// The token signing key (PKCS#8 PEM); a fixed one in production mode when `None`.
    pub signing_key_pem: Option<String>,
    /// Another app's database to share (a second replica), instead of a fresh one.
    pub database_url: Option<String>,
    /// RabbitMQ and the exchange events go to; the in-process bus only when `None`.
    pub amqp: Option<(String, String)>,
    /// Services trusted to call the gRPC API: name → seed of their key (see [`caller_token`]).
    pub grpc_callers: Vec<(String, u8)>,
    /// What they may call (`USVC_GRPC_GRANTS`): by default the gateway everything.
    pub grpc_grants: String,
    /// Where the KYC results consumer reads (with `amqp`); no consumer when `None`.
    pub kyc_results: Option<Subscription>,
    /// Serve `/metrics` on an internal address of its own (a free loopback port).
    pub separate_metrics: bool,
    /// Trusted proxies appending to `X-Forwarded-For` (1: the last entry is the client).
    pub forwarded_for_hops: usize,
    /// The providers' keys results must be signed with (`provider=<base64>,…`); unsigned results
    /// are accepted when empty.
    pub kyc_result_keys: String,
    /// The bank's KYC, notification and audit services (`http://…`); embedded defaults when
    /// `None`.
    pub kyc_url: Option<String>,
    pub notification_url: Option<String>,
    pub audit_url: Option<String>,
    /// Deadline, retries and breaker of the calls to them.
    pub client_policy: ClientPolicy,
    /// `wasi:config` settings by component kind, over the embedded defaults.
    pub component_settings: Vec<(&'static str, &'static str, &'static str)>,
    /// The service's clock (a `FixedClock` a test moves); the system clock when `None`.
    pub clock: Option<Arc<dyn Clock>>,
    /// Where documents go: a fresh folder of this app's own, unless S3 is set.
    pub documents: DocumentSettings,
    /// Who may sign components (`USVC_COMPONENT_SIGNERS`), and the largest artifact accepted.
    pub component_signers: String,
    pub component_max_bytes: Option<usize>,
    /// A kind's own deadline, memory cap and instance count, over the runtime's.
    pub kind_limits: Vec<(ComponentKind, KindLimits)>,
    /// What a component call may leave in the log and the `kv` store.
    pub sandbox: usvc::config::SandboxBounds,
}

impl Spawn {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            components_dir: components_dir(),
            mode: Mode::Development,
            call_deadline_ms: 3000,
            max_body_bytes: 64 * 1024,
            // Cheap hashing keeps the suite quick; the cost parameters are tested on their own.
            password_hashing: PasswordHashing {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
                max_concurrent: 4,
            },
            // The PostgreSQL runs use the shared Redis; the SQLite runs the in-memory fallback.
            redis_url: (backend == Backend::Postgres).then(redis_url),
            limits: Limits::default(),
            signing_key_pem: None,
            database_url: None,
            amqp: None,
            grpc_callers: vec![(GATEWAY.to_owned(), GATEWAY_SEED)],
            grpc_grants: format!(
                "{GATEWAY}=AuthService/*,UserService/*,ProfileService/*,personal-data"
            ),
            kyc_results: None,
            separate_metrics: false,
            forwarded_for_hops: 1,
            kyc_result_keys: String::new(),
            kyc_url: None,
            notification_url: None,
            audit_url: None,
            client_policy: ClientPolicy::default(),
            component_settings: Vec::new(),
            clock: None,
            documents: DocumentSettings {
                objects_dir: std::env::temp_dir()
                    .join("usvc-tests")
                    .join(format!("objects-{}", uuid::Uuid::new_v4().simple())),
                ..DocumentSettings::default()
            },
            component_signers: String::new(),
            component_max_bytes: None,
            kind_limits: Vec::new(),
            sandbox: usvc::config::SandboxBounds::default(),
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(Spawn::new(backend)).await
}

pub async fn spawn_with(options: Spawn) -> TestApp {
    let database = match options.database_url {
        Some(_) => None,
        None => Some(fresh_database(options.backend).await),
    };
    let url = options
        .database_url
        .clone()
        .or_else(|| database.as_ref().map(|d| d.url.clone()))
        .expect("a database");
    let mut config = Config::embedded();
    config.mode = options.mode;
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    config.grpc_addr = "127.0.0.1:0".parse().unwrap();
    config.metrics_addr = options
        .separate_metrics
        .then(|| "127.0.0.1:0".parse().unwrap());
    config.grpc_callers = options
        .grpc_callers
        .iter()
        .map(|(name, seed)| (name.clone(), caller_key(*seed).verifying_key().to_bytes()))
        .collect();
    config.grpc_grants =
        usvc::grpc::callers::parse_grants(&options.grpc_grants).expect("gRPC grants");
    config
        .grpc_grants
        .retain(|name, _| config.grpc_callers.contains_key(name));
    config.database_url = url.clone();
    config.components_dir = options.components_dir;
    config.runtime.call_deadline = std::time::Duration::from_millis(options.call_deadline_ms);
    config.max_body_bytes = options.max_body_bytes;
    config.password_hashing = options.password_hashing;
    config.redis_url = options.redis_url;
    config.redis_prefix = format!("usvc-test:{}:", uuid::Uuid::new_v4().simple());
    config.limits = options.limits;
    // Tests speak for many clients by setting `X-Forwarded-For`.
    config.trust_forwarded_for = true;
    config.forwarded_for_hops = options.forwarded_for_hops;
    config.tokens.signing_key_pem = options.signing_key_pem.map(Into::into);
    if let Some((url, exchange)) = options.amqp {
        config.amqp_url = Some(url);
        config.amqp_exchange = exchange;
    }
    // An empty queue name turns the consumer off: tests that want it name their own queue.
    config.kyc_results = options.kyc_results.unwrap_or(Subscription {
        queue: String::new(),
        ..Subscription::kyc_results()
    });
    config.kyc_result_keys = usvc::kyc::signature::ProviderKeys::parse(&options.kyc_result_keys)
        .expect("KYC result keys");
    config.clients.kyc_url = options.kyc_url;
    config.clients.notification_url = options.notification_url;
    config.clients.audit_url = options.audit_url;
    config.clients.policy = options.client_policy;
    for (kind, key, value) in options.component_settings {
        config
            .component_settings
            .entry(kind.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
    }
    config.component_signers = usvc::runtime::artifact::Signers::parse(&options.component_signers)
        .expect("component signers");
    if let Some(max) = options.component_max_bytes {
        config.component_max_bytes = max;
    }
    config.runtime.per_kind.extend(options.kind_limits);
    config.runtime.sandbox = options.sandbox;
    let objects_dir =
        (options.documents.s3.is_none()).then(|| options.documents.objects_dir.clone());
    config.documents = options.documents;
    if options.mode == Mode::Production && config.tokens.signing_key_pem.is_none() {
        config.tokens.signing_key_pem = Some(signing_key_pem(7).into());
    }
    let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let app = Application::build_with_clock(config, clock)
        .await
        .expect("the application builds");
    let base = format!("http://{}", app.local_addr());
    let grpc = format!("http://{}", app.grpc_addr());
    let metrics = app.metrics_addr().map(|addr| format!("http://{addr}"));
    let app_events = app.events.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let db = store::connect(&url, 2)
        .await
        .expect("a second connection to the test database");
    TestApp {
        base,
        grpc,
        metrics,
        // No pooled connections: a response sent before its request body was read (a 401 to an
        // upload, say) closes the connection, and reusing it could race that close.
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client"),
        db,
        app_events,
        database_url: url,
        stop: Some(stop),
        serving: Some(serving),
        _database: database,
        objects_dir,
    }
}

/// The code an authenticator app shows `steps` time steps from now for a base32 secret.
pub fn totp_code(secret: &str, steps: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("a base32 secret"))
        .build()
        .expect("RFC 6238 parameters")
        .generate((now + steps * 30) as u64)
        .to_string()
}

/// The claims of a JWT, read without verifying it (the test knows where it came from).
pub fn claims_of(token: &str) -> Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&claims).expect("JSON claims")
}

/// The calling service every test app trusts by default.
pub const GATEWAY: &str = "gateway";
pub const GATEWAY_SEED: u8 = 42;

fn caller_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// The public key of the caller whose key is made of `seed` bytes, as `USVC_GRPC_CALLERS` takes it.
pub fn caller_public_key(seed: u8) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        caller_key(seed).verifying_key().to_bytes(),
    )
}

/// A caller token for the gRPC API: a JWT signed with the key made of `seed` bytes, naming
/// `name`, valid for `ttl_secs` from now.
pub fn caller_token(name: &str, seed: u8, ttl_secs: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    caller_token_with(
        name,
        seed,
        serde_json::json!({ "iat": now, "exp": now + ttl_secs }),
    )
}

/// A caller token for `name` with `times` (`iat`, `exp`, perhaps `nbf`) as given.
pub fn caller_token_with(name: &str, seed: u8, times: Value) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let der = caller_key(seed).to_pkcs8_der().expect("encoding");
    let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(name.to_owned());
    let mut claims = serde_json::json!({ "iss": name, "aud": "usvc-grpc" });
    for (k, v) in times.as_object().expect("times") {
        claims[k] = v.clone();
    }
    jsonwebtoken::encode(&header, &claims, &key).expect("signing")
}

/// A fixed Ed25519 key made of `seed` bytes, as PKCS#8 PEM.
pub fn signing_key_pem(seed: u8) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    key.to_pkcs8_pem(Default::default())
        .expect("encoding")
        .to_string()
}

/// An access token with `claims`, signed as the service would with the key
/// [`signing_key_pem`]`(seed)` (for apps spawned with that key): the way to show what a route
/// does with claims no real login would produce.
pub fn sign_access_token(claims: &Value, seed: u8) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use sha2::Digest;
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let der = key.to_pkcs8_der().expect("encoding");
    let encoding = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    let public = key.verifying_key().to_bytes();
    header.kid = Some(hex::encode(&sha2::Sha256::digest(public)[..8]));
    jsonwebtoken::encode(&header, claims, &encoding).expect("signing")
}

/// A response's status, content type and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// The `Cache-Control` header.
    pub cache_control: Option<String>,
}

impl Drop for TestApp {
    /// Stops the app, its relay and its consumers (which would otherwise outlive the test's
    /// clean-up, e.g. declare its broker queues again).
    fn drop(&mut self) {
        if let Some(serving) = &self.serving {
            serving.abort();
        }
        if let Some(dir) = &self.objects_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl TestApp {
    /// Stops the app as SIGTERM would (requests in flight finish; the relay and consumers stop)
    /// and waits until it has.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), serving)
                .await
                .expect("the app stops within 10 s")
                .expect("the app task")
                .expect("the app served without error");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// A POST from the client at `ip` (through the trusted `X-Forwarded-For`).
    pub async fn post_from(&self, ip: &str, path: &str, body: Value) -> Reply {
        let request = self
            .http
            .post(self.url(path))
            .header("x-forwarded-for", ip)
            .json(&body);
        Reply::read(request.send().await.expect("request")).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        Reply::read(request.send().await.expect("request")).await
    }

    /// Any method, an optional bearer token and an optional JSON body.
    pub async fn request_json(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("request")).await
    }

    /// Messages in the development mailbox for `to`.
    pub async fn mailbox(&self, to: &str) -> Vec<Value> {
        let reply = self.get(&format!("/dev/mailbox?to={to}"), None).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body.as_array().expect("a list").clone()
    }

    /// The latest message of `notice` sent to `to`, waiting up to two seconds for one that is
    /// delivered after the answer.
    pub async fn notice(&self, to: &str, notice: &str) -> Value {
        let encoded = to.replace('+', "%2B");
        for _ in 0..100 {
            let sent = self.mailbox(&encoded).await;
            if let Some(message) = sent.iter().rev().find(|m| m["notice"] == notice) {
                return message.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no {notice} was sent to {to}")
    }

    /// The latest verification code sent to `to`.
    pub async fn verification_code(&self, to: &str) -> String {
        self.mailbox(to)
            .await
            .iter()
            .rev()
            .find(|m| m["notice"] == "email_verification")
            .and_then(|m| m["code"].as_str())
            .unwrap_or_else(|| panic!("no verification code was sent to {to}"))
            .to_owned()
    }

    pub async fn users(&self) -> Vec<users::User> {
        users::list(&mut self.db.acquire().await.unwrap())
            .await
            .unwrap()
    }

    pub async fn events(&self) -> Vec<outbox::Event> {
        outbox::all(&mut self.db.acquire().await.unwrap())
            .await
            .unwrap()
    }

    /// The audit trail of one customer, oldest first.
    pub async fn audit(&self, user_id: &str) -> Vec<usvc::store::audit::AuditEvent> {
        let mut conn = self.db.acquire().await.unwrap();
        usvc::store::audit::for_user(&mut conn, user_id)
            .await
            .unwrap()
    }

    /// The id of the customer with `email`.
    pub async fn user_id(&self, email: &str) -> String {
        self.users()
            .await
            .into_iter()
            .find(|u| u.email == email)
            .unwrap_or_else(|| panic!("no customer {email}"))
            .id
    }

    /// Logs in to `email` with a wrong `password`, expecting a 401, and waits for the failure's
    /// record, which the service writes just after its answer (`auth.login_failed`).
    pub async fn wrong_password(&self, email: &str, password: &str) {
        let user = self.user_id(email).await;
        let before = self.audit_count(&user, "auth.login_failed").await;
        let body = serde_json::json!({"email": email, "password": password});
        self.post("/v1/auth/login", body)
            .await
            .assert_problem(401, "/problems/unauthorized");
        bank::eventually(
            "the failed login's record",
            std::time::Duration::from_secs(10),
            || {
                let user = user.clone();
                async move { self.audit_count(&user, "auth.login_failed").await > before }
            },
        )
        .await;
    }

    /// How many `event_type` entries the audit trail of `user_id` holds.
    pub async fn audit_count(&self, user_id: &str, event_type: &str) -> usize {
        self.audit(user_id)
            .await
            .iter()
            .filter(|e| e.event_type == event_type)
            .count()
    }

    /// The session id inside a login or refresh body's access token.
    pub fn get_session_id(&self, tokens: &Value) -> String {
        let token = tokens["access_token"].as_str().expect("an access token");
        claims_of(token)["sid"]
            .as_str()
            .expect("a sid claim")
            .to_owned()
    }

    /// Logs in an already confirmed customer; returns the access token.
    pub async fn onboarded_login(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let reply = self.post("/v1/auth/login", body).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Makes the onboarded customer `email` an administrator, as an operator would: an
    /// authenticator app enrolled with the session `access` (staff must have a second factor),
    /// the `admin` role granted, then a login completed with a TOTP code. Returns that login's
    /// access token, which carries the role.
    pub async fn make_admin(&self, email: &str, password: &str, access: &str) -> String {
        self.make_staff(email, password, access, "admin").await
    }

    /// Sends a bare component (`application/wasm`, development mode) to an admin route
    /// (`/v1/admin/components?kind=`, `…/trial?mode=`, `…/replay`) with `token`.
    pub async fn upload_component(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        wasm: Vec<u8>,
    ) -> Reply {
        let request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/wasm")
            .body(wasm);
        Reply::read(request.send().await.expect("request")).await
    }

    /// Enrols an authenticator app for the holder of `access` and confirms it with the current
    /// step's code (so the next login's code is the next step's); the base32 secret.
    pub async fn enrol_totp(&self, access: &str) -> String {
        let started = self
            .request_json(reqwest::Method::POST, "/v1/mfa/totp", Some(access), None)
            .await;
        assert_eq!(started.status, 201, "{:?}", started.body);
        let secret = started.body["secret"]
            .as_str()
            .expect("a secret")
            .to_owned();
        let factor = started.body["factor_id"]
            .as_str()
            .expect("a factor")
            .to_owned();
        let confirm = format!("/v1/mfa/totp/{factor}/confirm");
        let body = serde_json::json!({ "code": totp_code(&secret, 0) });
        let done = self
            .request_json(reqwest::Method::POST, &confirm, Some(access), Some(body))
            .await;
        assert_eq!(done.status, 200, "{:?}", done.body);
        secret
    }

    /// As [`TestApp::make_admin`], for any staff role (`admin`, `compliance`, `support`).
    pub async fn make_staff(
        &self,
        email: &str,
        password: &str,
        access: &str,
        role: &str,
    ) -> String {
        let secret = self.enrol_totp(access).await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        usvc::admin::grant_role(&self.db, email, role, now)
            .await
            .expect("granting the role");
        let body = serde_json::json!({"email": email, "password": password});
        let login = self.post("/v1/auth/login", body).await;
        assert_eq!(login.body["mfa_required"], true, "{:?}", login.body);
        // The confirmation spent this step's code; the next step's is accepted (skew of one).
        let body = serde_json::json!({
            "challenge_token": login.body["challenge_token"],
            "method": "totp",
            "code": totp_code(&secret, 1),
        });
        let tokens = self.post("/v1/auth/mfa/verify", body).await;
        assert_eq!(tokens.status, 200, "{:?}", tokens.body);
        tokens.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// The sum of the Prometheus counter `name` over the samples carrying every label in
    /// `labels` (`kind="mfa"`). The recorder is shared by every app of a test process:
    /// compare a value with an earlier one.
    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = self.get("/metrics", None).await.body;
        let text = text.as_str().expect("the exposition is text");
        metric_in(text, name, labels)
    }

    /// Registers, confirms and logs in `email`; returns the access token.
    pub async fn onboarded_customer(&self, email: &str, password: &str) -> String {
        let reply = self
            .post("/v1/auth/register", application(email, password))
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        let code = self.verification_code(email).await;
        let reply = self
            .post(
                "/v1/auth/verify-email",
                serde_json::json!({"email": email, "code": code}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let reply = self
            .post(
                "/v1/auth/login",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ASCII").parse().expect("whole seconds"));
        let cache_control = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().expect("ASCII").to_owned());
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            content_type,
            body,
            retry_after,
            cache_control,
        }
    }

    /// Asserts this is an RFC 9457 problem with `status` and `type`.
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{:?}",
            self.body
        );
        assert_eq!(self.body["type"], kind, "{:?}", self.body);
        assert_eq!(self.body["status"], status, "{:?}", self.body);
        assert!(self.body["title"].is_string(), "{:?}", self.body);
    }

    /// The violation codes of a validation problem, sorted.
    pub fn violation_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self.body["violations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|v| v["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        codes.sort();
        codes
    }
}

/// A compiled component from `make components`.
pub fn built(name: &str) -> Vec<u8> {
    let path = components_dir().join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{} (run `make components`): {e}", path.display()))
}

/// `component` with a custom section named `tag` appended: a build that behaves the same but has
/// another digest (a second version to deploy, swap to and roll back to).
pub fn variant(component: &[u8], tag: &str) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut payload = Vec::new();
    leb128(tag.len(), &mut payload);
    payload.extend_from_slice(tag.as_bytes());
    let mut bytes = component.to_vec();
    // Section id 0 (custom), its size, then the name and no data.
    bytes.push(0);
    leb128(payload.len(), &mut bytes);
    bytes.extend(payload);
    bytes
}

/// The counter `name` in a Prometheus exposition, summed over the samples carrying every label
/// in `labels`.
pub fn metric_in(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A valid application for `email`.
pub fn application(email: &str, password: &str) -> Value {
    serde_json::json!({
        "email": email,
        "password": password,
        "legal_name": "Ada Lovelace",
        "date_of_birth": "1990-12-10",
        "country_of_residence": "GB",
        "phone": "+447700900123",
    })
}

/// Runs a test body once per backend: `backends!(name);` with `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Postgres).await })*
        }
    };
}

/// The `usvc` binary `cargo test --workspace` builds beside this test binary
/// (`target/<profile>/deps/<test>-…` → `target/<profile>/usvc`).
pub fn usvc_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("usvc");
    assert!(
        binary.exists(),
        "{} missing: `cargo test --workspace` builds it",
        binary.display()
    );
    binary
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
