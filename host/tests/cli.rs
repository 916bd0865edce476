//! The `usvc components` commands a compliance team uses, run as the real binary: a key made,
//! a component signed, the artifact verified as a production host would, and each tampering
//! refused with its reason.

use std::{path::PathBuf, process::Command};

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "usvc-cli-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Runs `usvc ARGS` with only the given environment; (success, stdout, stderr).
fn usvc(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_usvc"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("running usvc");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_component_is_signed_and_verified_and_tampering_is_refused() {
    let scratch = Scratch::new();
    let key = scratch.path("signer.pem");
    let (ok, pem, _) = usvc(&["components", "keygen"], &[]);
    assert!(ok && pem.contains("PRIVATE KEY"));
    std::fs::write(&key, pem).unwrap();
    let (ok, public, _) = usvc(&["components", "public-key", key.to_str().unwrap()], &[]);
    assert!(ok);
    let signers = format!("compliance={}", public.trim());

    let component = scratch.path("mfa.wasm");
    std::fs::write(&component, b"\0asm\x0d\0\x01\0 a component").unwrap();
    let (ok, artifact, stderr) = usvc(
        &[
            "components",
            "sign",
            component.to_str().unwrap(),
            "mfa",
            "1.4.0",
            "compliance",
            key.to_str().unwrap(),
            "never ask on a known device",
            "security team",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let signed = scratch.path("mfa.usvc.json");
    std::fs::write(&signed, &artifact).unwrap();

    let verify = |path: &PathBuf, env: &[(&str, &str)]| {
        usvc(&["components", "verify", path.to_str().unwrap()], env)
    };
    let (ok, out, stderr) = verify(&signed, &[("USVC_COMPONENT_SIGNERS", &signers)]);
    assert!(ok, "{stderr}");
    assert!(
        out.starts_with("ok: mfa 1.4.0 (usvc:host/mfa), signed by compliance"),
        "{out}"
    );

    // No trusted signer configured: refused, saying why.
    let (ok, _, stderr) = verify(&signed, &[]);
    assert!(!ok);
    assert!(stderr.contains("artifact.unknown_signer"), "{stderr}");

    // A version edited after signing.
    let edited = scratch.path("edited.usvc.json");
    std::fs::write(&edited, artifact.replace("1.4.0", "2.0.0")).unwrap();
    let (ok, _, stderr) = verify(&edited, &[("USVC_COMPONENT_SIGNERS", &signers)]);
    assert!(!ok);
    assert!(stderr.contains("artifact.bad_signature"), "{stderr}");

    // A bare component is not an artifact a production host accepts.
    let (ok, _, stderr) = verify(&component, &[("USVC_COMPONENT_SIGNERS", &signers)]);
    assert!(!ok);
    assert!(stderr.contains("artifact.unsigned"), "{stderr}");

    // An unknown kind and a version that is not semantic are refused before signing.
    let (ok, _, stderr) = usvc(
        &[
            "components",
            "sign",
            component.to_str().unwrap(),
            "payments",
            "1.0.0",
            "compliance",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok && stderr.contains("payments"), "{stderr}");
    let (ok, _, stderr) = usvc(
        &[
            "components",
            "sign",
            component.to_str().unwrap(),
            "mfa",
            "latest",
            "compliance",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok && stderr.contains("semantic version"), "{stderr}");
}

#[test]
fn deploy_list_and_rollback_need_an_administrator_and_a_reachable_service() {
    let (ok, _, err) = usvc(&["components", "list"], &[]);
    assert!(!ok && err.contains("USVC_ADMIN_TOKEN"), "{err}");
    // Nothing listens on this port: the command says where it could not reach.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [("USVC_URL", url.as_str()), ("USVC_ADMIN_TOKEN", "token")];
    let (ok, _, err) = usvc(&["components", "rollback", "mfa", "00"], &env);
    assert!(!ok && err.contains("reaching"), "{err}");
    let (ok, _, err) = usvc(&["components", "deploy", "no-such.usvc.json"], &env);
    assert!(!ok && err.contains("reading no-such.usvc.json"), "{err}");
}
