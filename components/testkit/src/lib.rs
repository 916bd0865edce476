//! The component test kit: load a compiled component into the real usvc runtime, backed by an
//! in-memory SQLite database, a fixed clock and a recording notifier, then call its exports and
//! assert on what it decided, wrote, published and sent. One typed kit per kind
//! ([`OnboardingKit`], [`MfaKit`], [`VerificationKit`]) holds the calls of its world, each
//! returning the component's answer; what they share is on [`TestKit`].
//!
//! ```no_run
//! # async fn example() {
//! use usvc_testkit::OnboardingKit;
//! let kit = OnboardingKit::builder().today(2026, 6, 15).setting("allowed-countries", "GB").build().await;
//! // kit.register(application).await, kit.users().await, kit.events().await, kit.notices() ...
//! # }
//! ```

mod mfa;
mod onboarding;
mod verification;

pub use self::{mfa::MfaKit, onboarding::OnboardingKit, verification::VerificationKit};

use std::{
    marker::PhantomData,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use time::{Date, Month, OffsetDateTime, Time};
use usvc_runtime::{
    ComponentKind, Runtime,
    capabilities::Capabilities,
    clock::FixedClock,
    limits::{PasswordHashing, RuntimeLimits},
    notify::{Notification, Notifier},
    password::PasswordHasher,
};
use usvc_store::{self as store, credentials, outbox, users};

pub use usvc_runtime::mfa::{
    LoginContext, LoginRequirement, Method, OtpChannel, Proof, Sending, SensitiveAction,
    SessionProofs, TotpEnrolment, Verification,
};
pub use usvc_runtime::notify::{Channel, Notice};
pub use usvc_runtime::onboarding::{
    Application, Confirmation, DocumentDeclaration, PostalAddress, ProposedChange, Violation,
};
pub use usvc_runtime::verification::{
    Customer, Date as CalendarDate, DocumentFacts, DocumentKind, DocumentStatus, KycOutcome,
    KycResult, PolicyDecision, ProfileFacts, VerificationStatus,
};
pub use usvc_store::outbox::Event;
pub use usvc_store::users::{User, UserStatus};

/// A message the component caused to be sent (after its call committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotice {
    pub user_id: String,
    pub channel: Channel,
    /// The email address, or the phone number for SMS.
    pub to: String,
    pub notice: Notice,
    /// The plaintext one-time code, for email verification and second-factor code notices.
    pub code: Option<String>,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Notification>>);

#[async_trait::async_trait]
impl Notifier for Recorder {
    async fn deliver(&self, n: &Notification) -> anyhow::Result<()> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

/// The directory compiled components are read from: `USVC_COMPONENTS_DIR`, or the
/// `target/components` (where `make components` puts them) of the workspace of the crate under
/// test, which cargo names when it runs a test (`CARGO_MANIFEST_DIR`), else of the kit's own.
pub fn components_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("USVC_COMPONENTS_DIR") {
        return PathBuf::from(dir);
    }
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let is_workspace = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
    };
    let root = crate_dir
        .ancestors()
        .find(|dir| is_workspace(dir))
        .unwrap_or(&crate_dir);
    root.join("target/components")
}

/// A kind's kit: which kind it loads, its default settings, and how it wraps the shared kit.
pub trait Kit: Sized {
    const KIND: ComponentKind;

    /// The `wasi:config` settings every kit of this kind starts with.
    fn settings() -> Vec<(String, String)> {
        Vec::new()
    }

    fn from_kit(kit: TestKit) -> Self;
}

/// How a kit is set up: the day the clock shows, the component's settings, which file to load
/// and the sandbox's limits.
pub struct KitBuilder<K> {
    now: OffsetDateTime,
    settings: Vec<(String, String)>,
    component: Option<PathBuf>,
    deadline: Duration,
    memory_bytes: usize,
    kit: PhantomData<K>,
}

impl<K: Kit> KitBuilder<K> {
    fn new() -> Self {
        Self {
            now: Date::from_calendar_date(2026, Month::June, 15)
                .expect("valid date")
                .with_time(Time::MIDNIGHT + time::Duration::hours(12))
                .assume_utc(),
            settings: K::settings(),
            component: None,
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
            kit: PhantomData,
        }
    }

    /// Fixes the clock at noon UTC on that date (default: 2026-06-15).
    pub fn today(mut self, year: i32, month: u8, day: u8) -> Self {
        let month = Month::try_from(month).expect("a month between 1 and 12");
        let date = Date::from_calendar_date(year, month, day).expect("a real calendar date");
        self.now = date
            .with_time(Time::MIDNIGHT + time::Duration::hours(12))
            .assume_utc();
        self
    }

    /// A `wasi:config` setting for the component (replacing the default of the same key).
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The component file to load (default: `<kind>.wasm` in [`components_dir`]).
    pub fn component(mut self, path: impl AsRef<Path>) -> Self {
        self.component = Some(path.as_ref().to_owned());
        self
    }

    /// The call deadline (default 2 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The memory cap of one instance (default 64 MiB).
    pub fn memory_cap(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }

