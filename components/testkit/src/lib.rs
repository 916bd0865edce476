//! The component test kit: load a compiled component into the real usvc runtime, backed by an
//! in-memory SQLite database, a fixed clock and a recording notifier, then call its exports and
//! assert on what it decided, wrote, published and sent.
//!
//! ```no_run
//! # async fn example() {
//! use usvc_testkit::TestKit;
//! let kit = TestKit::builder().today(2026, 6, 15).setting("allowed-countries", "GB").build().await;
//! // kit.register(application).await, kit.users().await, kit.events().await, kit.notices() ...
//! # }
//! ```

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use time::{Date, Month, OffsetDateTime, Time};
use usvc_runtime::{
    CallError, ComponentKind, Runtime,
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
    Application, Confirmation, PostalAddress, ProposedChange, Violation,
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

/// The directory compiled components are read from: `USVC_COMPONENTS_DIR`, or the workspace's
/// `target/components` (where `make components` puts them).
pub fn components_dir() -> PathBuf {
    std::env::var_os("USVC_COMPONENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/components"))
}

pub struct TestKitBuilder {
    now: OffsetDateTime,
    settings: Vec<(String, String)>,
    component: Option<PathBuf>,
    kind: ComponentKind,
    deadline: Duration,
    memory_bytes: usize,
}

impl TestKitBuilder {
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

    /// Loads an `mfa` component (default file `mfa.wasm`) instead of an onboarding one, with
    /// no settings.
    pub fn mfa(mut self) -> Self {
        self.kind = ComponentKind::Mfa;
        self.settings.clear();
        self
    }

    /// Loads a `verification` component (default file `verification.wasm`) instead of an
    /// onboarding one, with no settings.
    pub fn verification(mut self) -> Self {
        self.kind = ComponentKind::Verification;
        self.settings.clear();
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

    pub async fn build(self) -> TestKit {
        self.try_build()
            .await
            .unwrap_or_else(|e| panic!("test kit: {e:#}"))
    }

    pub async fn try_build(self) -> anyhow::Result<TestKit> {
        let path = self
            .component
            .unwrap_or_else(|| components_dir().join(format!("{}.wasm", self.kind.name())));
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
        runtime.registry().load_file(self.kind, &path)?;

        let db = store::connect("sqlite::memory:", 1).await?;
        let clock = FixedClock::at(self.now);
        let recorder = Arc::new(Recorder::default());
        let settings = [(
            self.kind.name().to_owned(),
            self.settings.into_iter().collect(),
        )]
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
        Ok(TestKit {
            kind: self.kind,
            runtime,
            caps,
            clock,
            recorder,
        })
    }
}

pub struct TestKit {
    kind: ComponentKind,
    runtime: Runtime,
    caps: Arc<Capabilities>,
    clock: FixedClock,
    recorder: Arc<Recorder>,
}

impl TestKit {
    pub fn builder() -> TestKitBuilder {
        TestKitBuilder {
            now: Date::from_calendar_date(2026, Month::June, 15)
                .expect("valid date")
                .with_time(Time::MIDNIGHT + time::Duration::hours(12))
                .assume_utc(),
            settings: vec![(
                "allowed-countries".to_owned(),
                "GB,DE,FR,IE,NL,ES,IT".to_owned(),
            )],
            component: None,
            kind: ComponentKind::Onboarding,
            deadline: Duration::from_secs(2),
            memory_bytes: 64 << 20,
        }
    }

    /// The onboarding component from the components directory, with every default.
    pub async fn onboarding() -> TestKit {
        Self::builder().build().await
    }

    /// Registers an applicant; panics with the failure if the component traps or times out.
    pub async fn register(&self, application: Application) -> Result<(), Vec<Violation>> {
        self.try_register(application)
            .await
            .unwrap_or_else(|e| panic!("register failed: {e}"))
    }

    /// Registers an applicant, returning a trap, timeout or memory blow-up as an error.
    pub async fn try_register(
        &self,
        application: Application,
    ) -> Result<Result<(), Vec<Violation>>, CallError> {
        self.runtime.register(&self.caps, application).await
    }

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

