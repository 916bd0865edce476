//! Pins the baseline components this binary is built with: the SHA-256 of each
//! `<kind>.wasm` in `USVC_BASELINE_COMPONENTS` (else `USVC_COMPONENTS_DIR`, else the workspace's
//! `target/components`, where `make components` puts them; a relative path is the workspace's),
//! so that in production the host loads a bare component
//! from its components directory only when it is one of the release's own
//! (`runtime::baseline`).

use std::{
    env, fs,
    path::{Path, PathBuf},
};

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
    embed_reference_components(&workspace);
}

/// Embeds the sources of each reference component (its crate under `components/<kind>`, tests
/// aside) for `usvc components new`, which starts a policy author's crate from them.
fn embed_reference_components(workspace: &Path) {
    let mut source = String::from(
        "/// `(kind, [(path in the crate, contents)])` of each reference component.\npub const REFERENCE: &[(&str, &[(&str, &str)])] = &[\n",
    );
    for kind in KINDS {
        let root = workspace.join("components").join(kind);
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        collect(&root, &root, &mut files);
        files.sort();
        source.push_str(&format!("    ({kind:?}, &[\n"));
        for (relative, path) in files {
            println!("cargo:rerun-if-changed={}", path.display());
            source.push_str(&format!(
                "        ({relative:?}, include_str!({:?})),\n",
                path.display().to_string()
            ));
        }
        source.push_str("    ]),\n");
    }
    source.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("reference.rs");
    fs::write(out, source).expect("writing the reference components");
}

/// Every file under `dir` but the crate's tests and build output, as `(path from root, path)`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if dir == root && (name == "tests" || name == "target") {
                continue;
            }
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            files.push((relative, path));
        }
    }
}
