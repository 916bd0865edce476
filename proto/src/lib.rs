//! Generated gRPC code for usvc's contracts: `usvc.v1` (served) and the bank services usvc calls.

/// The services usvc serves, on its gRPC port.
pub mod usvc {
    pub mod v1 {
        tonic::include_proto!("usvc.v1");
    }
}

/// The bank's services usvc calls (`clients/`): identity checks, messages to customers and the
/// central audit log.
pub mod bank {
    pub mod kyc {
        pub mod v1 {
            tonic::include_proto!("bank.kyc.v1");
        }
    }
    pub mod notification {
        pub mod v1 {
            tonic::include_proto!("bank.notification.v1");
        }
    }
    pub mod audit {
        pub mod v1 {
            tonic::include_proto!("bank.audit.v1");
        }
    }
}

/// Every message and service above, encoded for the gRPC reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
