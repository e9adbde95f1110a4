//! One tick: take the lease, load the previous snapshot, then fetch, diff, publish and save, once
//! or several times. The only place where the three adapters meet.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::connect::{AgentSource, FetchStats, SourceError};
use crate::diff::{diff, DiffSettings, Outcome};
use crate::events::{Activity, Event};
use crate::model::Snapshot;
use crate::publish::{EventPublisher, PublishError};
use crate::store::{Lease, SnapshotStore, StoreError};

/// Kept free at the end of an invocation so that publishing and saving can still finish.
const SAVE_MARGIN: Duration = Duration::from_secs(3);

/// What a tick needs to know besides its adapters.
#[derive(Debug, Clone)]
pub struct TickSettings {
    pub instance_id: String,
    pub diff: DiffSettings,
    pub polls_per_invocation: u32,
    pub poll_interval: Duration,
}

/// What an invocation asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickRequest {
    /// Compute and return the events without publishing them or saving the snapshot.
    pub dry_run: bool,
}

/// The manual form of the input, also what an EventBridge Scheduler target may send.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManualInput {
    instance_id: Option<String>,
    #[serde(default)]
    dry_run: bool,
    /// Scheduler's `<aws.scheduler.scheduled-time>`, accepted and unused.
    #[allow(dead_code)]
    scheduled_time: Option<String>,
}

impl TickRequest {
    /// Reads an invocation payload: a scheduled event from an EventBridge rule, or an object
    /// with the optional keys `instanceId`, `dryRun` and `scheduledTime`.
    pub fn parse(payload: serde_json::Value, instance_id: &str) -> Result<Self, TickError> {
        const EXPECTED: &str = "expected an EventBridge \"Scheduled Event\" or an object like {\"dryRun\": true}";

        if payload.get("detail-type").is_some() {
            let event: EventBridgeEvent<serde_json::Value> =
                serde_json::from_value(payload).map_err(|err| TickError::InvalidInput(format!("{EXPECTED}: {err}")))?;
            if event.detail_type != "Scheduled Event" {
                let detail_type = event.detail_type;
                return Err(TickError::InvalidInput(format!("{EXPECTED}, got detail-type '{detail_type}'")));
            }
            return Ok(TickRequest::default());
        }

        if !payload.is_object() {
            return Err(TickError::InvalidInput(format!("{EXPECTED}, got {}", json_kind(&payload))));
        }
        let input: ManualInput =
            serde_json::from_value(payload).map_err(|err| TickError::InvalidInput(format!("{EXPECTED}: {err}")))?;
        if let Some(requested) = input.instance_id.filter(|requested| requested != instance_id) {
            return Err(TickError::InvalidInput(format!(
                "this function polls instance {instance_id}, not {requested}"
            )));
        }
        Ok(TickRequest { dry_run: input.dry_run })
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What one invocation did: the function's return value and the tick log line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickSummary {
    pub instance_id: String,
    /// Set when the tick did nothing because another one holds the lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub dry_run: bool,
    pub polls: u32,
    /// Agents in the last snapshot.
    pub agents: u32,
    /// Whether every poll fetched every chunk of the scope.
    pub complete: bool,
    pub missing_chunks: u32,
    pub connect: FetchStats,
    pub agents_by_activity: BTreeMap<&'static str, u32>,
    pub events_by_type: BTreeMap<&'static str, u32>,
    pub events_published: u32,
    pub publish_calls: u32,
    pub retried_entries: u32,
    pub items_written: u32,
    pub items_deleted: u32,
    pub duration_ms: u64,
    /// The events a dry run would have published, as EventBridge would deliver them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<serde_json::Value>,
}

/// Why a tick failed; nothing was saved after a failure, so the next tick sees it all again.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not all events were published, so the snapshot was not saved: {0}")]
    Publish(#[from] PublishError),
}

impl TickError {
    /// A short name for the runtime's error type, something an operator can act on.
    pub fn error_type(&self) -> &'static str {
        match self {
            TickError::InvalidInput(_) => "InvalidInput",
            TickError::Source(SourceError::InstanceNotFound { .. }) => "ConnectInstanceNotFound",
            TickError::Source(SourceError::AccessDenied { .. }) => "ConnectAccessDenied",
            TickError::Source(SourceError::InvalidRequest { .. }) => "ConnectInvalidRequest",
            TickError::Source(SourceError::Scope { .. }) => "ConnectScopeFailed",
            TickError::Store(StoreError::Conflict { .. }) => "SnapshotConflict",
            TickError::Store(StoreError::LeaseLost { .. }) => "LeaseLost",
            TickError::Store(_) => "SnapshotStoreFailed",
            TickError::Publish(PublishError::Rejected { .. }) => "EventRejected",
            TickError::Publish(PublishError::TooLarge { .. }) => "EventTooLarge",
            TickError::Publish(_) => "PublishFailed",
        }
    }
}

