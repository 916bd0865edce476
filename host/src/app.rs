//! Start-up: builds the whole service from a [`Config`] — database, runtime and components,
//! capabilities, HTTP — bound to its port, so tests start the real thing on port 0.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    auth::{password::PasswordHasher, tokens::TokenIssuer},
    capabilities::Capabilities,
    clock::{Clock, SystemClock},
    config::{Config, Mode},
    events::{EventBus, OutboxRelay, amqp::AmqpPublisher},
    guard::{Guard, SessionGate, Shared},
    http::{self, AppState},
    notify::{DevMailbox, Fanout, LogNotifier, Notifier},
    runtime::{ComponentKind, Runtime},
    store,
};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    relay: OutboxRelay,
    pub state: AppState,
    pub events: EventBus,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
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
            .load_dir(&config.components_dir)
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

        let mailbox = (config.mode == Mode::Development).then(|| Arc::new(DevMailbox::default()));
        let mut notifiers: Vec<Arc<dyn Notifier>> = vec![Arc::new(LogNotifier)];
        if let Some(mailbox) = &mailbox {
            notifiers.push(mailbox.clone());
        }
        let caps = Arc::new(Capabilities::new(
            db.clone(),
            clock.clone(),
            PasswordHasher::new(&config.password_hashing)?,
            Arc::new(Fanout(notifiers)),
            &config.component_settings,
        ));
        let events = EventBus::default();
        let broker = config
            .amqp_url
            .as_deref()
            .map(|url| AmqpPublisher::new(url, &config.amqp_exchange));
        let relay = OutboxRelay::new(
            db.clone(),
            events.clone(),
            broker,
            clock,
            caps.outbox_committed.clone(),
        );
        let shared = Arc::new(match &config.redis_url {
            Some(url) => Shared::redis(url, &config.redis_prefix)?,
            None => Shared::in_memory(),
        });
        let state = AppState {
            runtime: Arc::new(runtime),
            caps,
            tokens: Arc::new(TokenIssuer::load(&config.tokens, &db).await?),
            mailbox,
            guard: Arc::new(Guard::new(shared.clone(), config.limits.clone())),
            sessions: Arc::new(SessionGate::new(shared, config.tokens.access_ttl)),
            trust_forwarded_for: config.trust_forwarded_for,
            metrics: crate::telemetry::metrics(),
        };
        let router = http::router(state.clone(), config.mode, config.max_body_bytes);
        let listener = TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("binding {}", config.http_addr))?;
        Ok(Self {
            listener,
            router,
            relay,
            state,
            events,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "usvc listening");
        let relay = tokio::spawn(self.relay.run());
        let router = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        relay.abort();
        served.context("serving HTTP")
    }
}
