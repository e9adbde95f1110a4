//! connect-pulse: Amazon Connect agent events on Amazon EventBridge.
//!
//! A pure core ([`model`], [`diff`], [`events`]) and one adapter per outside system
//! ([`connect`], [`store`], [`publish`]), wired by [`tick`].

pub mod connect;
pub mod diff;
pub mod events;
pub mod model;
pub mod publish;
pub mod store;
