//! The embedded object store: objects are files under a folder, and this host serves the
//! presigned URLs itself (`PUT`/`GET /v1/objects/{key}?expires=…&size=…&type=…&signature=…`,
//! `http/objects.rs`). A URL's signature is an HMAC-SHA256, under a key derived from the
//! secrets key, over the method, the key, the expiry, the declared size and the content type; it
//! is compared in constant time. Must not: accept a key that leaves the folder (see
//! [`is_valid_key`]), or write more bytes than a URL grants.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use futures_lite::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::objects::{Inspection, ObjectStore, PresignedRequest, Reader, is_valid_key};

type HmacSha256 = Hmac<Sha256>;

/// Objects under `dir`, reached by clients at `base_url` (this host's public address).
pub struct FilesystemObjects {
    dir: PathBuf,
    base_url: String,
    key: [u8; 32],
}

/// What a presigned URL's query carries.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct UrlGrant {
    #[serde(default)]
    pub expires: Option<i64>,
    /// PUT only: the most bytes the upload may have.
    #[serde(default)]
    pub size: Option<u64>,
    /// PUT: the `Content-Type` the client must send; GET: the one it is answered with.
    #[serde(default, rename = "type")]
    pub content_type: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// Why a presigned URL was refused. Both are 403: a client cannot tell a forged URL from a
/// stale one by probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL's signature does not match it")]
    BadSignature,
    #[error("the URL has expired")]
    Expired,
}

/// Why an upload through a valid URL was not stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is larger than the URL allows")]
    TooLarge,
    #[error("reading the upload: {0}")]
    Body(String),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

impl FilesystemObjects {
    /// Creates `dir` if needed. `secret` is the secrets key; the URL key is derived from it.
    pub fn new(dir: &Path, base_url: &str, secret: &[u8; 32]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the objects folder {}", dir.display()))?;
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"usvc presigned object URLs v1");
        Ok(Self {
            dir: dir.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: mac.finalize().into_bytes().into(),
        })
    }

    fn mac(
        &self,
        method: &str,
        key: &str,
        expires: i64,
        size: Option<u64>,
        ct: &str,
    ) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        let size = size.map(|s| s.to_string()).unwrap_or_default();
        mac.update(format!("{method}\n{key}\n{expires}\n{size}\n{ct}").as_bytes());
        mac
    }

    fn sign(
        &self,
        method: &'static str,
        key: &str,
        size: Option<u64>,
        ct: &str,
        now: i64,
        ttl: Duration,
    ) -> PresignedRequest {
        let expires = now + ttl.as_secs() as i64;
        let signature = hex::encode(
            self.mac(method, key, expires, size, ct)
                .finalize()
                .into_bytes(),
        );
        let size = size.map(|s| format!("&size={s}")).unwrap_or_default();
        let ct_query = encode_query(ct);
        PresignedRequest {
            method,
            url: format!(
                "{}/v1/objects/{key}?expires={expires}{size}&type={ct_query}&signature={signature}",
                self.base_url
            ),
            headers: if method == "PUT" {
                vec![("Content-Type".to_owned(), ct.to_owned())]
            } else {
                Vec::new()
            },
            expires_at: expires,
        }
    }

    /// Checks a presigned URL for `method` on `key` at `now`: the signature first (in constant
    /// time), then the expiry.
    pub fn check(
        &self,
        method: &str,
        key: &str,
        grant: &UrlGrant,
        now: i64,
    ) -> Result<(), Refusal> {
        let (Some(expires), Some(signature)) = (grant.expires, grant.signature.as_deref()) else {
            return Err(Refusal::BadSignature);
        };
        let signature = hex::decode(signature).map_err(|_| Refusal::BadSignature)?;
        let size = if method == "PUT" { grant.size } else { None };
        if !is_valid_key(key) || (method == "PUT" && size.is_none()) {
            return Err(Refusal::BadSignature);
        }
        let ct = grant.content_type.as_deref().unwrap_or_default();
        self.mac(method, key, expires, size, ct)
            .verify_slice(&signature)
            .map_err(|_| Refusal::BadSignature)?;
        if now > expires {
            return Err(Refusal::Expired);
        }
        Ok(())
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(is_valid_key(key), "not an object key");
        Ok(self.dir.join(key))
    }

    /// Stores an upload through a checked URL, refusing it once it passes `max` bytes. The
    /// object appears whole or not at all (written aside, then renamed).
    pub async fn receive<E: std::fmt::Display>(
        &self,
        key: &str,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        max: u64,
    ) -> Result<(), UploadError> {
        let path = self.path(key)?;
        let partial = partial_path(&path);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .context("creating the object's folder")?;
        }
        let mut file = tokio::fs::File::create(&partial)
            .await
            .context("creating the upload")?;
        let mut written = 0u64;
        let outcome = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| UploadError::Body(e.to_string()))?;
                written += chunk.len() as u64;
                if written > max {
                    return Err(UploadError::TooLarge);
                }
                file.write_all(&chunk).await.context("writing the upload")?;
            }
            file.sync_all().await.context("flushing the upload")?;
            Ok::<(), UploadError>(())
        }
        .await;
        drop(file);
        match outcome {
            Ok(()) => {
                tokio::fs::rename(&partial, &path)
                    .await
                    .context("storing the upload")?;
                Ok(())
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }
}

