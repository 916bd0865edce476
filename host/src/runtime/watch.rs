//! Picks up a component replaced in the components directory without a restart: every second
//! each `<kind>.wasm` is looked at, and one whose size or modification time changed is
//! compiled, checked against its kind's world and, when its digest differs, made active. Calls
//! already running finish on the version they started with. A file that fails to load leaves
//! the active version in place and is logged.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::{ComponentKind, Runtime};

const POLL: Duration = Duration::from_secs(1);

/// Runs until the task is aborted.
pub async fn watch(runtime: Arc<Runtime>, dir: PathBuf) {
    let mut seen: HashMap<ComponentKind, (u64, SystemTime)> = HashMap::new();
    for kind in ComponentKind::ALL {
        if let Some(stamp) = stamp(&path_of(&dir, kind)) {
            seen.insert(kind, stamp);
        }
    }
    loop {
        tokio::time::sleep(POLL).await;
        for kind in ComponentKind::ALL {
            let path = path_of(&dir, kind);
            let Some(now) = stamp(&path) else { continue };
            if seen.get(&kind) == Some(&now) {
                continue;
            }
            seen.insert(kind, now);
            let runtime = runtime.clone();
            let loaded = tokio::task::spawn_blocking(move || reload(&runtime, kind, &path)).await;
            match loaded {
                Ok(Ok(Some(digest))) => {
                    tracing::info!(%kind, %digest, "component replaced from the components directory")
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%kind, error = %format!("{error:#}"), "a changed component was not loaded; the active version stays")
                }
                Err(error) => tracing::warn!(%kind, %error, "component reload task failed"),
            }
        }
    }
}

fn path_of(dir: &Path, kind: ComponentKind) -> PathBuf {
    dir.join(format!("{}.wasm", kind.name()))
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// The new digest when the file held a different component, now active.
fn reload(runtime: &Runtime, kind: ComponentKind, path: &Path) -> anyhow::Result<Option<String>> {
    let bytes = std::fs::read(path)?;
    let registry = runtime.registry();
    let component = registry.prepare(kind, &bytes)?;
    if registry
        .active(kind)
        .is_some_and(|active| active.digest == component.digest)
    {
        return Ok(None);
    }
    let digest = component.digest.clone();
    registry.activate(component);
    Ok(Some(digest))
}
