//! Test doubles of the bank's services usvc calls: one real tonic server of the KYC,
//! notification and audit protos (`proto/clients`) on a loopback port. It records every call it
//! receives and keeps what a real service would (messages by idempotency key, audit events by
//! id, checks by check id), and a test can make it fail the next calls, be slow, lose its
//! answers, or stop and start again on the same port.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Response, Status, transport::server::TcpIncoming};
use usvc_proto::bank::{
    audit::v1::{
        RecordRequest, RecordResponse,
        audit_service_server::{AuditService, AuditServiceServer},
    },
    kyc::v1::{
        Check, CheckStatus, GetCheckRequest, SubmitCheckRequest,
        kyc_service_server::{KycService, KycServiceServer},
    },
    notification::v1::{
        SendRequest, SendResponse,
        notification_service_server::{NotificationService, NotificationServiceServer},
    },
};

/// One call as the server received it, whatever became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `Send`, `Record`, `SubmitCheck` or `GetCheck`.
    pub rpc: &'static str,
    /// The idempotency key, event id or check id the call carried.
    pub key: String,
    /// The `grpc-timeout` the caller sent, if any.
    pub timeout: Option<String>,
    /// The W3C `traceparent` the caller sent, if any.
    pub traceparent: Option<String>,
}

#[derive(Default)]
struct Faults {
    /// Answer this many next calls with `code` before doing anything.
    fail_next: u32,
    code: Option<Code>,
    /// Do the work of this many next calls, then answer UNAVAILABLE (a lost answer).
    lose_next: u32,
    /// Wait this long before answering each call.
    delay: Duration,
}

#[derive(Default)]
struct State {
    faults: Mutex<Faults>,
    received: Mutex<Vec<Received>>,
    /// Messages accepted, one per idempotency key, in order.
    notifications: Mutex<Vec<SendRequest>>,
    /// Audit events recorded, one per event id, in order.
    audit: Mutex<Vec<RecordRequest>>,
    /// Checks by check id, with the request that started them.
    checks: Mutex<HashMap<String, (SubmitCheckRequest, Check)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// Records the call, then applies the delay and any injected failure.
    async fn arrive<T>(
        &self,
        rpc: &'static str,
        key: &str,
        request: &Request<T>,
    ) -> Result<(), Status> {
        let header = |name: &str| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        lock(&self.received).push(Received {
            rpc,
            key: key.to_owned(),
            timeout: header("grpc-timeout"),
            traceparent: header("traceparent"),
        });
        let (delay, failure) = {
            let mut faults = lock(&self.faults);
            let failure = if faults.fail_next > 0 {
                faults.fail_next -= 1;
                faults.code
            } else {
                None
            };
            (faults.delay, failure)
        };
        tokio::time::sleep(delay).await;
        match failure {
            Some(code) => Err(Status::new(code, "injected failure")),
            None => Ok(()),
        }
    }