    pub async fn build(self) -> K {
        self.try_build()
            .await
            .unwrap_or_else(|e| panic!("test kit: {e:#}"))
    }

    pub async fn try_build(self) -> anyhow::Result<K> {
        let kind = K::KIND;
        let path = self
            .component
            .unwrap_or_else(|| components_dir().join(format!("{}.wasm", kind.name())));
        anyhow::ensure!(
            path.exists(),
            "{} does not exist: build the components first (`make components`)",
            path.display()
        );
        let limits = RuntimeLimits {
            call_deadline: self.deadline,
            memory_bytes: self.memory_bytes,
            max_concurrent_calls: 4,
            ..RuntimeLimits::default()
        };
        let runtime = Runtime::new(limits)?;
        runtime.registry().load_file(kind, &path)?;

        let db = store::connect("sqlite::memory:", 1).await?;
        let clock = FixedClock::at(self.now);
        let recorder = Arc::new(Recorder::default());
        let settings = [(kind.name().to_owned(), self.settings.into_iter().collect())]
            .into_iter()
            .collect();
        // Cheap Argon2id parameters: the kit tests decisions, not hashing cost.
        let hashing = PasswordHashing {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        };
        let caps = Arc::new(Capabilities::new(
            db,
            Arc::new(clock.clone()),
            PasswordHasher::new(&hashing)?,
            recorder.clone(),
            &settings,
        ));
        Ok(K::from_kit(TestKit {
            kind,
            runtime,
            caps,
            clock,
            recorder,
        }))
    }
}

/// What every kit has: the runtime with the component loaded, its capabilities over an
/// in-memory database, the fixed clock and the notices sent.
pub struct TestKit {
    kind: ComponentKind,
    runtime: Runtime,
    caps: Arc<Capabilities>,
    clock: FixedClock,
    recorder: Arc<Recorder>,
}

impl TestKit {
    /// Runs the component's exported self-test as a host does before deploying it: `Ok(true)`
    /// when it passed, `Ok(false)` when the component has none, `Err` with its reason.
    pub async fn self_test(&self) -> Result<bool, String> {
        let component = self
            .runtime
            .registry()
            .active(self.kind)
            .expect("the kit loaded a component");
        self.runtime.self_test(&self.caps, &component).await
    }

    /// Every customer, in creation order.
    pub async fn users(&self) -> Vec<User> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        users::list(&mut conn).await.expect("listing users")
    }

    /// Every committed event, oldest first.
    pub async fn events(&self) -> Vec<Event> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        outbox::all(&mut conn).await.expect("listing events")
    }

    /// Every notice delivered so far, oldest first.
    pub fn notices(&self) -> Vec<SentNotice> {
        self.recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|n| SentNotice {
                user_id: n.user_id.clone(),
                channel: n.channel,
                to: n.to.clone(),
                notice: n.notice,
                code: n.code.clone(),
            })
            .collect()
    }

    /// Whether `password` matches the customer's stored hash.
    pub async fn password_matches(&self, user_id: &str, password: &str) -> bool {
        let mut conn = self.caps.db.acquire().await.expect("database");
        let stored = credentials::password_hash(&mut conn, user_id)
            .await
            .expect("reading hash");
        drop(conn);
        self.caps
            .passwords
            .verify(password.to_owned(), stored)
            .await
            .expect("verifying")
    }

    /// Moves the fixed clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The fixed clock's time, in Unix seconds.
    pub fn now(&self) -> i64 {
        use usvc_runtime::clock::Clock;
        self.clock.unix()
    }

    /// The runtime with the component loaded, for calls the kit has no helper for.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The capabilities the component's calls are given.
    pub fn caps(&self) -> &Arc<Capabilities> {
        &self.caps
    }

    /// An active customer with this address, written directly (no onboarding component
    /// involved); returns the id.
    pub async fn active_customer(&self, email: &str) -> String {
        let mut conn = self.caps.db.acquire().await.expect("database");
        let new = users::NewUser {
            email: email.to_owned(),
            legal_name: "Test Customer".to_owned(),
            date_of_birth: "1990-01-01".to_owned(),
            country_of_residence: "GB".to_owned(),
            phone: None,
        };
        let now = self.now();
        let user = users::create(&mut conn, &self.caps.secrets, &new, now)
            .await
            .expect("creating a customer")
            .expect("a new address");
        users::set_status(&mut conn, &user.id, UserStatus::Active, now)
            .await
            .expect("activating");
        user.id
    }

    /// Gives the customer a phone number (as a verified profile change would).
    pub async fn set_phone(&self, user_id: &str, phone: &str) {
        let mut conn = self.caps.db.acquire().await.expect("database");
        sqlx::query("UPDATE users SET phone = $1 WHERE id = $2")
            .bind(phone)
            .bind(user_id)
            .execute(&mut *conn)
            .await
            .expect("setting the phone");
    }

    /// Every audit record about `user_id`, oldest first.
    pub async fn audit(&self, user_id: &str) -> Vec<usvc_store::audit::AuditEvent> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::audit::for_user(&mut conn, user_id)
            .await
            .expect("reading the trail")
    }
}