    pub async fn confirm_email(&self, email: &str, code: &str) -> Confirmation {
        self.runtime
            .confirm_email(&self.caps, email.to_owned(), code.to_owned())
            .await
            .unwrap_or_else(|e| panic!("confirm-email failed: {e}"))
    }

    /// The policy's verdict on a new password for the customer with `email`.
    pub async fn check_password(&self, email: &str, password: &str) -> Vec<Violation> {
        self.runtime
            .check_password(&self.caps, email.to_owned(), password.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-password failed: {e}"))
    }

    /// The policy's verdict on a profile change (`changes.check-profile-change`) by the
    /// customer `user`: the change normalised, or every rule it breaks.
    pub async fn check_profile_change(
        &self,
        user: &str,
        change: ProposedChange,
    ) -> Result<ProposedChange, Vec<Violation>> {
        self.runtime
            .check_profile_change(&self.caps, user, change)
            .await
            .unwrap_or_else(|e| panic!("check-profile-change failed: {e}"))
    }

    /// The policy's verdict on a new login address (`changes.check-email`).
    pub async fn check_email(&self, user: &str, email: &str) -> Result<String, Vec<Violation>> {
        self.runtime
            .check_email(&self.caps, user, email.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-email failed: {e}"))
    }

    /// The policy's verdict on a new phone number (`changes.check-phone`).
    pub async fn check_phone(&self, user: &str, phone: &str) -> Result<String, Vec<Violation>> {
        self.runtime
            .check_phone(&self.caps, user, phone.to_owned())
            .await
            .unwrap_or_else(|e| panic!("check-phone failed: {e}"))
    }

    // The `mfa` kind: each call returns the component's answer and panics if the call has none
    // (a trap, a timeout, a failed capability).

    /// `mfa`: whether a login needs a second factor (`assess-login`).
    pub async fn login_requirement(&self, context: LoginContext) -> LoginRequirement {
        self.runtime
            .mfa_login_requirement(&self.caps, context)
            .await
            .unwrap_or_else(|e| panic!("mfa login_requirement failed: {e}"))
    }

    /// `mfa`: whether a code completes a login challenge, or a step-up without one.
    pub async fn verify(
        &self,
        user: String,
        challenge: Option<String>,
        method: Method,
        code: String,
    ) -> Verification {
        self.runtime
            .mfa_verify(&self.caps, user, challenge, method, code)
            .await
            .unwrap_or_else(|e| panic!("mfa verify failed: {e}"))
    }

    /// `mfa`: the proof a sensitive action needs given the session's proofs.
    pub async fn proof_required(
        &self,
        user: String,
        action: SensitiveAction,
        proofs: SessionProofs,
    ) -> Proof {
        self.runtime
            .mfa_proof_required(&self.caps, user, action, proofs)
            .await
            .unwrap_or_else(|e| panic!("mfa proof_required failed: {e}"))
    }

    /// `mfa`: starts enrolling an authenticator app.
    pub async fn enrol_totp(&self, user: String) -> Result<TotpEnrolment, Violation> {
        self.runtime
            .mfa_enrol_totp(&self.caps, user)
            .await
            .unwrap_or_else(|e| panic!("mfa enrol_totp failed: {e}"))
    }

    /// `mfa`: sends a one-time code by email or SMS.
    pub async fn send_code(
        &self,
        user: String,
        challenge: Option<String>,
        method: Method,
    ) -> Sending {
        self.runtime
            .mfa_send_code(&self.caps, user, challenge, method)
            .await
            .unwrap_or_else(|e| panic!("mfa send_code failed: {e}"))
    }

    /// `mfa`: starts enrolling an email or SMS factor; its id.
    pub async fn enrol_otp(&self, user: String, channel: OtpChannel) -> Result<String, Violation> {
        self.runtime
            .mfa_enrol_otp(&self.caps, user, channel)
            .await
            .unwrap_or_else(|e| panic!("mfa enrol_otp failed: {e}"))
    }

    /// `mfa`: confirms a pending factor with a code; recovery codes when they are new.
    pub async fn confirm_factor(
        &self,
        user: String,
        factor_id: String,
        code: String,
    ) -> Result<Vec<String>, Violation> {
        self.runtime
            .mfa_confirm_factor(&self.caps, user, factor_id, code)
            .await
            .unwrap_or_else(|e| panic!("mfa confirm_factor failed: {e}"))
    }

    /// `mfa`: removes a factor; whether the customer had it.
    pub async fn remove_factor(&self, user: String, factor_id: String) -> bool {
        self.runtime
            .mfa_remove_factor(&self.caps, user, factor_id)
            .await
            .unwrap_or_else(|e| panic!("mfa remove_factor failed: {e}"))
    }

    /// `mfa`: replaces the recovery codes.
    pub async fn new_recovery_codes(&self, user: String) -> Result<Vec<String>, Violation> {
        self.runtime
            .mfa_new_recovery_codes(&self.caps, user)
            .await
            .unwrap_or_else(|e| panic!("mfa new_recovery_codes failed: {e}"))
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

    /// How many unspent recovery codes the customer has.
    pub async fn recovery_codes_left(&self, user_id: &str) -> u32 {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::factors::recovery_codes_left(&mut conn, user_id)
            .await
            .expect("counting recovery codes")
    }

    /// The verification policy's decision on `customer` (nothing is stored); panics if the
    /// component traps or times out.
    pub async fn decide(&self, customer: Customer) -> PolicyDecision {
        self.runtime
            .verification_decide(&self.caps, customer)
            .await
            .unwrap_or_else(|e| panic!("decide failed: {e}"))
    }

    /// Gives the customer a nationality and an address in `country`, written directly.
    pub async fn complete_profile(&self, user_id: &str, country: &str) {
        let mut conn = self.caps.db.acquire().await.expect("database");
        let address = usvc_store::profiles::Address {
            line1: "1 High Street".to_owned(),
            line2: None,
            city: "London".to_owned(),
            postal_code: "N1 9GU".to_owned(),
            region: None,
            country: country.to_owned(),
        };
        let fields = usvc_store::profiles::ProfileFields {
            nationality: Some(country),
            address: Some(&address),
            national_id: None,
        };
        usvc_store::profiles::save(
            &mut conn,
            &self.caps.secrets,
            user_id,
            &fields,
            0,
            self.now(),
        )
        .await
        .expect("saving the profile")
        .expect("a first version");
    }

    /// A confirmed document of `kind` (`passport`, `id_card`, `proof_of_address`, `selfie`)
    /// with its number sealed as the host seals it, written directly; returns its id.
    pub async fn confirmed_document(&self, user_id: &str, kind: &str, number: &str) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let identity = matches!(kind, "passport" | "id_card");
        let sealed = identity.then(|| {
            self.caps.secrets.seal(
                number.as_bytes(),
                &usvc_store::documents::number_context(&id),
            )
        });
        let now = self.now();
        let row = usvc_store::documents::DocumentRow {
            id: id.clone(),
            user_id: user_id.to_owned(),
            kind: kind.to_owned(),
            number_sealed: sealed,
            issuing_country: identity.then(|| "GB".to_owned()),
            object_key: format!("kyc/{user_id}/{id}"),
            content_type: "image/jpeg".to_owned(),
            size_bytes: 1024,
            sha256: "0".repeat(64),
            status: "confirmed".to_owned(),
            rejection: None,
            created_at: now,
            upload_expires_at: now + 900,
            confirmed_at: Some(now),
        };
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::documents::insert(&mut conn, &row)
            .await
            .expect("inserting a document");
        id
    }

    /// The ids of the customer's second factors, oldest first.
    pub async fn factor_ids(&self, user_id: &str) -> Vec<String> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::factors::list(&mut conn, user_id)
            .await
            .expect("listing factors")
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    /// Every audit record about `user_id`, oldest first.
    pub async fn audit(&self, user_id: &str) -> Vec<usvc_store::audit::AuditEvent> {
        let mut conn = self.caps.db.acquire().await.expect("database");
        usvc_store::audit::for_user(&mut conn, user_id)
            .await
            .expect("reading the trail")
    }
}
