//! The Lambda handler: one invocation payload in, one tick summary (or diagnostic) out.

use std::time::{Duration, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use metrics_cloudwatch_embedded::Collector;
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
    metrics: &Collector,
    event: LambdaEvent<serde_json::Value>,
) -> Result<TickSummary, Diagnostic>
where
    S: AgentSource + Sync,
    St: SnapshotStore + Sync,
    P: EventPublisher + Sync,
{
    let deadline = deadline_of(event.context.deadline);
    tracing::debug!(remaining_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64, "invocation");
    let result = match TickRequest::parse(event.payload, instance_id) {
        Ok(request) => ticker.run(request, deadline).await,
        Err(err) => Err(err),
    };
    crate::metrics::emit(metrics, &result);

    match result {
        Ok(summary) => {
            log_summary(&summary);
            Ok(summary)
        }
        Err(err) => {
            tracing::error!(instance_id, error_type = err.error_type(), error = %err, "tick failed");
            Err(err.into())
        }
    }
}

/// Any epoch time before this (2001-09-09) is not a deadline but a timeout.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// The invocation's deadline on the monotonic clock, from Lambda's epoch milliseconds.
///
/// cargo-lambda's local runtime sends the function timeout in milliseconds instead of an epoch
/// time; read that as a time from now rather than as a deadline long past.
fn deadline_of(deadline_ms: u64) -> Instant {
    let left = if deadline_ms < EPOCH_MS_FLOOR {
        Duration::from_millis(deadline_ms)
    } else {
        let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
        deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_deadline_becomes_the_time_left() {
        let in_ten_seconds =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap() + Duration::from_secs(10);
        let left = deadline_of(in_ten_seconds.as_millis() as u64).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(8) && left <= Duration::from_secs(10), "{left:?}");
    }

    #[test]
    fn a_past_deadline_leaves_no_time() {
        assert!(deadline_of(EPOCH_MS_FLOOR + 1) <= Instant::now());
    }

    #[test]
    fn a_bare_timeout_is_read_as_time_from_now() {
        let left = deadline_of(600_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(590), "{left:?}");
    }
}