/// Runs ticks with one source, one store and one publisher, built once per container.
pub struct Ticker<S, St, P> {
    source: S,
    store: St,
    publisher: P,
    settings: TickSettings,
}

impl<S: AgentSource + Sync, St: SnapshotStore + Sync, P: EventPublisher + Sync> Ticker<S, St, P> {
    pub fn new(source: S, store: St, publisher: P, settings: TickSettings) -> Self {
        Self { source, store, publisher, settings }
    }

    /// Runs one invocation, which must be over by `deadline`.
    pub async fn run(&self, request: TickRequest, deadline: Instant) -> Result<TickSummary, TickError> {
        let started = Instant::now();
        let instance_id = &self.settings.instance_id;
        let mut summary =
            TickSummary { instance_id: instance_id.clone(), dry_run: request.dry_run, ..Default::default() };

        // A dry run reads the stored snapshot but must not block a scheduled tick, so it takes no lease.
        if request.dry_run {
            let result = self.dry_run(deadline, &mut summary).await;
            summary.duration_ms = started.elapsed().as_millis() as u64;
            return result.map(|()| summary);
        }

        let until = Utc::now() + deadline.saturating_duration_since(Instant::now());
        let Some(lease) = self.store.acquire(instance_id, until).await? else {
            tracing::info!(instance_id, "another tick is in progress; nothing to do");
            summary.skipped = Some("another tick is in progress".to_owned());
            return Ok(summary);
        };

        let result = self.polls(&lease, deadline, &mut summary).await;
        if let Err(err) = self.store.release(&lease).await {
            tracing::warn!(instance_id, error = %err, "could not release the lease; the next tick waits until it expires");
        }
        summary.duration_ms = started.elapsed().as_millis() as u64;
        result.map(|()| summary)
    }

    async fn dry_run(&self, deadline: Instant, summary: &mut TickSummary) -> Result<(), TickError> {
        let stored = self.store.peek(&self.settings.instance_id).await?;
        let outcome = self.observe(stored.snapshot.as_ref(), deadline, summary).await?;
        summary.events = outcome.events.iter().map(|event| event.to_envelope("dry-run")).collect();
        Ok(())
    }

    async fn polls(&self, lease: &Lease, deadline: Instant, summary: &mut TickSummary) -> Result<(), TickError> {
        let mut stored = self.store.load(lease).await?;
        let polls = self.settings.polls_per_invocation;
        let first_poll = Instant::now();
        let mut longest_poll = Duration::ZERO;

        for poll in 0..polls {
            let poll_at = first_poll + self.settings.poll_interval * poll;
            if poll > 0 {
                if poll_at + longest_poll + SAVE_MARGIN > deadline {
                    tracing::warn!(poll, polls, "not enough time left for another poll in this invocation");
                    break;
                }
                tokio::time::sleep_until(poll_at).await;
            }
            let poll_started = Instant::now();

            let outcome = self.observe(stored.snapshot.as_ref(), deadline, summary).await?;

            // Publish before saving: if publishing fails the snapshot stays where it was, and the
            // next tick emits the same transitions again under the same event ids.
            let published = self.publisher.publish(&outcome.events, before_saving(deadline)).await?;
            summary.events_published += published.published;
            summary.publish_calls += published.calls;
            summary.retried_entries += published.retried_entries;

            let (saved, written) = self.store.save(lease, &stored, &outcome.snapshot).await?;
            summary.items_written += written.items_written;
            summary.items_deleted += written.items_deleted;
            stored = saved;

            longest_poll = longest_poll.max(poll_started.elapsed());
        }
        Ok(())
    }