/// Where an object is written before it is complete: keys have no `.`, so this never is one.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.part", uuid::Uuid::new_v4().simple()));
    PathBuf::from(name)
}

/// Percent-encodes the few characters a content type may carry that a query cannot.
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[async_trait]
impl ObjectStore for FilesystemObjects {
    /// The length is bound into the URL; the digest is checked on confirmation, and the host
    /// refuses an upload once its document is settled (`documents::accepts_upload`).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        _sha256: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest> {
        anyhow::ensure!(is_valid_key(key), "not an object key");
        Ok(self.sign("PUT", key, Some(size), content_type, now, ttl))
    }

    async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest> {
        anyhow::ensure!(is_valid_key(key), "not an object key");
        Ok(self.sign("GET", key, None, content_type, now, ttl))
    }

    async fn inspect(&self, key: &str, read_up_to: u64) -> anyhow::Result<Option<Inspection>> {
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::from(e).context("opening an object")),
        };
        let size = file
            .metadata()
            .await
            .context("reading an object's size")?
            .len();
        if size > read_up_to {
            return Ok(Some(Inspection {
                size,
                head: Vec::new(),
                sha256: None,
            }));
        }
        let mut reader = Reader::default();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer).await.context("reading an object")?;
            if n == 0 {
                break;
            }
            reader.update(&buffer[..n]);
        }
        Ok(Some(reader.finish()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> anyhow::Result<()> {
        let len = bytes.len() as u64;
        let body =
            futures_lite::stream::once(Ok::<_, std::convert::Infallible>(Bytes::from(bytes)));
        self.receive(key, body, len).await.map_err(|e| match e {
            UploadError::Io(e) => e,
            other => anyhow::anyhow!("{other}"),
        })
    }

    async fn get(&self, key: &str, max: u64) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() > max => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::from(e).context("reading an object")),
        }
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::from(e).context("reading an object")),
        }
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::from(e).context("removing an object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> FilesystemObjects {
        let dir = std::env::temp_dir().join(format!("usvc-objects-{}", uuid::Uuid::new_v4()));
        FilesystemObjects::new(&dir, "http://127.0.0.1:8080/", &[9; 32]).unwrap()
    }

    /// The query of a presigned URL, as the route reads it.
    fn grant_of(url: &str) -> (String, UrlGrant) {
        let (path, query) = url.split_once('?').unwrap();
        let key = path.split_once("/v1/objects/").unwrap().1.to_owned();
        let mut grant = UrlGrant::default();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap();
            let value = value.replace("%2F", "/");
            match name {
                "expires" => grant.expires = Some(value.parse().unwrap()),
                "size" => grant.size = Some(value.parse().unwrap()),
                "type" => grant.content_type = Some(value),
                "signature" => grant.signature = Some(value),
                _ => panic!("unexpected {name}"),
            }
        }
        (key, grant)
    }

    #[tokio::test]
    async fn a_presigned_url_is_good_for_its_method_key_and_time_only() {
        let store = store();
        let put = store
            .presign_put(
                "documents/u/d",
                "image/png",
                100,
                "00",
                1_000,
                Duration::from_secs(600),
            )
            .await
            .unwrap();
        assert_eq!(put.expires_at, 1_600);
        assert_eq!(
            put.headers,
            [("Content-Type".to_owned(), "image/png".to_owned())]
        );
        assert!(
            put.url
                .starts_with("http://127.0.0.1:8080/v1/objects/documents/u/d?")
        );
        let (key, grant) = grant_of(&put.url);
        assert_eq!(store.check("PUT", &key, &grant, 1_000), Ok(()));
        assert_eq!(store.check("PUT", &key, &grant, 1_600), Ok(()));
        assert_eq!(
            store.check("PUT", &key, &grant, 1_601),
            Err(Refusal::Expired)
        );
        assert_eq!(
            store.check("GET", &key, &grant, 1_000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            store.check("PUT", "documents/u/e", &grant, 1_000),
            Err(Refusal::BadSignature)
        );

        let tampered = [
            UrlGrant {
                expires: Some(99_999),
                ..grant.clone()
            },
            UrlGrant {
                size: Some(101),
                ..grant.clone()
            },
            UrlGrant {
                content_type: Some("application/pdf".into()),
                ..grant.clone()
            },
            UrlGrant {
                signature: Some("00".repeat(32)),
                ..grant.clone()
            },
            UrlGrant {
                signature: Some("not hex".into()),
                ..grant.clone()
            },
            UrlGrant {
                signature: None,
                ..grant.clone()
            },
        ];
        for bad in tampered {
            assert_eq!(
                store.check("PUT", &key, &bad, 1_000),
                Err(Refusal::BadSignature),
                "{bad:?}"
            );
        }

        let other_key = FilesystemObjects::new(&store.dir, "http://x", &[8; 32]).unwrap();
        assert_eq!(
            other_key.check("PUT", &key, &grant, 1_000),
            Err(Refusal::BadSignature)
        );

        let get = store
            .presign_get("documents/u/d", "image/png", 1_000, Duration::from_secs(60))
            .await
            .unwrap();
        let (key, grant) = grant_of(&get.url);
        assert_eq!(store.check("GET", &key, &grant, 1_060), Ok(()));
        assert_eq!(
            store.check("PUT", &key, &grant, 1_000),
            Err(Refusal::BadSignature)
        );
    }

    #[tokio::test]
    async fn an_upload_is_stored_whole_or_not_at_all() {
        let store = store();
        let chunks = |parts: Vec<&'static [u8]>| {
            futures_lite::stream::iter(
                parts
                    .into_iter()
                    .map(|p| Ok::<_, std::convert::Infallible>(Bytes::from_static(p))),
            )
        };
        let too_big = store
            .receive("documents/u/d", chunks(vec![b"12345", b"6789"]), 8)
            .await;
        assert!(matches!(too_big, Err(UploadError::TooLarge)), "{too_big:?}");
        assert_eq!(store.inspect("documents/u/d", 100).await.unwrap(), None);
        let leftovers = std::fs::read_dir(store.dir.join("documents/u"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0);

        store
            .receive("documents/u/d", chunks(vec![b"1234", b"5678"]), 8)
            .await
            .unwrap();
        let inspection = store.inspect("documents/u/d", 100).await.unwrap().unwrap();
        assert_eq!(inspection.size, 8);
        assert_eq!(inspection.head, b"12345678");
        let measured = store.inspect("documents/u/d", 7).await.unwrap().unwrap();
        assert_eq!((measured.size, measured.sha256), (8, None));
        assert_eq!(
            store.get("documents/u/d", 8).await.unwrap().unwrap(),
            b"12345678"
        );
        store.delete("documents/u/d").await.unwrap();
        store.delete("documents/u/d").await.unwrap();
        assert_eq!(store.get("documents/u/d", 8).await.unwrap(), None);
    }
}
