//! Object storage: where uploaded documents and avatars live, behind one contract with two
//! implementations — S3 (or any S3-compatible store, in `usvc-adapters`) and a folder served by
//! this host itself (`files.rs`, the embedded default). Clients move the bytes of a document straight to
//! and from the store through short-lived presigned URLs; the host reads an object back only to
//! confirm it. Must not: know what a document is, or log a URL (its signature is a credential).

use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// A request the client makes on its own, authorised by the URL's signature until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: &'static str,
    pub url: String,
    /// Headers the client must send exactly as given (they are part of the signature).
    pub headers: Vec<(String, String)>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What the host learnt by reading an object back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub size: u64,
    /// The first bytes (up to [`HEAD_BYTES`]), for content sniffing; empty when not read.
    pub head: Vec<u8>,
    /// SHA-256 of the whole object, lowercase hex; `None` when it was larger than the caller
    /// was willing to read.
    pub sha256: Option<String>,
}

/// How many leading bytes an inspection keeps.
pub const HEAD_BYTES: usize = 16;

/// The store of document and avatar objects, addressed by key (`documents/<user>/<id>`,
/// `avatars/<user>`).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A URL the client PUTs exactly `size` bytes of `content_type` to, valid for `ttl` from
    /// `now` (Unix seconds). Where the store can bind them into the signature, the length and
    /// the declared SHA-256 (`sha256`, lower-case hex) are bound, so no other bytes are taken.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        sha256: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest>;

    /// A URL the client GETs the object from, answered with `content_type`.
    async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        now: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedRequest>;

    /// Reads the object back while hashing it; `None` when there is none. An object larger
    /// than `read_up_to` bytes is measured but not read.
    async fn inspect(&self, key: &str, read_up_to: u64) -> anyhow::Result<Option<Inspection>>;

    /// Stores `bytes` under `key` (the host's own uploads: avatars).
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> anyhow::Result<()>;

    /// The whole object, when it exists and is at most `max` bytes.
    async fn get(&self, key: &str, max: u64) -> anyhow::Result<Option<Vec<u8>>>;

    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// Hashes an object as its chunks arrive, keeping its first bytes: how every store inspects one.
#[derive(Default)]
pub struct Reader {
    size: u64,
    head: Vec<u8>,
    hasher: Sha256,
}

impl Reader {
    pub fn update(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        if self.head.len() < HEAD_BYTES {
            let wanted = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..wanted]);
        }
        self.hasher.update(chunk);
    }

    pub fn finish(self) -> Inspection {
        Inspection {
            size: self.size,
            head: self.head,
            sha256: Some(hex::encode(self.hasher.finalize())),
        }
    }
}

/// An object key as usvc writes them: lower-case letters, digits, `-` and `_` in segments
/// separated by `/`, none empty, no `.` anywhere (so a key never leaves its folder).
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_hashes_every_chunk_and_keeps_the_first_bytes() {
        let mut reader = Reader::default();
        reader.update(b"%PDF-1.7 ");
        reader.update(b"the rest of the document");
        let inspection = reader.finish();
        assert_eq!(inspection.size, 33);
        assert_eq!(inspection.head, b"%PDF-1.7 the res");
        assert_eq!(
            inspection.sha256.unwrap(),
            hex::encode(Sha256::digest(b"%PDF-1.7 the rest of the document"))
        );
    }

    #[test]
    fn keys_stay_inside_their_folder() {
        assert!(is_valid_key("documents/0190-ab/0191-cd"));
        assert!(is_valid_key("avatars/0190-ab"));
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/../b", "a/.b", "A/b", "a b", "a\\b",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }
}