    /// Whether the answer to a call that did its work is to be lost.
    fn lose_answer(&self) -> Result<(), Status> {
        let mut faults = lock(&self.faults);
        if faults.lose_next > 0 {
            faults.lose_next -= 1;
            return Err(Status::unavailable("answer lost"));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Bank(Arc<State>);

#[tonic::async_trait]
impl NotificationService for Bank {
    async fn send(&self, request: Request<SendRequest>) -> Result<Response<SendResponse>, Status> {
        let key = request.get_ref().idempotency_key.clone();
        self.0.arrive("Send", &key, &request).await?;
        let message = request.into_inner();
        if message.idempotency_key.is_empty() || message.recipient.is_empty() {
            return Err(Status::invalid_argument(
                "idempotency_key and recipient are required",
            ));
        }
        {
            let mut sent = lock(&self.0.notifications);
            if !sent.iter().any(|m| m.idempotency_key == key) {
                sent.push(message);
            }
        }
        self.0.lose_answer()?;
        Ok(Response::new(SendResponse {
            notification_id: format!("ntf-{key}"),
        }))
    }
}

#[tonic::async_trait]
impl AuditService for Bank {
    async fn record(
        &self,
        request: Request<RecordRequest>,
    ) -> Result<Response<RecordResponse>, Status> {
        let id = request.get_ref().event_id.clone();
        self.0.arrive("Record", &id, &request).await?;
        let event = request.into_inner();
        if event.event_id.is_empty() || event.occurred_at.is_none() {
            return Err(Status::invalid_argument(
                "event_id and occurred_at are required",
            ));
        }
        if serde_json::from_str::<serde_json::Value>(&event.data_json).is_err() {
            return Err(Status::invalid_argument("data_json is not JSON"));
        }
        let duplicate = {
            let mut recorded = lock(&self.0.audit);
            let duplicate = recorded.iter().any(|e| e.event_id == id);
            if !duplicate {
                recorded.push(event);
            }
            duplicate
        };
        self.0.lose_answer()?;
        Ok(Response::new(RecordResponse { duplicate }))
    }
}

#[tonic::async_trait]
impl KycService for Bank {
    async fn submit_check(
        &self,
        request: Request<SubmitCheckRequest>,
    ) -> Result<Response<Check>, Status> {
        let id = request.get_ref().check_id.clone();
        self.0.arrive("SubmitCheck", &id, &request).await?;
        let submitted = request.into_inner();
        if id.is_empty() || submitted.person.is_none() || submitted.documents.is_empty() {
            return Err(Status::invalid_argument(
                "check_id, person and at least one document are required",
            ));
        }
        let check = {
            let mut checks = lock(&self.0.checks);
            let n = checks.len() + 1;
            checks
                .entry(id.clone())
                .or_insert_with(|| {
                    let check = Check {
                        check_id: id.clone(),
                        provider_check_id: format!("provider-{n}"),
                        status: CheckStatus::Pending.into(),
                        reasons: Vec::new(),
                    };
                    (submitted, check)
                })
                .1
                .clone()
        };
        self.0.lose_answer()?;
        Ok(Response::new(check))
    }

    async fn get_check(
        &self,
        request: Request<GetCheckRequest>,
    ) -> Result<Response<Check>, Status> {
        let id = request.get_ref().check_id.clone();
        self.0.arrive("GetCheck", &id, &request).await?;
        let check = lock(&self.0.checks)
            .get(&id)
            .map(|(_, check)| check.clone());
        check
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such check"))
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// The bank's KYC, notification and audit services on one loopback port.
pub struct BankServer {
    addr: SocketAddr,
    state: Arc<State>,
    running: Option<Running>,
}

impl BankServer {
    /// Serves on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let running = Some(serve(listener, state.clone()));
        Self {
            addr,
            state,
            running,
        }
    }

    /// A server address where nothing listens (yet): start it there with [`Self::restart`].
    pub async fn stopped() -> Self {
        let mut server = Self::start().await;
        server.stop().await;
        server
    }

    /// The URL to configure usvc with, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving: connections close and new ones are refused.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running.task.await.expect("the server task");
        }
    }

    /// Serves again on the same port, with everything recorded so far.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("the server's port is free again");
        self.running = Some(serve(listener, self.state.clone()));
    }

    /// Answers the next `n` calls with `code`, doing nothing.
    pub fn fail_next(&self, n: u32, code: Code) {
        let mut faults = lock(&self.state.faults);
        faults.fail_next = n;
        faults.code = Some(code);
    }

    /// Does the work of the next `n` calls but answers UNAVAILABLE, as if the answer was lost.
    pub fn lose_next_answers(&self, n: u32) {
        lock(&self.state.faults).lose_next = n;
    }

    /// Waits `delay` before answering every call from now on.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state.faults).delay = delay;
    }

    /// Every call received so far, failed ones included, oldest first.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.state.received).clone()
    }

    /// The calls of `rpc` received so far.
    pub fn received_of(&self, rpc: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.rpc == rpc)
            .collect()
    }

    /// Messages accepted for delivery, one per idempotency key.
    pub fn notifications(&self) -> Vec<SendRequest> {
        lock(&self.state.notifications).clone()
    }

    /// Audit events recorded, one per event id, in the order they were first recorded.
    pub fn audit_events(&self) -> Vec<RecordRequest> {
        lock(&self.state.audit).clone()
    }

    /// The request that started check `check_id`.
    pub fn check_request(&self, check_id: &str) -> Option<SubmitCheckRequest> {
        lock(&self.state.checks)
            .get(check_id)
            .map(|(request, _)| request.clone())
    }

    /// Decides check `check_id`, as the provider would later.
    pub fn decide(&self, check_id: &str, status: CheckStatus, reasons: &[&str]) {
        let mut checks = lock(&self.state.checks);
        let (_, check) = checks.get_mut(check_id).expect("a submitted check");
        check.status = status.into();
        check.reasons = reasons.iter().map(|r| (*r).to_owned()).collect();
    }
}

impl Drop for BankServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            running.task.abort();
        }
    }
}

fn serve(listener: TcpListener, state: Arc<State>) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let bank = Bank(state);
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(KycServiceServer::new(bank.clone()))
            .add_service(NotificationServiceServer::new(bank.clone()))
            .add_service(AuditServiceServer::new(bank))
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            })
            .await
            .expect("the bank test server");
    });
    Running { stop, task }
}

/// Polls `check` every 50 ms until it holds or `within` has passed; panics with `what` then.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
