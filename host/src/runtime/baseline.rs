//! The baseline components a release ships, pinned by digest when the binary is built
//! (`host/build.rs`): in production a bare `<kind>.wasm` in the components directory loads only
//! when it is one of them, so writing to that directory is no way to run unsigned code. Every
//! other version goes live as a signed artifact.

use super::ComponentKind;

include!(concat!(env!("OUT_DIR"), "/baseline.rs"));

/// Whether `digest` is the baseline `kind` component this binary was built with.
pub fn is_pinned(kind: ComponentKind, digest: &str) -> bool {
    PINNED
        .iter()
        .any(|(pinned_kind, pinned)| *pinned_kind == kind.name() && *pinned == digest)
}
