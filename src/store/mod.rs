//! The snapshot store: the previous tick's state, a lease so only one tick runs at a time.

pub mod dynamodb;
pub mod memory;

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::model::Snapshot;

mod item;

/// The right to run a tick for one instance until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub instance_id: String,
    pub owner: String,
    pub expires_at: DateTime<Utc>,
}

/// A snapshot as loaded, with the sequence number a save must still find.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stored {
    /// `None` before the first tick.
    pub snapshot: Option<Snapshot>,
    /// Increases with every save; a save is refused if the stored one is no longer this.
    pub sequence: u64,
    /// Per agent id, when its item expires (epoch seconds), so a save can refresh items before
    /// they age out even when nothing changed.
    pub expires_at: std::collections::HashMap<String, i64>,
}

/// What a save wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveStats {
    pub items_written: u32,
    pub items_deleted: u32,
    pub batch_calls: u32,
}

/// Where snapshots are kept between ticks.
pub trait SnapshotStore {
    /// Takes the tick lease for `instance_id` until `until`; `None` when another live tick holds it.
    fn acquire(
        &self,
        instance_id: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Loads the stored snapshot, ignoring agent items that have expired; refused with
    /// [`StoreError::LeaseLost`] if the lease is no longer ours.
    fn load(&self, lease: &Lease) -> impl Future<Output = Result<Stored, StoreError>> + Send;

    /// Loads the stored snapshot without a lease, for dry runs, which never save.
    fn peek(&self, instance_id: &str) -> impl Future<Output = Result<Stored, StoreError>> + Send;

    /// Stores `next`, writing only agents that changed since `previous` and deleting those that
    /// left; refused with [`StoreError::Conflict`] if the sequence moved since `previous` was loaded.
    fn save(
        &self,
        lease: &Lease,
        previous: &Stored,
        next: &Snapshot,
    ) -> impl Future<Output = Result<(Stored, SaveStats), StoreError>> + Send;

    /// Gives the lease back early; failures only delay the next tick until the lease expires.
    fn release(&self, lease: &Lease) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the stored snapshot of {instance_id} moved on (sequence {expected} expected); not saving over it")]
    Conflict { instance_id: String, expected: u64 },
    #[error("the lease of {instance_id} is no longer ours")]
    LeaseLost { instance_id: String },
    #[error("DynamoDB {operation} failed ({code}): {message}")]
    Service { operation: &'static str, code: String, message: String },
    #[error("stored item {key} could not be read: {message}")]
    Corrupt { key: String, message: String },
    #[error("{unprocessed} items were still unprocessed after every retry")]
    Unprocessed { unprocessed: usize },
}
