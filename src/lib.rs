//! connect-pulse: Amazon Connect agent events on Amazon EventBridge.
//!
//! A pure core ([`model`], [`diff`], [`events`], from the `connect-pulse-core` crate, which has no
//! AWS dependency), one adapter per outside system ([`connect`], [`store`], [`publish`]), wired by
//! [`tick`] and served by [`lambda`].

pub mod connect;
pub mod lambda;
pub mod metrics;
pub mod publish;
mod sdk_error;
pub mod settings;
pub mod store;
pub mod tick;

pub use connect_pulse_core::{diff, events, model};
