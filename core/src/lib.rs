//! The pure core of connect-pulse: the snapshot [`model`], the [`diff`] between two snapshots and
//! the public [`events`] contract. No AWS crate, no I/O, no clock.

pub mod diff;
pub mod events;
pub mod model;
