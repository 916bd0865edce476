//! The object store on S3 or any S3-compatible server (MinIO, s3s-fs): SigV4-presigned URLs,
//! path-style addressing, one bucket, credentials from configuration. Every call has a deadline.
//! Must not: log a presigned URL or a credential.

use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation, timeout::TimeoutConfig,
    },
    error::{DisplayErrorContext, SdkError},
    presigning::PresigningConfig,
    primitives::ByteStream,
};

use usvc_core::documents::objects::{Inspection, ObjectStore, PresignedRequest, Reader};

pub struct S3Objects {
    client: Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(settings: &S3Settings) -> Self {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "usvc-configuration",
        );
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .http_client(http)
            // Checksums only where S3 requires them: a presigned PUT must not carry the
            // checksum of an empty body, and usvc checks SHA-256 itself on confirmation.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
        }
    }
}

fn presigning(now: i64, ttl: Duration) -> anyhow::Result<PresigningConfig> {
    PresigningConfig::builder()
        .start_time(UNIX_EPOCH + Duration::from_secs(now.max(0) as u64))
        .expires_in(ttl)
        .build()
        .context("presigning settings")
}

fn failed<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    what: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {}", DisplayErrorContext(e))
}

/// Whether an S3 failure says the object does not exist.
fn is_missing<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(service) => service.err().code() == Some("NoSuchKey"),
        _ => false,
    }
}

fn presigned(
    request: aws_sdk_s3::presigning::PresignedRequest,
    expires_at: i64,
) -> PresignedRequest {
    let method = match request.method() {
        "PUT" => "PUT",
        _ => "GET",
    };
    PresignedRequest {
        method,
        url: request.uri().to_owned(),
        headers: request
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
        expires_at,
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    /// The length and the SHA-256 are signed headers: S3 takes no other bytes through this URL,
    /// so a confirmed object cannot be replaced with different content, and nothing larger
    /// than declared is stored.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest> {
        use base64::Engine as _;
        let digest = hex::decode(sha256).context("the declared SHA-256 is not hex")?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(size).context("size")?)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
            .presigned(presigning(now, ttl)?)
            .await
            .map_err(failed("presigning an upload"))?;
        Ok(presigned(request, now + ttl.as_secs() as i64))
    }

    async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .presigned(presigning(now, ttl)?)
            .await
            .map_err(failed("presigning a download"))?;
        Ok(presigned(request, now + ttl.as_secs() as i64))
    }

    async fn inspect(&self, key: &str, read_up_to: u64) -> anyhow::Result<Option<Inspection>> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(failed("reading an object")(e)),
        };
        let size = object.content_length().unwrap_or_default().max(0) as u64;
        if size > read_up_to {
            return Ok(Some(Inspection {
                size,
                head: Vec::new(),
                sha256: None,
            }));
        }
        let mut body = object.body;
        let mut reader = Reader::default();
        while let Some(chunk) = body.try_next().await.context("reading an object")? {
            reader.update(&chunk);
        }
        Ok(Some(reader.finish()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(failed("storing an object"))?;
        Ok(())
    }

    async fn get(&self, key: &str, max: u64) -> anyhow::Result<Option<Vec<u8>>> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(failed("reading an object")(e)),
        };
        if object.content_length().unwrap_or_default().max(0) as u64 > max {
            return Ok(None);
        }
        let bytes = object
            .body
            .collect()
            .await
            .context("reading an object")?
            .into_bytes();
        Ok(Some(bytes.to_vec()))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(failed("removing an object"))?;
        Ok(())
    }
}

/// An S3 bucket (path-style addressing). The secret is never printed.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `USVC_S3_ENDPOINT`, e.g. `http://127.0.0.1:9000`; AWS's own endpoint when unset.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}
