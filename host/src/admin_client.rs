//! The admin API's client behind `usvc components deploy|list|rollback|shadow|canary|trial|
//! test|decisions`: the same checks and records as any deploy, because it goes through the
//! service's front door with an administrator's token. A refusal comes back as an error naming
//! the problem and its codes.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// How every WebAssembly binary begins; a signed artifact is JSON.
const WASM_MAGIC: &[u8] = b"\0asm";

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// `base` is the service's URL (`http://host:port`), `token` an administrator's access token.
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Uploads a signed artifact, or a bare component (`<kind>.wasm`, development hosts only).
    /// Deploys `file`; `allow_downgrade` when a version older than the active one is meant.
    pub async fn deploy(&self, file: &Path, allow_downgrade: bool) -> anyhow::Result<Value> {
        let bytes = read(file)?;
        let mut url = format!(
            "{}/v1/admin/components?allow_downgrade={allow_downgrade}",
            self.base
        );
        if bytes.starts_with(WASM_MAGIC) {
            let kind = file
                .file_stem()
                .and_then(|s| s.to_str())
                .context("a bare component is named after its kind, e.g. mfa.wasm")?;
            url.push_str(&format!("&kind={kind}"));
        }
        self.upload(reqwest::Method::POST, url, bytes).await
    }

    /// Puts an artifact of `kind` on trial: in the shadow (`percent` `None`) or as a canary.
    pub async fn start_trial(
        &self,
        kind: &str,
        file: &Path,
        percent: Option<u8>,
    ) -> anyhow::Result<Value> {
        let mode = match percent {
            None => "mode=shadow".to_owned(),
            Some(percent) => format!("mode=canary&percent={percent}"),
        };
        let url = format!("{}/v1/admin/components/{kind}/trial?{mode}", self.base);
        self.upload(reqwest::Method::PUT, url, read(file)?).await
    }

    /// The trial of `kind`, with its counts.
    pub async fn trial(&self, kind: &str) -> anyhow::Result<Value> {
        let url = format!("{}/v1/admin/components/{kind}/trial", self.base);
        self.send(self.http.get(url)).await
    }

    /// Ends the trial of `kind` when it runs in `mode` (`shadow` or `canary`); its final counts.
    pub async fn end_trial(&self, kind: &str, mode: &str) -> anyhow::Result<Value> {
        let trial = self.trial(kind).await?;
        if trial["mode"] != mode {
            anyhow::bail!(
                "the trial of {kind} is a {}, not a {mode}",
                trial["mode"].as_str().unwrap_or("?")
            );
        }
        let url = format!("{}/v1/admin/components/{kind}/trial", self.base);
        self.send(self.http.delete(url)).await
    }

    /// Replays the recorded decisions of `kind` (taken at or after `since`, when given) against
    /// an artifact; the report of where it answers otherwise.
    pub async fn replay(
        &self,
        kind: &str,
        file: &Path,
        since: Option<i64>,
    ) -> anyhow::Result<Value> {
        let mut url = format!("{}/v1/admin/components/{kind}/replay", self.base);
        if let Some(since) = since {
            url.push_str(&format!("?since={since}"));
        }
        self.upload(reqwest::Method::POST, url, read(file)?).await
    }

    /// Sends an artifact (JSON) or a bare component (Wasm) as the body.
    async fn upload(
        &self,
        method: reqwest::Method,
        url: String,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let content_type = if bytes.starts_with(WASM_MAGIC) {
            "application/wasm"
        } else {
            "application/json"
        };
        let request = self
            .http
            .request(method, url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(request).await
    }

    /// The newest logged decisions (of `kind`, when given).
    pub async fn decisions(&self, kind: Option<&str>) -> anyhow::Result<Value> {
        let mut url = format!("{}/v1/admin/decisions", self.base);
        if let Some(kind) = kind {
            url.push_str(&format!("?kind={kind}"));
        }
        self.send(self.http.get(url)).await
    }

    /// Every deployed version per kind, newest first.
    pub async fn list(&self) -> anyhow::Result<Value> {
        let url = format!("{}/v1/admin/components", self.base);
        self.send(self.http.get(url)).await
    }

    /// Makes the stored version `digest` of `kind` active again.
    pub async fn rollback(&self, kind: &str, digest: &str) -> anyhow::Result<Value> {
        let url = format!("{}/v1/admin/components/{kind}/rollback", self.base);
        let body = serde_json::json!({ "digest": digest });
        self.send(self.http.post(url).json(&body)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let codes: Vec<String> = body["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                format!(
                    "{}: {}",
                    v["code"].as_str().unwrap_or("?"),
                    v["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let detail = if codes.is_empty() {
            body["detail"].as_str().unwrap_or_default().to_owned()
        } else {
            codes.join("; ")
        };
        anyhow::bail!(
            "refused ({}): {} {}",
            status.as_u16(),
            body["title"].as_str().unwrap_or("the service refused"),
            detail
        )
    }
}

/// One line per stored version: kind, status, version, digest, signer, who activated it.
pub fn table(history: &Value) -> String {
    let mut out = String::from("kind\tstatus\tversion\tdigest\tsigner\tactivated_by\n");
    for kind in history["components"].as_array().into_iter().flatten() {
        for v in kind["versions"].as_array().into_iter().flatten() {
            let text = |key: &str| v[key].as_str().unwrap_or("-").to_owned();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                text("kind"),
                text("status"),
                text("version"),
                text("digest"),
                text("signer"),
                text("activated_by"),
            ));
        }
    }
    out
}

/// A replay report for a terminal: the counts, then one line per difference.
pub fn replay_summary(report: &Value) -> String {
    let count = |key: &str| report[key].as_u64().unwrap_or(0);
    let differences = report["differences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = format!(
        "{} candidate {} against active {}: {} decisions replayed, {} agreed, {} differ\n",
        report["kind"].as_str().unwrap_or("?"),
        report["candidate"].as_str().unwrap_or("?"),
        report["active"].as_str().unwrap_or("?"),
        count("replayed"),
        count("agreed"),
        differences.len(),
    );
    if !differences.is_empty() {
        out.push_str("decision\toperation\tuser\trecorded\tactive\tcandidate\n");
        for d in &differences {
            let text = |key: &str| d[key].as_str().unwrap_or("-").to_owned();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                text("decision_id"),
                text("operation"),
                text("user_id"),
                text("recorded"),
                text("active"),
                text("candidate"),
            ));
        }
    }
    out
}

/// One line per decision: when, kind, export, role, digest (short), user, outcome, duration.
pub fn decisions_table(page: &Value) -> String {
    let mut out = String::from("decided_at\tkind\toperation\trole\tdigest\tuser\toutcome\tus\n");
    for d in page["decisions"].as_array().into_iter().flatten() {
        let text = |key: &str| d[key].as_str().unwrap_or("-").to_owned();
        let digest = text("digest");
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            d["decided_at"],
            text("kind"),
            text("operation"),
            text("role"),
            &digest[..digest.len().min(12)],
            text("user_id"),
            text("outcome"),
            d["duration_us"],
        ));
    }
    out
}
