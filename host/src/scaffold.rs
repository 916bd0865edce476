//! `usvc components new <kind> <dir>`: a policy author's new component crate, started from this
//! release's reference policy of that kind (its sources are embedded at build time), with a
//! test against the kind's kit that passes as generated, joined to the workspace.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail, ensure};

use crate::runtime::ComponentKind;

include!(concat!(env!("OUT_DIR"), "/reference.rs"));

/// What was created: the package name and where.
#[derive(Debug)]
pub struct Scaffolded {
    pub package: String,
    pub dir: PathBuf,
    /// Whether the workspace's `Cargo.toml` now lists the crate.
    pub joined_workspace: bool,
}

/// Writes a new crate of `kind` to `dir` (relative to `workspace`, the folder holding the
/// workspace's `Cargo.toml` and `wit/`).
pub fn new_component(
    kind: ComponentKind,
    workspace: &Path,
    dir: &Path,
) -> anyhow::Result<Scaffolded> {
    ensure!(
        dir.is_relative() && dir.components().all(|c| matches!(c, Component::Normal(_))),
        "give the new crate's folder relative to the workspace, such as components/stricter-onboarding"
    );
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("the folder needs a name")?;
    ensure!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && name.as_bytes()[0].is_ascii_lowercase(),
        "the folder's name becomes the crate's: lower-case letters, digits and hyphens, starting with a letter"
    );
    ensure!(
        ComponentKind::from_name(name).is_none(),
        "{name} is the name of a reference component; choose another"
    );
    let target = workspace.join(dir);
    if target.exists() && target.read_dir()?.next().is_some() {
        bail!("{} exists and is not empty", target.display());
    }
    let files = REFERENCE
        .iter()
        .find(|(k, _)| *k == kind.name())
        .map(|(_, files)| *files)
        .context("no reference component of that kind is embedded in this binary")?;
    let package = format!("usvc-{name}");
    let wit = format!("{}wit", "../".repeat(dir.components().count()));
    for (path, contents) in files {
        let contents = match *path {
            "Cargo.toml" => manifest(contents, kind, &package),
            "src/lib.rs" => contents.replace("path: \"../../wit\"", &format!("path: {wit:?}")),
            _ => (*contents).to_owned(),
        };
        write(&target.join(path), &contents)?;
    }
    write(&target.join("tests/policy.rs"), &test(kind, name))?;
    let joined_workspace = join_workspace(&workspace.join("Cargo.toml"), dir)?;
    Ok(Scaffolded {
        package,
        dir: target,
        joined_workspace,
    })
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// The reference crate's manifest under the new name.
fn manifest(reference: &str, kind: ComponentKind, package: &str) -> String {
    reference
        .lines()
        .map(|line| {
            if line.starts_with("name = ") {
                format!("name = {package:?}")
            } else if line.starts_with("description = ") {
                format!(
                    "description = \"A {} policy, started from usvc's reference policy.\"",
                    kind.name()
                )
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Adds `dir` to the workspace's members; false when there is no workspace manifest or it
/// lists the crate already.
fn join_workspace(manifest: &Path, dir: &Path) -> anyhow::Result<bool> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Ok(false);
    };
    let member = format!("\"{}\"", dir.to_string_lossy().replace('\\', "/"));
    let Some(start) = text.find("members = [") else {
        return Ok(false);
    };
    let end = start
        + text[start..]
            .find(']')
            .context("members = [ is never closed")?;
    if text[start..end].contains(&member) {
        return Ok(false);
    }
    let updated = format!("{}    {member},\n{}", &text[..end], &text[end..]);
    std::fs::write(manifest, updated)?;
    Ok(true)
}

/// A first test against the kind's kit, loading this crate's own build.
fn test(kind: ComponentKind, name: &str) -> String {
    let wasm = format!("{name}.wasm");
    let body = match kind {
        ComponentKind::Onboarding => format!(
            r#"use usvc_testkit::{{Application, OnboardingKit, UserStatus, components_dir}};

async fn kit() -> OnboardingKit {{
    OnboardingKit::builder()
        .component(components_dir().join({wasm:?}))
        .build()
        .await
}}

fn applicant() -> Application {{
    Application {{
        email: "ada@example.com".into(),
        password: "plum sandwich orbit lantern 4".into(),
        legal_name: "Ada Lovelace".into(),
        date_of_birth: "1990-12-10".into(),
        country_of_residence: "GB".into(),
        phone: None,
    }}
}}

#[tokio::test]
async fn an_adult_applicant_is_registered_pending_confirmation() {{
    let kit = kit().await;
    kit.register(applicant()).await.expect("accepted");
    let users = kit.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].status, UserStatus::PendingVerification);
}}

#[tokio::test]
async fn a_minor_is_refused_and_nothing_is_written() {{
    let kit = kit().await;
    let refused = Application {{
        date_of_birth: "2015-01-01".into(),
        ..applicant()
    }};
    assert!(kit.register(refused).await.is_err());
    assert!(kit.users().await.is_empty());
}}
"#
        ),
        ComponentKind::Mfa => format!(
            r#"use usvc_testkit::{{MfaKit, components_dir}};

async fn kit() -> MfaKit {{
    MfaKit::builder()
        .component(components_dir().join({wasm:?}))
        .build()
        .await
}}

#[tokio::test]
async fn a_customer_can_start_enrolling_an_authenticator_app() {{
    let kit = kit().await;
    let user = kit.active_customer("ada@example.com").await;
    let enrolment = kit.enrol_totp(user.clone()).await.expect("enrolment starts");
    assert!(!enrolment.secret.is_empty());
    assert_eq!(kit.factor_ids(&user).await, [enrolment.factor_id]);
}}
"#
        ),
        ComponentKind::Verification => format!(
            r#"use usvc_testkit::{{
    Customer, ProfileFacts, VerificationKit, VerificationStatus, components_dir,
}};

async fn kit() -> VerificationKit {{
    VerificationKit::builder()
        .component(components_dir().join({wasm:?}))
        .build()
        .await
}}

#[tokio::test]
async fn a_customer_with_nothing_on_file_is_not_verified() {{
    let kit = kit().await;
    let decision = kit
        .decide(Customer {{
            user: "019ad1c0-11aa-7b7c-8e0f-5d2c4b3a1f00".to_owned(),
            profile: ProfileFacts {{
                has_legal_name: false,
                date_of_birth: None,
                nationality: None,
                address_country: None,
                country_of_residence: None,
                email_verified: false,
            }},
            documents: Vec::new(),
            kyc_results: Vec::new(),
            open_check: None,
            requested: false,
        }})
        .await;
    assert_eq!(decision.tier, 0);
    assert_ne!(decision.status, VerificationStatus::Verified);
}}
"#
        ),
    };
    format!(
        "//! The {} policy's specification: its compiled `{wasm}` in the real runtime through the\n//! test kit (`make components` builds it). Start here, then test every rule you change.\n\n{body}",
        kind.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder standing for a workspace.
    fn workspace(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("usvc-scaffold-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_kind_has_an_embedded_reference_with_a_manifest_and_a_world() {
        for kind in ComponentKind::ALL {
            let (_, files) = REFERENCE
                .iter()
                .find(|(k, _)| *k == kind.name())
                .expect("embedded");
            let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
            assert!(paths.contains(&"Cargo.toml"), "{kind:?}: {paths:?}");
            let lib = files.iter().find(|(p, _)| *p == "src/lib.rs").expect("lib");
            assert!(lib.1.contains("path: \"../../wit\""), "{kind:?}");
            assert!(!paths.iter().any(|p| p.starts_with("tests/")), "{paths:?}");
        }
    }

    #[test]
    fn a_new_crate_is_named_after_its_folder_and_joins_the_workspace() {
        let workspace = workspace("joins");
        std::fs::write(
            workspace.join("Cargo.toml"),
            "[workspace]\nmembers = [\n    \"components/mfa\",\n]\n",
        )
        .unwrap();
        let made = new_component(
            ComponentKind::Mfa,
            &workspace,
            Path::new("policies/strict-mfa"),
        )
        .unwrap();
        assert_eq!(made.package, "usvc-strict-mfa");
        assert!(made.joined_workspace);
        let manifest = std::fs::read_to_string(made.dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("name = \"usvc-strict-mfa\""),
            "{manifest}"
        );
        assert!(manifest.contains("kind = \"mfa\""), "{manifest}");
        let lib = std::fs::read_to_string(made.dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("path: \"../../wit\""));
        let test = std::fs::read_to_string(made.dir.join("tests/policy.rs")).unwrap();
        assert!(test.contains("strict-mfa.wasm"), "{test}");
        let root = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap();
        assert!(root.contains("\"policies/strict-mfa\","), "{root}");
        // Twice is refused: the folder is no longer empty.
        assert!(
            new_component(
                ComponentKind::Mfa,
                &workspace,
                Path::new("policies/strict-mfa")
            )
            .is_err()
        );
    }

    #[test]
    fn a_reference_name_or_an_absolute_folder_is_refused() {
        let workspace = workspace("refused");
        for dir in [
            "components/onboarding",
            "/tmp/x",
            "../outside",
            "components/Bad_Name",
        ] {
            assert!(
                new_component(ComponentKind::Onboarding, &workspace, Path::new(dir)).is_err(),
                "{dir}"
            );
        }
    }
}
