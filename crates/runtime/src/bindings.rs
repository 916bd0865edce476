//! Rust bindings generated from `wit/`: typed exports for each component kind's world, over the
//! capability interfaces `usvc-capabilities` generates (world `capabilities`).

pub use usvc_capabilities::bindings::{usvc, wasi};

pub mod onboarding {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "usvc:host/onboarding",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "usvc:host/types": usvc_capabilities::bindings::usvc::host::types,
            "usvc:host/users": usvc_capabilities::bindings::usvc::host::users,
            "usvc:host/credentials": usvc_capabilities::bindings::usvc::host::credentials,
            "usvc:host/events": usvc_capabilities::bindings::usvc::host::events,
            "usvc:host/notify": usvc_capabilities::bindings::usvc::host::notify,
            "usvc:host/clock": usvc_capabilities::bindings::usvc::host::clock,
            "wasi:config/store": usvc_capabilities::bindings::wasi::config::store,
            "wasi:logging/logging": usvc_capabilities::bindings::wasi::logging::logging,
        },
    });
}

pub mod mfa {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "usvc:host/mfa",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "usvc:host/types": usvc_capabilities::bindings::usvc::host::types,
            "usvc:host/users": usvc_capabilities::bindings::usvc::host::users,
            "usvc:host/factors": usvc_capabilities::bindings::usvc::host::factors,
            "usvc:host/notify": usvc_capabilities::bindings::usvc::host::notify,
            "usvc:host/kv": usvc_capabilities::bindings::usvc::host::kv,
            "usvc:host/events": usvc_capabilities::bindings::usvc::host::events,
            "usvc:host/audit": usvc_capabilities::bindings::usvc::host::audit,
            "usvc:host/clock": usvc_capabilities::bindings::usvc::host::clock,
            "wasi:config/store": usvc_capabilities::bindings::wasi::config::store,
            "wasi:logging/logging": usvc_capabilities::bindings::wasi::logging::logging,
        },
    });
}

pub mod verification {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "usvc:host/verification-policy",
        imports: { default: async | trappable },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "usvc:host/types": usvc_capabilities::bindings::usvc::host::types,
            "usvc:host/kyc": usvc_capabilities::bindings::usvc::host::kyc,
            "usvc:host/clock": usvc_capabilities::bindings::usvc::host::clock,
            "wasi:config/store": usvc_capabilities::bindings::wasi::config::store,
            "wasi:logging/logging": usvc_capabilities::bindings::wasi::logging::logging,
        },
    });
}
