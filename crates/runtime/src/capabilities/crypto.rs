//! `usvc:host/crypto`: randomness and digests for flows that need them (no world imports it
//! yet; the MFA world will).

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{CallState, bindings::usvc::host::crypto::Host};

const MAX_RANDOM_BYTES: u32 = 1024;

impl Host for CallState {
    async fn random_bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            wasmtime::bail!("crypto.random-bytes: at most {MAX_RANDOM_BYTES} bytes per call");
        }
        let mut bytes = vec![0; len as usize];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Ok(bytes)
    }

    async fn constant_time_eq(&mut self, a: Vec<u8>, b: Vec<u8>) -> wasmtime::Result<bool> {
        Ok(crate::secrets::constant_time_eq(&a, &b))
    }

    async fn sha256(&mut self, data: Vec<u8>) -> wasmtime::Result<Vec<u8>> {
        Ok(Sha256::digest(&data).to_vec())
    }
}
