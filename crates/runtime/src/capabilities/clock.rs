//! `usvc:host/clock`: the host's time, fixed in tests.

use crate::{
    CallState,
    bindings::usvc::host::{clock::Host, types::Date},
};

impl Host for CallState {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        Ok(self.caps.clock.unix())
    }

    async fn today(&mut self) -> wasmtime::Result<Date> {
        let today = self.caps.clock.now().date();
        Ok(Date {
            year: today.year(),
            month: today.month() as u8,
            day: today.day(),
        })
    }
}

impl crate::bindings::usvc::host::types::Host for CallState {}