    /// Fetches a snapshot and diffs it against `previous`, counting both in `summary`.
    async fn observe(
        &self,
        previous: Option<&Snapshot>,
        deadline: Instant,
        summary: &mut TickSummary,
    ) -> Result<Outcome, TickError> {
        let fetch = self.source.fetch(before_saving(deadline)).await?;
        absorb(&mut summary.connect, &fetch.stats);
        summary.complete = fetch.snapshot.is_complete() && (summary.polls == 0 || summary.complete);
        summary.polls += 1;
        summary.missing_chunks += fetch.snapshot.missing.len() as u32;

        let outcome = diff(previous, fetch.snapshot, &self.settings.diff);
        count_events(&outcome.events, &mut summary.events_by_type);
        summary.agents = outcome.snapshot.agents.len() as u32;
        summary.agents_by_activity = count_activities(&outcome.snapshot);
        Ok(outcome)
    }
}

/// The deadline for fetching and publishing: what is left once the save has its margin.
fn before_saving(deadline: Instant) -> Instant {
    deadline.checked_sub(SAVE_MARGIN).unwrap_or(deadline)
}

fn absorb(total: &mut FetchStats, poll: &FetchStats) {
    total.calls += poll.calls;
    total.pages += poll.pages;
    total.throttled_retries += poll.throttled_retries;
    total.list_calls += poll.list_calls;
    total.agents = poll.agents;
}

fn count_events(events: &[Event], counts: &mut BTreeMap<&'static str, u32>) {
    for event in events {
        *counts.entry(event.detail_type.as_str()).or_default() += 1;
    }
}

fn count_activities(snapshot: &Snapshot) -> BTreeMap<&'static str, u32> {
    let mut counts: BTreeMap<&'static str, u32> = Activity::ALL.iter().map(|activity| (activity.as_str(), 0)).collect();
    for agent in &snapshot.agents {
        *counts.entry(Activity::of(agent).as_str()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_scheduled_event_from_an_eventbridge_rule_is_a_tick() {
        let payload: serde_json::Value =
            serde_json::from_str(include_str!("../events/scheduled-event.json")).expect("sample parses");
        assert_eq!(TickRequest::parse(payload, "inst-1").unwrap(), TickRequest { dry_run: false });
    }

    #[test]
    fn a_manual_dry_run_names_the_instance() {
        let request = TickRequest::parse(json!({"instanceId": "inst-1", "dryRun": true}), "inst-1").unwrap();
        assert_eq!(request, TickRequest { dry_run: true });
        assert_eq!(TickRequest::parse(json!({}), "inst-1").unwrap(), TickRequest { dry_run: false });
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let cases = [
            (json!([1, 2]), "got an array"),
            (json!("tick"), "got a string"),
            (json!({"dryrun": true}), "unknown field `dryrun`"),
            (json!({"instanceId": "other"}), "polls instance inst-1, not other"),
            (
                json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {}}),
                "got detail-type 'Object Created'",
            ),
        ];
        for (payload, expected) in cases {
            let err = TickRequest::parse(payload.clone(), "inst-1").unwrap_err();
            assert_eq!(err.error_type(), "InvalidInput");
            assert!(err.to_string().contains(expected), "{payload}: {err}");
        }
    }
}
