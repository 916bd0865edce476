//! The composition root: builds the whole service from a [`Config`] — database, runtime and
//! components, capabilities, the domain services, HTTP and gRPC, the outbox relay and the KYC
//! results consumer — bound to its port, so tests start the real thing on port 0. Nothing
//! below depends on this module.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    adapters::{
        amqp::{AmqpConsumer, AmqpPublisher},
        clients::{
            audit::{AuditClient, AuditForwarder},
            kyc::GrpcKyc,
            notification::{GrpcNotifier, NotificationClient},
        },
        s3::S3Objects,
    },
    auth::{Authenticator, password::PasswordHasher, tokens::TokenIssuer},
    capabilities::Capabilities,
    clock::{Clock, SystemClock},
    config::{Config, Mode},
    documents::{self, files::FilesystemObjects, objects::ObjectStore},
    events::{Broker, EventBus, OutboxRelay},
    grpc::{self, callers::CallerKeys},
    guard::{Guard, SessionGate, Shared},
    http,
    kyc::KycResults,
    lifecycle::Lifecycle,
    notify::{DevMailbox, Fanout, LogNotifier, Notifier},
    profile::Profiles,
    runtime::{ComponentKind, Runtime},
    state::AppState,
    store,
    trail::AfterAnswer,
    verification::{
        Verifier,
        provider::{KycProvider, SandboxKyc},
    },
};

pub struct Application {
    listener: TcpListener,
    /// `/metrics` on an address of its own (`USVC_METRICS_ADDR`), when configured.
    metrics_listener: Option<TcpListener>,
    components_dir: std::path::PathBuf,
    router: axum::Router,
    grpc_listener: TcpListener,
    grpc_routes: tonic::service::Routes,
    relay: OutboxRelay,
    /// The KYC results consumer: with `AMQP_URL` and a KYC results queue configured.
    kyc_results: Option<AmqpConsumer<KycResults>>,
    /// Feeds the bank's audit service from `audit_events`, when one is configured.
    audit_forwarder: Option<AuditForwarder>,
    pub state: AppState,
    pub events: EventBus,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // First: every part registers its metrics as it is built, and a metric registered before
        // the recorder is installed is lost.
        let metrics = crate::telemetry::metrics();
        if config.mode == Mode::Development {
            tracing::warn!(
                "development mode: a generated signing key (kept in the database) and /dev/mailbox are enabled"
            );
        }
        for kind in config.component_settings.keys() {
            anyhow::ensure!(
                ComponentKind::from_name(kind).is_some(),
                "settings are configured for {kind:?}, which is not a component kind (USVC_COMPONENT_<KIND>__<SETTING>)"
            );
        }
        let db = store::connect(&config.database_url, config.database_max_connections).await?;
        let runtime = Runtime::new(config.runtime.clone())?;
        let loaded = runtime
            .registry()
            .load_dir(
                &config.components_dir,
                (config.mode == Mode::Production).then_some(crate::baseline::PINNED),
            )
            .with_context(|| {
                format!(
                    "loading components from {}",
                    config.components_dir.display()
                )
            })?;
        for component in &loaded {
            tracing::info!(kind = %component.kind, digest = %component.digest, size = component.size, "component loaded");
        }
        if loaded.is_empty() {
            tracing::warn!(dir = %config.components_dir.display(), "no components found; run `make components`");
        }

