//! Pins the baseline components this binary is built with: the SHA-256 of each
//! `<kind>.wasm` in `USVC_BASELINE_COMPONENTS` (else `USVC_COMPONENTS_DIR`, else the workspace's
//! `target/components`, where `make components` puts them; a relative path is the workspace's),
//! so that in production the host loads a bare component
//! from its components directory only when it is one of the release's own
//! (`runtime::baseline`).

use std::{env, fs, path::PathBuf};

use sha2::{Digest, Sha256};

const KINDS: [&str; 3] = ["onboarding", "mfa", "verification"];

fn main() {
    println!("cargo:rerun-if-env-changed=USVC_BASELINE_COMPONENTS");
    println!("cargo:rerun-if-env-changed=USVC_COMPONENTS_DIR");
    let workspace = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("..");
    let dir = env::var_os("USVC_BASELINE_COMPONENTS")
        .or_else(|| env::var_os("USVC_COMPONENTS_DIR"))
        .map(PathBuf::from)
        .map(|dir| workspace.join(dir))
        .unwrap_or_else(|| workspace.join("target/components"));
    let mut pinned = Vec::new();
    if dir.is_dir() {
        println!("cargo:rerun-if-changed={}", dir.display());
        for kind in KINDS {
            let path = dir.join(format!("{kind}.wasm"));
            if let Ok(bytes) = fs::read(&path) {
                println!("cargo:rerun-if-changed={}", path.display());
                pinned.push(format!(
                    "    ({kind:?}, {:?}),",
                    hex::encode(Sha256::digest(&bytes))
                ));
            }
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("baseline.rs");
    let source = format!(
        "/// `(kind, SHA-256)` of each baseline component this binary was built with.\npub const PINNED: &[(&str, &str)] = &[\n{}\n];\n",
        pinned.join("\n")
    );
    fs::write(out, source).expect("writing the baseline pins");
}
