//! The watched components directory, the other way to deploy: every second each
//! `<kind>.usvc.json` (a signed artifact) and `<kind>.wasm` (a bare component, accepted in
//! development mode only) is looked at, and one whose size or modification time changed goes
//! through the same [`Lifecycle::deploy`] as an upload, deployed by `components-dir`: checked,
//! stored, made active on every host. A file that is refused leaves the active version in
//! place and the log says why. The files present at start-up are the baseline the host loaded,
//! not deploys.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::Lifecycle;
use crate::runtime::ComponentKind;

const POLL: Duration = Duration::from_secs(1);

/// Who deploys what the directory holds.
pub const DIRECTORY: &str = "components-dir";

/// Runs until the task is aborted.
pub async fn watch(lifecycle: Arc<Lifecycle>, dir: PathBuf) {
    let mut seen: HashMap<PathBuf, (u64, SystemTime)> = HashMap::new();
    for path in paths(&dir) {
        if let Some(stamp) = stamp(&path.1) {
            seen.insert(path.1, stamp);
        }
    }
    loop {
        tokio::time::sleep(POLL).await;
        for (kind, path) in paths(&dir) {
            let Some(now) = stamp(&path) else { continue };
            if seen.get(&path) == Some(&now) {
                continue;
            }
            seen.insert(path.clone(), now);
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::warn!(%kind, %error, "a changed component file could not be read");
                    continue;
                }
            };
            match lifecycle.deploy(&bytes, Some(kind), DIRECTORY, false).await {
                Ok(deployed) if deployed.changed => {
                    tracing::info!(%kind, digest = %deployed.version.digest, "component deployed from the components directory")
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%kind, code = error.code().unwrap_or("deploy.failed"), error = %error, "a changed component file was not deployed; the active version stays")
                }
            }
        }
    }
}

/// The files of each kind, the artifact first.
fn paths(dir: &Path) -> Vec<(ComponentKind, PathBuf)> {
    ComponentKind::ALL
        .into_iter()
        .flat_map(|kind| {
            [
                (kind, dir.join(format!("{}.usvc.json", kind.name()))),
                (kind, dir.join(format!("{}.wasm", kind.name()))),
            ]
        })
        .collect()
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}
