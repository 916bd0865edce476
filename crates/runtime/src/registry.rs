//! The component registry: for each kind, the active compiled component, pre-instantiated
//! against a linker that grants exactly the interfaces of that kind's world.

use std::{collections::HashMap, path::Path, sync::Arc};

use anyhow::Context;
use arc_swap::ArcSwapOption;
use sha2::{Digest, Sha256};
use wasmtime::{
    Engine,
    component::{Component, ComponentExportIndex, InstancePre, Linker},
};

pub use usvc_capabilities::ComponentKind;

use super::{
    bindings,
    call::CallState,
    decision::{Trial, TrialMode},
};

/// A compiled component, type-checked against its world and ready to instantiate.
pub struct LoadedComponent {
    pub kind: ComponentKind,
    /// Hex SHA-256 of the component's bytes.
    pub digest: String,
    pub size: usize,
    pub(crate) prepared: Prepared,
    /// `run` of the `self-test` interface, when the component exports it.
    pub(crate) self_test: Option<ComponentExportIndex>,
}

/// The export a component's optional self-test is found under.
const SELF_TEST: &str = "usvc:host/self-test@0.1.0";

pub(crate) enum Prepared {
    Onboarding(bindings::onboarding::OnboardingPre<CallState>),
    Mfa(bindings::mfa::MfaPre<CallState>),
    Verification(bindings::verification::VerificationPolicyPre<CallState>),
}

impl Prepared {
    /// The pre-instantiated component, for calling exports outside its world (the self-test).
    pub(crate) fn instance_pre(&self) -> &InstancePre<CallState> {
        match self {
            Self::Onboarding(pre) => pre.instance_pre(),
            Self::Mfa(pre) => pre.instance_pre(),
            Self::Verification(pre) => pre.instance_pre(),
        }
    }
}

pub struct Registry {
    engine: Engine,
    active: HashMap<ComponentKind, ArcSwapOption<LoadedComponent>>,
    trials: HashMap<ComponentKind, ArcSwapOption<Trial>>,
}

impl Registry {
    pub(crate) fn new(engine: Engine) -> Self {
        fn empty<T>() -> HashMap<ComponentKind, ArcSwapOption<T>> {
            ComponentKind::ALL
                .into_iter()
                .map(|k| (k, ArcSwapOption::empty()))
                .collect()
        }
        Self {
            engine,
            active: empty(),
            trials: empty(),
        }
    }

    pub fn active(&self, kind: ComponentKind) -> Option<Arc<LoadedComponent>> {
        self.active[&kind].load_full()
    }

    /// The candidate on trial for `kind`, if any.
    pub fn trial(&self, kind: ComponentKind) -> Option<Arc<Trial>> {
        self.trials[&kind].load_full()
    }

    /// Puts `candidate` on trial for its kind, replacing any earlier trial.
    pub fn start_trial(&self, candidate: LoadedComponent, mode: TrialMode) {
        let kind = candidate.kind;
        self.trials[&kind].store(Some(Arc::new(Trial {
            candidate: Arc::new(candidate),
            mode,
        })));
    }

    /// Ends the trial of `kind`; calls already running finish as they started.
    pub fn end_trial(&self, kind: ComponentKind) {
        self.trials[&kind].store(None);
    }

