//! The event publisher on EventBridge: PutEvents within its limits, retrying only what it says may be retried.

use std::time::Duration;

use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::{StreamExt, TryStreamExt};
use tokio::time::Instant;

use super::{EventPublisher, PublishError, PublishStats};
use crate::events::Event;
use crate::sdk_error;

/// PutEvents takes 1 to 10 entries per call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// The entries of one PutEvents call must total less than 256 KB, by [`entry_size`].
pub const MAX_CALL_BYTES: usize = 256 * 1024;

/// The entry error codes EventBridge documents as worth sending again; any other is final.
const RETRYABLE_ENTRY_ERRORS: [&str; 2] = ["InternalFailure", "ThrottlingException"];

/// Publishes events on one EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    event_bus_name: String,
    max_concurrent_calls: usize,
}

/// An event ready to send, with its size counted once.
struct Entry<'a> {
    event: &'a Event,
    request: PutEventsRequestEntry,
    size: usize,
}

impl EventBridgePublisher {
    /// `max_concurrent_calls` bounds the PutEvents calls in flight (at least one).
    pub fn new(client: Client, event_bus_name: impl Into<String>, max_concurrent_calls: usize) -> Self {
        Self { client, event_bus_name: event_bus_name.into(), max_concurrent_calls: max_concurrent_calls.max(1) }
    }

    fn entry<'a>(&self, event: &'a Event) -> Entry<'a> {
        let detail = event.detail_json();
        let size = entry_size(event, &detail);
        let request = PutEventsRequestEntry::builder()
            .source(&*event.source)
            .detail_type(event.detail_type.as_str())
            .detail(detail)
            .set_resources(Some(event.resources().iter().map(|arn| arn.to_string()).collect()))
            .time(DateTime::from_millis(event.time.timestamp_millis()))
            .event_bus_name(&self.event_bus_name)
            .build();
        Entry { event, request, size }
    }

    /// Sends one call's entries, then again only the entries that failed retryably, until all are
    /// in or the deadline would pass during the next wait.
    async fn put_events(&self, call: Vec<Entry<'_>>, deadline: Instant) -> Result<PublishStats, PublishError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(5))
            .without_max_times()
            .with_jitter()
            .build();
        let mut stats = PublishStats::default();
        let mut pending = call;

        loop {
            let response = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|entry| entry.request.clone()).collect()))
                .send()
                .await;
            stats.calls += 1;

            let (failed, code) = match response {
                Ok(output) => {
                    let results = output.entries();
                    if results.len() != pending.len() {
                        return Err(PublishError::Service {
                            code: "EntryCountMismatch".into(),
                            message: format!("{} results for {} entries", results.len(), pending.len()),
                        });
                    }

                    // Entries[i] answers request entry i.
                    let mut failed = Vec::new();
                    let mut last_code = String::new();
                    for (entry, result) in pending.into_iter().zip(results) {
                        match result.error_code() {
                            None => stats.published += 1,
                            Some(code) if RETRYABLE_ENTRY_ERRORS.contains(&code) => {
                                last_code = code.to_owned();
                                failed.push(entry);
                            }
                            Some(code) => {
                                return Err(PublishError::Rejected {
                                    detail_type: entry.event.detail_type.as_str().to_owned(),
                                    event_id: entry.event.detail.event_id,
                                    code: code.to_owned(),
                                    message: result.error_message().unwrap_or_default().to_owned(),
                                })
                            }
                        }
                    }
                    (failed, last_code)
                }
                Err(err) if is_retryable(&err) => (pending, err.code().unwrap_or("Transient").to_owned()),
                Err(err) => {
                    return Err(PublishError::Service {
                        code: err.code().unwrap_or("Unknown").to_owned(),
                        message: sdk_error::message(&err),
                    })
                }
            };
            if failed.is_empty() {
                return Ok(stats);
            }

            let delay = backoff.next().unwrap_or(Duration::from_secs(5));
            if Instant::now() + delay >= deadline {
                return Err(PublishError::OutOfTime { remaining: failed.len(), code });
            }
            tracing::warn!(
                entries = failed.len(),
                code,
                delay_ms = delay.as_millis() as u64,
                "retrying PutEvents entries"
            );
            stats.retried_entries += failed.len() as u32;
            tokio::time::sleep(delay).await;
            pending = failed;
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[Event], deadline: Instant) -> Result<PublishStats, PublishError> {
        let calls = plan_calls(events.iter().map(|event| self.entry(event)).collect())?;
        let calls: Vec<_> = calls.into_iter().map(|call| self.put_events(call, deadline)).collect();

        // Calls run concurrently, so events arrive out of order, as EventBridge may deliver them anyway.
        futures::stream::iter(calls)
            .buffer_unordered(self.max_concurrent_calls)
            .try_fold(PublishStats::default(), |mut total, stats| async move {
                total.published += stats.published;
                total.calls += stats.calls;
                total.retried_entries += stats.retried_entries;
                Ok(total)
            })
            .await
    }
}

