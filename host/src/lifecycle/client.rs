//! The admin API's client behind `usvc components deploy|list|rollback`: the same checks and
//! records as any deploy, because it goes through the service's front door with an
//! administrator's token. A refusal comes back as an error naming the problem and its codes.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

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
    pub async fn deploy(&self, file: &Path) -> anyhow::Result<Value> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let mut url = format!("{}/v1/admin/components", self.base);
        let content_type = if bytes.starts_with(b"\0asm") {
            let kind = file
                .file_stem()
                .and_then(|s| s.to_str())
                .context("a bare component is named after its kind, e.g. mfa.wasm")?;
            url.push_str(&format!("?kind={kind}"));
            "application/wasm"
        } else {
            "application/json"
        };
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(request).await
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