        // The bank's services, each only when configured; otherwise its embedded default.
        let clients = &config.clients;
        let production = config.mode == Mode::Production;
        let mailbox = (!production).then(|| Arc::new(DevMailbox::default()));
        let mut notifiers: Vec<Arc<dyn Notifier>> = Vec::new();
        if let Some(mailbox) = &mailbox {
            notifiers.push(mailbox.clone());
        }
        match &clients.notification_url {
            Some(url) => notifiers.push(Arc::new(GrpcNotifier(
                NotificationClient::connect(url, clients.policy)
                    .context("USVC_NOTIFICATION_GRPC_URL")?,
            ))),
            None if production => tracing::warn!(
                "no notification service is configured (USVC_NOTIFICATION_GRPC_URL): messages to customers only reach the log"
            ),
            None => {}
        }
        // Last, so that it records only messages every other notifier took.
        notifiers.push(Arc::new(LogNotifier));
        let kyc: Arc<dyn KycProvider> = match &clients.kyc_url {
            Some(url) => {
                Arc::new(GrpcKyc::connect(url, clients.policy).context("USVC_KYC_GRPC_URL")?)
            }
            None => {
                if production {
                    tracing::warn!(
                        "USVC_UNSAFE_SANDBOX_KYC: identity checks run against the sandbox, which approves everyone"
                    );
                }
                Arc::new(SandboxKyc::default())
            }
        };
        let audit_forwarder = clients
            .audit_url
            .as_deref()
            .map(|url| {
                AuditClient::connect(url, clients.policy)
                    .map(|client| AuditForwarder::new(db.clone(), client, clock.clone()))
            })
            .transpose()
            .context("USVC_AUDIT_GRPC_URL")?;
        let shared = Arc::new(match &config.redis_url {
            Some(url) => crate::adapters::redis::shared(url, &config.redis_prefix)?,
            None => Shared::in_memory(),
        });
        let secrets_key: [u8; 32] = match &config.secrets_key {
            Some(key) => key.expose_secret().0,
            None => {
                tracing::warn!(
                    "no USVC_SECRETS_KEY: secrets at rest are sealed with the public development key"
                );
                crate::secrets::DEVELOPMENT_KEY
            }
        };
        let caps = Arc::new(
            Capabilities::new(
                db.clone(),
                clock.clone(),
                PasswordHasher::new(&config.password_hashing)?,
                Arc::new(Fanout(notifiers)),
                &config.component_settings,
            )
            .with_kv(shared.clone())
            .with_secrets_key(&secrets_key),
        );
        let sealed = store::sealing::seal_clear_personal_data(&db, &caps.secrets)
            .await
            .context("sealing personal data stored in the clear")?;
        if sealed != store::sealing::Sealed::default() {
            tracing::info!(
                dates_of_birth = sealed.dates_of_birth,
                addresses = sealed.addresses,
                "sealed personal data stored in the clear by an earlier version"
            );
        }
        let events = EventBus::default();
        let broker = config
            .amqp_url
            .as_deref()
            .map(|url| Box::new(AmqpPublisher::new(url, &config.amqp_exchange)) as Box<dyn Broker>);
        let relay = OutboxRelay::new(
            db.clone(),
            events.clone(),
            broker,
            clock,
            caps.outbox_committed.clone(),
        );
        let runtime = Arc::new(runtime);
        if config.mode == Mode::Development {
            tracing::warn!("development mode: unsigned components are accepted by deploys");
        }
        let lifecycle = Arc::new(Lifecycle::new(
            runtime.clone(),
            caps.clone(),
            config.component_signers.clone(),
            config.component_max_bytes,
            config.mode == Mode::Development,
        ));
        // The database's active versions win over the components directory's files.
        lifecycle
            .follow_fleet()
            .await
            .context("loading the active component versions")?;
        let verifier = Verifier::new(
            runtime.clone(),
            caps.clone(),
            kyc.clone(),
            clients.kyc_url.is_none(),
        );
        let kyc_results = config
            .amqp_url
            .as_deref()
            .filter(|_| config.consumes_kyc_results())
            .map(|url| {
                if config.kyc_result_keys.is_empty() {
                    tracing::warn!(
                        "no USVC_KYC_RESULT_KEYS: unsigned KYC results are accepted (development only)"
                    );
                }
                let results = KycResults::new(caps.clone(), config.kyc_result_keys.clone());
                AmqpConsumer::new(
                    url,
                    config.kyc_results.clone(),
                    results.reassessing(verifier.clone()),
                )
            });
        // Bound before the object store is built: its URLs name this host's address.
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;
        let (objects, object_files): (Arc<dyn ObjectStore>, _) = match &config.documents.s3 {
            Some(s3) => {
                tracing::info!(bucket = %s3.bucket, "documents are kept in S3");
                (Arc::new(S3Objects::new(s3)), None)
            }
            None => {
                let base = match &config.public_url {
                    Some(url) => url.clone(),
                    None => {
                        if production {
                            tracing::warn!(
                                "documents are kept in a local folder and their URLs name the bound address: set USVC_PUBLIC_URL (or USVC_S3_*) for clients behind a gateway"
                            );
                        }
                        format!("http://{}", listener.local_addr()?)
                    }
                };
                let files = Arc::new(FilesystemObjects::new(
                    &config.documents.objects_dir,
                    &base,
                    &secrets_key,
                )?);
                (files.clone() as Arc<dyn ObjectStore>, Some(files))
            }
        };
        let documents = Arc::new(documents::Documents {
            runtime: runtime.clone(),
            caps: caps.clone(),
            objects,
            upload_ttl: config.documents.upload_ttl,
            download_ttl: config.documents.download_ttl,
            max_bytes: config.documents.max_bytes,
        });
        let profiles = Profiles::new(runtime.clone(), caps.clone());
        let auth = Authenticator {
            after_answer: AfterAnswer::default(),
            runtime,
            caps,
            tokens: Arc::new(TokenIssuer::load(&config.tokens, &db).await?),
            guard: Arc::new(Guard::new(shared.clone(), config.limits.clone())),
            sessions: Arc::new(SessionGate::new(shared, config.tokens.access_ttl)),
        };
        let state = AppState {
            auth,
            documents,
            object_files,
            lifecycle: lifecycle.clone(),
            mailbox,
            kyc,
            verifier,
            profiles,
            trust_forwarded_for: config.trust_forwarded_for,
            forwarded_for_hops: config.forwarded_for_hops,
            metrics,
        };
        let mut router = http::router(
            state.clone(),
            config.mode,
            config.max_body_bytes,
            config.metrics_addr.is_none(),
        );
        if config.sentry.is_some() {
            router = crate::tracking::http(router);
        }
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr} (USVC_METRICS_ADDR)"))?,
            ),
            None => None,
        };
        if config.grpc_callers.is_empty() {
            tracing::warn!(
                "no gRPC callers are configured (USVC_GRPC_CALLERS): every usvc.v1 RPC will be refused"
            );
        }
        let callers = Arc::new(CallerKeys::new(&config.grpc_callers, &config.grpc_grants));
        let mut grpc_routes = grpc::routes(state.clone(), callers).await?;
        if config.sentry.is_some() {
            grpc_routes = crate::tracking::grpc(grpc_routes);
        }
        let grpc_listener = TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("binding {}", config.grpc_addr))?;
        Ok(Self {
            listener,
            metrics_listener,
            components_dir: config.components_dir.clone(),
            router,
            grpc_listener,
            grpc_routes,
            relay,
            kyc_results,
            audit_forwarder,
            state,
            events,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` listens when it has an address of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// Where the gRPC API listens.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves HTTP and gRPC, relays the outbox and consumes KYC results until `shutdown`
    /// resolves, then finishes the requests in flight.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "usvc listening");
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        // Stopped when serving ends, or when this future is dropped. A KYC result being
        // recorded then rolls back and, unacknowledged, is delivered again.
        let mut background = Background(vec![tokio::spawn(self.relay.run())]);
        if let Some(consumer) = self.kyc_results {
            background.0.push(tokio::spawn(consumer.run()));
        }
        if let Some(forwarder) = self.audit_forwarder {
            background.0.push(tokio::spawn(forwarder.run()));
        }
        background
            .0
            .push(tokio::spawn(self.state.lifecycle.clone().run()));
        background
            .0
            .push(tokio::spawn(crate::lifecycle::watch::watch(
                self.state.lifecycle.clone(),
                self.components_dir.clone(),
            )));
        let grpc = tokio::spawn(grpc::serve(
            self.grpc_listener,
            self.grpc_routes,
            until_stopped(),
        ));
        if let Some(listener) = self.metrics_listener {
            let metrics = http::metrics_router(self.state.clone());
            let stopped = until_stopped();
            background.0.push(tokio::spawn(async move {
                let served = axum::serve(listener, metrics)
                    .with_graceful_shutdown(stopped)
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "serving /metrics stopped");
                }
            }));
        }
        let router = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(until_stopped())
            .await;
        self.state
            .after_answer
            .finish(std::time::Duration::from_secs(10))
            .await;
        drop(background);
        let grpc = grpc.await.context("the gRPC server task")?;
        served.context("serving HTTP")?;
        grpc.context("serving gRPC")
    }
}

/// The outbox relay and the consumers: aborted when dropped.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