/// EventBridge's size of a PutEvents entry: 14 bytes for `Time`, then the UTF-8 bytes of `Source`,
/// `DetailType`, `Detail` and each `Resources` string.
pub fn entry_size(event: &Event, detail: &str) -> usize {
    14 + event.source.len()
        + event.detail_type.as_str().len()
        + detail.len()
        + event.resource.as_deref().map_or(0, str::len)
}

/// Groups entries, in order, into calls within the entry count and size limits.
fn plan_calls(entries: Vec<Entry<'_>>) -> Result<Vec<Vec<Entry<'_>>>, PublishError> {
    let mut calls = Vec::new();
    let mut call: Vec<Entry> = Vec::new();
    let mut call_bytes = 0;

    for entry in entries {
        if entry.size >= MAX_CALL_BYTES {
            return Err(PublishError::TooLarge { event_id: entry.event.detail.event_id, size: entry.size });
        }
        if call.len() == MAX_ENTRIES_PER_CALL || call_bytes + entry.size >= MAX_CALL_BYTES {
            calls.push(std::mem::take(&mut call));
            call_bytes = 0;
        }
        call_bytes += entry.size;
        call.push(entry);
    }
    if !call.is_empty() {
        calls.push(call);
    }
    Ok(calls)
}

/// Whole-call failures worth another try: throttling, EventBridge's own faults, and the network.
fn is_retryable(err: &SdkError<PutEventsError>) -> bool {
    match err {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        SdkError::ServiceError(failure) => {
            failure.err().is_internal_exception()
                || failure.err().code() == Some("ThrottlingException")
                || failure.raw().status().is_server_error()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::events::{AgentSummary, Change, Detail, DetailType, EventId, SCHEMA_VERSION};
    use crate::model::Agent;

    fn event(n: usize, padding: usize) -> Event {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        let agent = Agent {
            id: format!("agent-{n}").into(),
            next_status: Some("x".repeat(padding).into()),
            ..Agent::default()
        };
        Event {
            source: "com.example.connect-pulse".into(),
            detail_type: DetailType::AgentLoggedIn,
            time: at,
            resource: Some(format!("arn:aws:connect:eu-west-1:123456789012:instance/i/agent/agent-{n}").into()),
            detail: Detail {
                schema_version: SCHEMA_VERSION,
                event_id: EventId::of([format!("event-{n}").as_str()]),
                instance_id: "i".into(),
                observed_at: at,
                agent: AgentSummary::of(&agent),
                change: Change::None {},
            },
        }
    }

    fn plan(events: &[Event]) -> Result<Vec<Vec<EventId>>, PublishError> {
        let publisher = EventBridgePublisher::new(
            Client::from_conf(aws_sdk_eventbridge::Config::builder().behavior_version_latest().build()),
            "bus",
            1,
        );
        let calls = plan_calls(events.iter().map(|event| publisher.entry(event)).collect())?;
        Ok(calls.iter().map(|call| call.iter().map(|entry| entry.event.detail.event_id).collect()).collect())
    }

    #[test]
    fn twenty_three_small_events_go_in_calls_of_ten_in_order() {
        let events: Vec<Event> = (0..23).map(|n| event(n, 0)).collect();

        let calls = plan(&events).unwrap();

        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
        assert_eq!(calls.concat(), events.iter().map(|event| event.detail.event_id).collect::<Vec<_>>());
    }

    #[test]
    fn large_events_split_calls_before_256_kb() {
        let events: Vec<Event> = (0..5).map(|n| event(n, 100 * 1024)).collect();

        let calls = plan(&events).unwrap();

        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    }

    #[test]
    fn the_entry_size_follows_eventbridge_rule() {
        let event = event(1, 0);
        let detail = event.detail_json();

        let expected = 14
            + "com.example.connect-pulse".len()
            + "Agent Logged In".len()
            + detail.len()
            + event.resources()[0].len();
        assert_eq!(entry_size(&event, &detail), expected);
    }

    #[test]
    fn an_event_over_256_kb_on_its_own_is_too_large() {
        let events = vec![event(0, 0), event(1, 256 * 1024)];

        let err = plan(&events).unwrap_err();

        assert!(
            matches!(err, PublishError::TooLarge { event_id, size } if event_id == events[1].detail.event_id && size > MAX_CALL_BYTES)
        );
    }
}
