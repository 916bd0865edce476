//! Rust bindings generated from `wit/`: host traits for every capability (world `capabilities`)
//! and typed exports for each component kind's world, sharing the capability types.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "usvc:host/capabilities",
    imports: { default: async | trappable },
    // Recorded decisions keep their (replayable) input as JSON.
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub mod onboarding {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "usvc:host/onboarding",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "usvc:host/types": super::usvc::host::types,
            "usvc:host/users": super::usvc::host::users,
            "usvc:host/credentials": super::usvc::host::credentials,
            "usvc:host/events": super::usvc::host::events,
            "usvc:host/notify": super::usvc::host::notify,
            "usvc:host/clock": super::usvc::host::clock,
            "wasi:config/store": super::wasi::config::store,
            "wasi:logging/logging": super::wasi::logging::logging,
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
            "usvc:host/types": super::usvc::host::types,
            "usvc:host/users": super::usvc::host::users,
            "usvc:host/factors": super::usvc::host::factors,
            "usvc:host/notify": super::usvc::host::notify,
            "usvc:host/kv": super::usvc::host::kv,
            "usvc:host/events": super::usvc::host::events,
            "usvc:host/audit": super::usvc::host::audit,
            "usvc:host/clock": super::usvc::host::clock,
            "wasi:config/store": super::wasi::config::store,
            "wasi:logging/logging": super::wasi::logging::logging,
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
            "usvc:host/types": super::usvc::host::types,
            "usvc:host/kyc": super::usvc::host::kyc,
            "usvc:host/clock": super::usvc::host::clock,
            "wasi:config/store": super::wasi::config::store,
            "wasi:logging/logging": super::wasi::logging::logging,
        },
    });
}
