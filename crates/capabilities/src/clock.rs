//! Time as the service sees it: the system clock in production, a fixed clock that tests move.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;

    /// Unix seconds, the unit every stored timestamp uses.
    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-06-15T09:30:00Z`), how times leave the service.
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move; shared by clones.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<OffsetDateTime>>);

impl FixedClock {
    pub fn at(instant: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(instant)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Lets WASI's wall clock (what `std::time::SystemTime` reads inside a component) agree with the
/// host's clock, so a fixed clock in a test is fixed for the component too.
pub struct WasiWallClock(pub Arc<dyn Clock>);

impl wasmtime_wasi::HostWallClock for WasiWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let since_epoch = self.0.now() - OffsetDateTime::UNIX_EPOCH;
        since_epoch.try_into().unwrap_or_default()
    }
}
