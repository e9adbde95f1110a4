//! connect-pulse: Amazon Connect agent events on Amazon EventBridge.
//!
//! A pure core ([`model`], [`diff`], [`events`]), one adapter per outside system ([`connect`],
//! [`store`], [`publish`]), wired by [`tick`] and served by [`lambda`].

pub mod connect;
pub mod diff;
pub mod events;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod publish;
mod sdk_error;
pub mod settings;
pub mod store;
pub mod tick;
