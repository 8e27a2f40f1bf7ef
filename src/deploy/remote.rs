//! The old home of the host runner, now [`crate::engine::host`]: these names stay
//! only until the deploy steps that still use them are merged; new code uses
//! [`crate::engine::Host`].

pub use crate::engine::host::Host as Remote;
