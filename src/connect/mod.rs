//! The Connect side: where snapshots of the agents come from.

use std::future::Future;

use tokio::time::Instant;

use crate::model::Snapshot;

/// A fetched snapshot and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    pub snapshot: Snapshot,
    pub stats: FetchStats,
}

/// Counts for the tick log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchStats {
    /// `GetCurrentUserData` calls, retries included.
    pub calls: u32,
    /// `GetCurrentUserData` pages that came back.
    pub pages: u32,
    /// Calls answered with `ThrottlingException` and retried.
    pub throttled_retries: u32,
    /// List calls made to resolve the scope (routing profiles), zero when the cache was warm.
    pub list_calls: u32,
    /// Distinct agents in the snapshot.
    pub agents: u32,
}

/// Where snapshots of the agents come from.
pub trait AgentSource {
    /// Takes one snapshot of the agents in scope, giving up on work that cannot finish by
    /// `deadline`. Chunks that fail are named in [`Snapshot::missing`], not returned as errors;
    /// an error means no snapshot at all (bad instance, no permission, no scope).
    fn fetch(&self, deadline: Instant) -> impl Future<Output = Result<Fetch, SourceError>> + Send;
}

/// Why no snapshot could be taken.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Connect instance {instance_id} was not found: {message}")]
    InstanceNotFound { instance_id: String, message: String },
    #[error("Connect refused access ({code}): {message}")]
    AccessDenied { code: String, message: String },
    #[error("Connect rejected the request ({code}): {message}")]
    InvalidRequest { code: String, message: String },
    #[error("listing the agent scope failed ({code}): {message}")]
    Scope { code: String, message: String },
}
