//! The domain's vocabulary, shared by the host and the components so that a value is parsed by
//! one piece of code wherever it arrives: at registration (inside the onboarding component), at a
//! profile or contact change (in the host) and over gRPC.
//!
//! Each type parses text into a normalised value or says why it cannot, as a [`FormatError`];
//! the caller names the field and so builds the [`Violation`] (`<field>.<problem>`). Which values
//! a customer may *use* (a disposable address, an unserved country, an age) is policy, decided by
//! a component; this crate only knows what the values are.
//!
//! It has no dependencies (serde is optional, for the host) and builds for `wasm32-wasip2`.

mod country;
mod date;
mod email;
mod phone;
mod violation;

pub use country::CountryCode;
pub use date::CalendarDate;
pub use email::Email;
pub use phone::PhoneE164;
pub use violation::{FormatError, Violation, Violations};
