//! Rust bindings generated from `wit/`: the host traits of every capability (world
//! `capabilities`), which the kinds' worlds in `usvc-runtime` share.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "usvc:host/capabilities",
    imports: { default: async | trappable },
    // Recorded decisions keep their (replayable) input as JSON.
    additional_derives: [serde::Serialize, serde::Deserialize],
});

/// A violation a component reported, as the host's shared type.
impl From<usvc::host::types::Violation> for usvc_types::Violation {
    fn from(v: usvc::host::types::Violation) -> Self {
        Self {
            code: v.code,
            field: v.field,
            message: v.message,
        }
    }
}
