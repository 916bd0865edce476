//! The kinds of component: each has its world (`wit/`), its active version and its own
//! settings and limits.

use std::fmt;

/// A kind of component, named as in configuration and metrics (`onboarding`, `mfa`,
/// `verification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentKind {
    Onboarding,
    Mfa,
    Verification,
}

impl ComponentKind {
    pub const ALL: [ComponentKind; 3] = [
        ComponentKind::Onboarding,
        ComponentKind::Mfa,
        ComponentKind::Verification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Onboarding => "onboarding",
            Self::Mfa => "mfa",
            Self::Verification => "verification",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