    /// Compiles and checks `bytes` as a `kind` component without activating it.
    pub fn prepare(&self, kind: ComponentKind, bytes: &[u8]) -> anyhow::Result<LoadedComponent> {
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| explain(e, format!("{kind}: not a valid WebAssembly component")))?;
        let linker = linker_for(&self.engine, kind)?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            explain(
                e,
                format!("{kind}: the component imports something its world does not grant"),
            )
        })?;
        let self_test = component
            .get_export_index(None, SELF_TEST)
            .and_then(|interface| component.get_export_index(Some(&interface), "run"));
        let no_export = |e| {
            explain(
                e,
                format!("{kind}: the component does not export its world's interface"),
            )
        };
        let prepared = match kind {
            ComponentKind::Onboarding => Prepared::Onboarding(
                bindings::onboarding::OnboardingPre::new(pre).map_err(no_export)?,
            ),
            ComponentKind::Mfa => {
                Prepared::Mfa(bindings::mfa::MfaPre::new(pre).map_err(no_export)?)
            }
            ComponentKind::Verification => Prepared::Verification(
                bindings::verification::VerificationPolicyPre::new(pre).map_err(no_export)?,
            ),
        };
        Ok(LoadedComponent {
            kind,
            digest: hex::encode(Sha256::digest(bytes)),
            size: bytes.len(),
            prepared,
            self_test,
        })
    }

    /// Makes `component` the active one of its kind. Calls already running keep the version
    /// they started with.
    pub fn activate(&self, component: LoadedComponent) {
        self.active[&component.kind].store(Some(Arc::new(component)));
    }

    pub fn load_file(
        &self,
        kind: ComponentKind,
        path: &Path,
    ) -> anyhow::Result<Arc<LoadedComponent>> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let component = self.prepare(kind, &bytes)?;
        self.activate(component);
        Ok(self.active(kind).expect("just activated"))
    }

    /// Loads `<kind>.wasm` for every kind present in `dir`; with `pinned` (production), only
    /// the baseline components the binary was built with, given as `(kind, SHA-256)`, and any
    /// other file stops start-up.
    pub fn load_dir(
        &self,
        dir: &Path,
        pinned: Option<&[(&str, &str)]>,
    ) -> anyhow::Result<Vec<Arc<LoadedComponent>>> {
        let mut loaded = Vec::new();
        for kind in ComponentKind::ALL {
            let path = dir.join(format!("{}.wasm", kind.name()));
            if !path.exists() {
                continue;
            }
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let component = self.prepare(kind, &bytes)?;
            let is_pinned = |pins: &[(&str, &str)]| {
                pins.iter()
                    .any(|(k, digest)| *k == kind.name() && *digest == component.digest)
            };
            if pinned.is_some_and(|pins| !is_pinned(pins)) {
                anyhow::bail!(
                    "{} is not the {kind} component this release was built with (SHA-256 {}): \
                     in production only the release's own components load from the directory; \
                     deploy any other version as a signed artifact",
                    path.display(),
                    component.digest
                );
            }
            self.activate(component);
            loaded.push(self.active(kind).expect("just activated"));
        }
        Ok(loaded)
    }
}

fn explain(error: wasmtime::Error, why: String) -> anyhow::Error {
    anyhow::Error::from(error).context(why)
}

/// The linker of one kind: WASI (with nothing granted beyond a clock and stderr) plus exactly
/// the capabilities the kind's world imports. A component asking for more fails to link.
fn linker_for(engine: &Engine, kind: ComponentKind) -> anyhow::Result<Linker<CallState>> {
    use crate::capabilities::interfaces::{
        audit::Trail, clock::Time, credentials::Passwords, events::Outbox, factors::Factors,
        kv::Kv, kyc::Checks, logging::Log, notify::Messages, users::Directory,
    };
    use bindings::usvc::host as caps;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    match kind {
        ComponentKind::Onboarding => {
            caps::types::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
            caps::users::add_to_linker::<_, Directory>(&mut linker, CallState::directory)?;
            caps::credentials::add_to_linker::<_, Passwords>(&mut linker, CallState::passwords)?;
            caps::events::add_to_linker::<_, Outbox>(&mut linker, CallState::outbox)?;
            caps::notify::add_to_linker::<_, Messages>(&mut linker, CallState::messages)?;
            caps::clock::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
        }
        ComponentKind::Mfa => {
            caps::types::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
            caps::users::add_to_linker::<_, Directory>(&mut linker, CallState::directory)?;
            caps::factors::add_to_linker::<_, Factors>(&mut linker, CallState::factors)?;
            caps::notify::add_to_linker::<_, Messages>(&mut linker, CallState::messages)?;
            caps::kv::add_to_linker::<_, Kv>(&mut linker, CallState::kv)?;
            caps::events::add_to_linker::<_, Outbox>(&mut linker, CallState::outbox)?;
            caps::audit::add_to_linker::<_, Trail>(&mut linker, CallState::trail)?;
            caps::clock::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
        }
        ComponentKind::Verification => {
            caps::types::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
            caps::kyc::add_to_linker::<_, Checks>(&mut linker, CallState::checks)?;
            caps::clock::add_to_linker::<_, Time>(&mut linker, CallState::time)?;
        }
    }
    // Every kind may log and read its own settings.
    bindings::wasi::logging::logging::add_to_linker::<_, Log>(&mut linker, CallState::log)?;
    wasmtime_wasi_config::add_to_linker(&mut linker, |s: &mut CallState| {
        wasmtime_wasi_config::WasiConfig::from(&*s.settings)
    })?;
    Ok(linker)
}
