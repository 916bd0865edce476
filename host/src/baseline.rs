//! The baseline components a release ships, pinned by digest when the binary is built
//! (`build.rs`): in production a bare `<kind>.wasm` in the components directory loads only
//! when it is one of them, so writing to that directory is no way to run unsigned code. Every
//! other version goes live as a signed artifact. The registry checks a directory load against
//! [`PINNED`] in production.

include!(concat!(env!("OUT_DIR"), "/baseline.rs"));
