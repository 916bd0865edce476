//! What each calling service may do over gRPC (`USVC_GRPC_GRANTS`): which RPCs, and whether it
//! reads personal data unmasked. Configuration parses grants; the gRPC front door enforces them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, bail};

/// Every `usvc.v1` RPC, as grants name them (`Service/Method`).
pub const RPCS: &[&str] = &[
    "AuthService/ValidateToken",
    "AuthService/IntrospectToken",
    "AuthService/RevokeSession",
    "UserService/GetUser",
    "UserService/GetUserByEmail",
    "UserService/ListUsers",
    "UserService/UpdateStatus",
    "ProfileService/GetProfile",
    "ProfileService/UpdateProfile",
    "ProfileService/GetPreferences",
    "ProfileService/UpdatePreferences",
];

/// The grant to read customers' personal data unmasked where the call does not act for the
/// customer themselves.
pub const PERSONAL_DATA: &str = "personal-data";

/// What one caller may do: which RPCs, and whether it reads personal data unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants {
    rpcs: BTreeSet<&'static str>,
    pub personal_data: bool,
}

impl Grants {
    /// A caller `USVC_GRPC_GRANTS` does not name may check tokens and act for a customer who
    /// sent their own token — not look customers up in the directory (`GetUserByEmail`,
    /// `ListUsers`), nor read their personal data unmasked.
    pub fn acting_for_customers() -> Self {
        let rpcs = RPCS
            .iter()
            .copied()
            .filter(|rpc| !matches!(*rpc, "UserService/GetUserByEmail" | "UserService/ListUsers"))
            .collect();
        Self {
            rpcs,
            personal_data: false,
        }
    }

    /// `AuthService/ValidateToken,UserService/*,personal-data`: RPCs, whole services, and
    /// the personal-data grant. An unknown name is an error, never silently nothing.
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let mut grants = Self {
            rpcs: BTreeSet::new(),
            personal_data: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == PERSONAL_DATA {
                grants.personal_data = true;
                continue;
            }
            let matching: Vec<&'static str> = match name.strip_suffix("/*") {
                Some(service) => RPCS
                    .iter()
                    .copied()
                    .filter(|rpc| rpc.split_once('/').is_some_and(|(s, _)| s == service))
                    .collect(),
                None => RPCS.iter().copied().filter(|rpc| *rpc == name).collect(),
            };
            if matching.is_empty() {
                bail!(
                    "unknown RPC {name:?}: grant `Service/Method`, `Service/*` or `{PERSONAL_DATA}`"
                );
            }
            grants.rpcs.extend(matching);
        }
        Ok(grants)
    }

    pub fn allows(&self, rpc: &str) -> bool {
        self.rpcs.contains(rpc)
    }
}

/// `USVC_GRPC_GRANTS`: `name=<grant>,<grant>;name=…`.
pub fn parse_grants(value: &str) -> anyhow::Result<BTreeMap<String, Grants>> {
    let mut all = BTreeMap::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, list) = entry
            .split_once('=')
            .context("expected `caller=<grant>,<grant>;…`")?;
        let grants = Grants::parse(list).with_context(|| format!("caller {}", name.trim()))?;
        all.insert(name.trim().to_owned(), grants);
    }
    Ok(all)
}
