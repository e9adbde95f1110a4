//! An in-memory event publisher, for tests of the handler.

use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::{EventPublisher, PublishError, PublishStats};
use crate::events::Event;

/// Records what it is given; can be told to reject events, as EventBridge would. Clones share
/// the same record.
#[derive(Debug, Clone, Default)]
pub struct MemoryPublisher {
    published: Arc<Mutex<Vec<Event>>>,
    reject_with: Arc<Mutex<Option<String>>>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event published so far, in order.
    pub fn published(&self) -> Vec<Event> {
        self.published.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// From now on, rejects the first event of every publish with `code`; `None` accepts again.
    pub fn reject_with(&self, code: Option<&str>) {
        *self.reject_with.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = code.map(str::to_owned);
    }
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, events: &[Event], _deadline: Instant) -> Result<PublishStats, PublishError> {
        let rejection = self.reject_with.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if let (Some(code), Some(first)) = (rejection, events.first()) {
            return Err(PublishError::Rejected {
                detail_type: first.detail_type.to_string(),
                event_id: first.detail.event_id,
                code,
                message: "rejected by the test publisher".to_owned(),
            });
        }
        self.published.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(events);
        Ok(PublishStats { published: events.len() as u32, calls: events.len().div_ceil(10) as u32, retried_entries: 0 })
    }
}
