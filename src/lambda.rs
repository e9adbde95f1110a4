//! The Lambda handler: one invocation payload in, one tick summary (or diagnostic) out.

use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use tokio::time::Instant;

use crate::connect::AgentSource;
use crate::publish::EventPublisher;
use crate::store::SnapshotStore;
use crate::tick::{TickError, TickRequest, TickSummary, Ticker};

impl From<TickError> for Diagnostic {
    fn from(err: TickError) -> Self {
        Diagnostic { error_type: err.error_type().to_owned(), error_message: err.to_string() }
    }
}

/// Handles one invocation: parses the payload, runs the tick, logs and records its summary.
pub async fn handle<S, St, P>(
    ticker: &Ticker<S, St, P>,
    instance_id: &str,
    event: LambdaEvent<serde_json::Value>,
) -> Result<TickSummary, Diagnostic>
where
    S: AgentSource + Sync,
    St: SnapshotStore + Sync,
    P: EventPublisher + Sync,
{
    let deadline = deadline_of(event.context.deadline());
    let result = match TickRequest::parse(event.payload, instance_id) {
        Ok(request) => ticker.run(request, deadline).await,
        Err(err) => Err(err),
    };

    match result {
        Ok(summary) => {
            log_summary(&summary);
            crate::metrics::record(&summary);
            Ok(summary)
        }
        Err(err) => {
            tracing::error!(instance_id, error_type = err.error_type(), error = %err, "tick failed");
            crate::metrics::record_failure(err.error_type());
            Err(err.into())
        }
    }
}

/// The invocation's deadline on the monotonic clock.
fn deadline_of(deadline: SystemTime) -> Instant {
    let left = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
    Instant::now() + left
}

fn log_summary(summary: &TickSummary) {
    if summary.skipped.is_some() {
        return;
    }
    tracing::info!(
        instance_id = summary.instance_id,
        dry_run = summary.dry_run,
        polls = summary.polls,
        agents = summary.agents,
        complete = summary.complete,
        missing_chunks = summary.missing_chunks,
        calls = summary.connect.calls,
        pages = summary.connect.pages,
        throttled_retries = summary.connect.throttled_retries,
        list_calls = summary.connect.list_calls,
        events = summary.events_by_type.values().sum::<u32>(),
        events_by_type = %serde_json::to_string(&summary.events_by_type).unwrap_or_default(),
        events_published = summary.events_published,
        retried_entries = summary.retried_entries,
        items_written = summary.items_written,
        items_deleted = summary.items_deleted,
        duration_ms = summary.duration_ms,
        "tick"
    );
}
