//! `usvc:host/clock`: the host's time, fixed in tests.

use wasmtime::component::HasData;

use crate::{
    bindings::usvc::host::{clock::Host, types::Date},
    clock::Clock,
};

/// The `clock` (and `types`) capability: the host's clock, nothing else.
pub struct Time<'a> {
    pub clock: &'a dyn Clock,
}

impl HasData for Time<'static> {
    type Data<'a> = Time<'a>;
}

impl Host for Time<'_> {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        Ok(self.clock.unix())
    }

    async fn today(&mut self) -> wasmtime::Result<Date> {
        let today = self.clock.now().date();
        Ok(Date {
            year: today.year(),
            month: today.month() as u8,
            day: today.day(),
        })
    }
}

impl crate::bindings::usvc::host::types::Host for Time<'_> {}
