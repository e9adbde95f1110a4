//! An in-memory snapshot store, for tests of the handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Lease, SaveStats, SnapshotStore, StoreError, Stored};
use crate::model::Snapshot;

/// Keeps snapshots and leases in a map; behaves like the DynamoDB store on lease and sequence.
/// Clones share the same map.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<HashMap<String, Entry>>>,
}

#[derive(Debug, Default)]
struct Entry {
    snapshot: Option<Snapshot>,
    sequence: u64,
    lease: Option<Lease>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot stored for `instance_id`, if any.
    pub fn snapshot(&self, instance_id: &str) -> Option<Snapshot> {
        self.lock().get(instance_id).and_then(|entry| entry.snapshot.clone())
    }

    /// Makes someone else hold the lease of `instance_id` until `until`.
    pub fn hold_lease(&self, instance_id: &str, owner: &str, until: DateTime<Utc>) {
        let lease = Lease { instance_id: instance_id.to_owned(), owner: owner.to_owned(), expires_at: until };
        self.lock().entry(instance_id.to_owned()).or_default().lease = Some(lease);
    }

    /// Advances the stored sequence, as a save by someone else would.
    pub fn bump_sequence(&self, instance_id: &str) {
        self.lock().entry(instance_id.to_owned()).or_default().sequence += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SnapshotStore for MemoryStore {
    async fn acquire(&self, instance_id: &str, until: DateTime<Utc>) -> Result<Option<Lease>, StoreError> {
        let mut state = self.lock();
        let entry = state.entry(instance_id.to_owned()).or_default();
        if entry.lease.as_ref().is_some_and(|lease| lease.expires_at > Utc::now()) {
            return Ok(None);
        }
        let lease = Lease { instance_id: instance_id.to_owned(), owner: "memory".to_owned(), expires_at: until };
        entry.lease = Some(lease.clone());
        Ok(Some(lease))
    }

    async fn load(&self, lease: &Lease) -> Result<Stored, StoreError> {
        let held = self.lock().get(&lease.instance_id).and_then(|entry| entry.lease.clone());
        if held.as_ref() != Some(lease) {
            return Err(StoreError::LeaseLost { instance_id: lease.instance_id.clone() });
        }
        self.peek(&lease.instance_id).await
    }

    async fn peek(&self, instance_id: &str) -> Result<Stored, StoreError> {
        let state = self.lock();
        let entry = state.get(instance_id);
        Ok(Stored {
            snapshot: entry.and_then(|entry| entry.snapshot.clone()),
            sequence: entry.map_or(0, |entry| entry.sequence),
            expires_at: HashMap::new(),
        })
    }

    async fn save(&self, lease: &Lease, previous: &Stored, next: &Snapshot) -> Result<(Stored, SaveStats), StoreError> {
        let mut state = self.lock();
        let entry = state.entry(lease.instance_id.clone()).or_default();
        if entry.lease.as_ref() != Some(lease) {
            return Err(StoreError::LeaseLost { instance_id: lease.instance_id.clone() });
        }
        if entry.sequence != previous.sequence {
            return Err(StoreError::Conflict { instance_id: lease.instance_id.clone(), expected: previous.sequence });
        }

        let before = previous.snapshot.as_ref().map(|snapshot| &snapshot.agents);
        let items_written =
            next.agents.iter().filter(|agent| before.and_then(|agents| agents.get(&agent.id)) != Some(*agent)).count();
        let items_deleted = before.map_or(0, |agents| agents.ids().filter(|id| !next.agents.contains(id)).count());

        entry.snapshot = Some(next.clone());
        entry.sequence += 1;
        let stored = Stored { snapshot: entry.snapshot.clone(), sequence: entry.sequence, expires_at: HashMap::new() };
        let stats =
            SaveStats { items_written: items_written as u32, items_deleted: items_deleted as u32, batch_calls: 0 };
        Ok((stored, stats))
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut state = self.lock();
        if let Some(entry) = state.get_mut(&lease.instance_id) {
            if entry.lease.as_ref() == Some(lease) {
                entry.lease = None;
            }
        }
        Ok(())
    }
}
