//! The event publisher: where events go.

pub mod eventbridge;
pub mod memory;

use std::future::Future;

use tokio::time::Instant;

use crate::events::{Event, EventId};

/// What a publish cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishStats {
    pub published: u32,
    pub calls: u32,
    /// Entries sent again after a retryable failure.
    pub retried_entries: u32,
}

/// Where events go.
pub trait EventPublisher {
    /// Publishes every event or fails; retries retryable failures until `deadline`.
    fn publish(
        &self,
        events: &[Event],
        deadline: Instant,
    ) -> impl Future<Output = Result<PublishStats, PublishError>> + Send;
}

/// An event that could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("EventBridge rejected {detail_type} {event_id} ({code}): {message}")]
    Rejected { detail_type: String, event_id: EventId, code: String, message: String },
    #[error("{remaining} events were still failing ({code}) when the time ran out")]
    OutOfTime { remaining: usize, code: String },
    #[error("event {event_id} is {size} bytes, over EventBridge's 256 KB entry limit")]
    TooLarge { event_id: EventId, size: usize },
    #[error("EventBridge PutEvents failed ({code}): {message}")]
    Service { code: String, message: String },
}
