//! Failures moto does not produce, from mocked AWS responses: partial PutEvents failures,
//! throttled calls and unprocessed batch items.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::WriteRequest;
use aws_sdk_eventbridge::config::retry::RetryConfig;
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponse, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use chrono::{TimeZone, Utc};
use connect_pulse::events::{AgentSummary, Change, Detail, DetailType, Event, EventId, SCHEMA_VERSION};
use connect_pulse::model::{Agent, Snapshot};
use connect_pulse::publish::eventbridge::EventBridgePublisher;
use connect_pulse::publish::{EventPublisher, PublishError};
use connect_pulse::store::dynamodb::DynamoDbStore;
use connect_pulse::store::{Lease, SnapshotStore, Stored};
use tokio::time::Instant;

/// Clients whose calls never leave the process; SDK retries are off so each attempt is visible.
async fn sdk_config() -> aws_config::SdkConfig {
    support::sdk_config("http://127.0.0.1:9").await
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    rules.iter().fold(MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny), |interceptor, rule| {
        interceptor.with_rule(rule)
    })
}

async fn eventbridge(rules: &[&Rule]) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::config::Builder::from(&sdk_config().await)
        .http_client(create_mock_http_client())
        .interceptor(interceptor(rules))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

async fn dynamodb(rules: &[&Rule]) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config().await)
        .http_client(create_mock_http_client())
        .interceptor(interceptor(rules))
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The most events a test here publishes.
const MOST_EVENTS: usize = 20;

fn events(count: usize) -> Vec<Event> {
    assert!(count <= MOST_EVENTS);
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    (0..count)
        .map(|n| {
            let agent = Agent { id: format!("agent-{n}").into(), ..Agent::default() };
            Event {
                source: "com.example.connect-pulse".into(),
                detail_type: if n % 2 == 0 { DetailType::AgentLoggedIn } else { DetailType::AgentContactMissed },
                time: at,
                resource: None,
                detail: Detail {
                    schema_version: SCHEMA_VERSION,
                    event_id: event_id(n),
                    instance_id: "instance-1".into(),
                    observed_at: at,
                    agent: AgentSummary::of(&agent),
                    change: Change::None {},
                },
            }
        })
        .collect()
}

/// The `eventId` of test event `n`.
fn event_id(n: usize) -> EventId {
    EventId::of([format!("event-{n}").as_str()])
}

/// The name (`event-3`) of each test event a request carries, found from its `eventId`.
fn event_ids(input: &PutEventsInput) -> Vec<String> {
    let names: HashMap<String, String> =
        (0..MOST_EVENTS).map(|n| (event_id(n).to_string(), format!("event-{n}"))).collect();
    input
        .entries()
        .iter()
        .map(|entry| {
            let detail: serde_json::Value = serde_json::from_str(entry.detail().unwrap()).unwrap();
            names[detail["eventId"].as_str().unwrap()].clone()
        })
        .collect()
}

/// The entries of every PutEvents request, in order.
type Requests = Arc<Mutex<Vec<Vec<String>>>>;

/// Answers an entry with the error code `failures` gives its eventId the first time it is sent, and
/// with success otherwise.
fn put_events_failing_once(failures: HashMap<&'static str, &'static str>) -> (Rule, Requests) {
    let requests = Requests::default();
    let seen = requests.clone();
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |input| {
        let ids = event_ids(input);
        let mut seen = seen.lock().unwrap();
        let sent_before: Vec<&String> = seen.iter().flatten().collect();
        let entries: Vec<_> = ids
            .iter()
            .map(|id| match failures.get(id.as_str()) {
                Some(code) if !sent_before.contains(&id) => PutEventsResultEntry::builder()
                    .error_code(*code)
                    .error_message(format!("{code} for this entry"))
                    .build(),
                _ => PutEventsResultEntry::builder().event_id(format!("eb-{id}")).build(),
            })
            .collect();
        seen.push(ids);

        let failed = entries.iter().filter(|entry| entry.error_code().is_some()).count();
        PutEventsOutput::builder().set_entries(Some(entries)).failed_entry_count(failed as i32).build()
    });
    (rule, requests)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn internal_failures_and_throttled_entries_are_sent_again_alone() {
    let (rule, requests) =
        put_events_failing_once(HashMap::from([("event-1", "InternalFailure"), ("event-3", "ThrottlingException")]));
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let stats = publisher.publish(&events(5), deadline()).await.unwrap();

    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0], ["event-0", "event-1", "event-2", "event-3", "event-4"]);
    assert_eq!(requests[1], ["event-1", "event-3"]);
    assert_eq!((stats.published, stats.calls, stats.retried_entries), (5, 2, 2));
}

#[tokio::test]
async fn retried_entries_are_only_those_of_the_call_that_failed() {
    let (rule, requests) = put_events_failing_once(HashMap::from([("event-12", "ThrottlingException")]));
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let stats = publisher.publish(&events(15), deadline()).await.unwrap();

    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.iter().map(Vec::len).collect::<Vec<_>>(), [10, 5, 1]);
    assert_eq!(requests[2], ["event-12"]);
    assert_eq!((stats.published, stats.calls, stats.retried_entries), (15, 3, 1));
}

#[tokio::test]
async fn an_access_denied_entry_fails_the_publish_naming_its_detail_type_event_id_and_code() {
    let (rule, _) = put_events_failing_once(HashMap::from([("event-3", "AccessDeniedException")]));
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let err = publisher.publish(&events(5), deadline()).await.unwrap_err();

    let PublishError::Rejected { detail_type, event_id, code, .. } = &err else { panic!("not a rejection: {err:?}") };
    assert_eq!(
        (detail_type.as_str(), event_id.as_str(), code.as_str()),
        ("Agent Contact Missed", &*self::event_id(3), "AccessDeniedException")
    );
    let message = err.to_string();
    for part in ["Agent Contact Missed", &self::event_id(3), "AccessDeniedException"] {
        assert!(message.contains(part), "{message:?} names {part}");
    }
}

/// A PutEvents rule whose first call fails whole with `status` and `body`, and whose later calls succeed.
fn put_events_refused_once(status: u16, body: &'static str) -> (Rule, Arc<Mutex<usize>>) {
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_response(move |input| {
        let mut calls = counted.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            return MockResponse::Http(HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body)));
        }
        let entries = event_ids(input).iter().map(|id| PutEventsResultEntry::builder().event_id(id).build()).collect();
        MockResponse::Output(PutEventsOutput::builder().set_entries(Some(entries)).failed_entry_count(0).build())
    });
    (rule, calls)
}

#[tokio::test]
async fn a_throttled_call_is_sent_again_whole() {
    let (rule, calls) = put_events_refused_once(400, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#);
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let stats = publisher.publish(&events(3), deadline()).await.unwrap();

    assert_eq!((stats.published, stats.calls, stats.retried_entries), (3, 2, 3));
    assert_eq!(*calls.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_call_eventbridge_failed_on_its_side_is_sent_again_whole() {
    let (rule, calls) = put_events_refused_once(503, r#"{"__type":"ServiceUnavailable","message":"try again"}"#);
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let stats = publisher.publish(&events(3), deadline()).await.unwrap();

    assert_eq!((stats.published, stats.calls, stats.retried_entries), (3, 2, 3));
    assert_eq!(*calls.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_call_refused_for_good_fails_the_publish_without_retry() {
    let (rule, calls) = put_events_refused_once(400, r#"{"__type":"ValidationException","message":"bad request"}"#);
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let err = publisher.publish(&events(3), deadline()).await.unwrap_err();

    assert!(matches!(err, PublishError::Service { ref code, .. } if code == "ValidationException"), "{err:?}");
    assert_eq!(*calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn entries_still_throttled_at_the_deadline_fail_the_publish() {
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(|input| {
        let entries = event_ids(input)
            .iter()
            .map(|_| PutEventsResultEntry::builder().error_code("ThrottlingException").build())
            .collect();
        PutEventsOutput::builder().set_entries(Some(entries)).failed_entry_count(2).build()
    });
    let publisher = EventBridgePublisher::new(eventbridge(&[&rule]).await, "bus", 1);

    let err = publisher.publish(&events(2), Instant::now() + Duration::from_millis(50)).await.unwrap_err();

    assert!(
        matches!(err, PublishError::OutOfTime { remaining: 2, ref code } if code == "ThrottlingException"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unprocessed_batch_items_are_sent_again_until_written() {
    let meta = mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    let batches = Arc::new(Mutex::new(Vec::<Vec<WriteRequest>>::new()));
    let seen = batches.clone();
    let batch = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_output(move |input| {
        let requests = input.request_items().unwrap()["snapshots"].clone();
        let mut seen = seen.lock().unwrap();
        seen.push(requests.clone());
        // DynamoDB hands back part of a throttled batch instead of failing the call.
        let unprocessed: Vec<WriteRequest> = match seen.len() {
            1 => requests.iter().skip(20).cloned().collect(),
            2 => requests.iter().skip(3).cloned().collect(),
            _ => Vec::new(),
        };
        BatchWriteItemOutput::builder()
            .set_unprocessed_items(Some(HashMap::from([("snapshots".to_owned(), unprocessed)])))
            .build()
    });
    let store = DynamoDbStore::new(dynamodb(&[&meta, &batch]).await, "snapshots", Duration::from_secs(7 * 24 * 3600));
    let lease = Lease { instance_id: "instance-1".into(), owner: "me".into(), expires_at: Utc::now() };
    let mut next = Snapshot::new("instance-1", Utc::now());
    next.agents = (0..25).map(|n| Agent { id: format!("agent-{n:02}").into(), ..Agent::default() }).collect();

    let (stored, stats) = store.save(&lease, &Stored::default(), &next).await.unwrap();

    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [25, 5, 2]);
    assert_eq!(batches[1], batches[0][20..]);
    assert_eq!(batches[2], batches[1][3..]);
    assert_eq!((stats.items_written, stats.batch_calls), (25, 3));
    assert_eq!(stored.sequence, 1);
}

#[tokio::test]
async fn a_save_whose_batch_fails_leaves_the_snapshot_time_where_it_was() {
    let expressions = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = expressions.clone();
    let meta = mock!(aws_sdk_dynamodb::Client::update_item).then_compute_output(move |input| {
        seen.lock().unwrap().push(input.update_expression().unwrap_or_default().to_owned());
        UpdateItemOutput::builder().build()
    });
    let batch = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(500).unwrap(), SdkBody::from(r#"{"__type":"InternalServerError"}"#))
    });
    let store = DynamoDbStore::new(dynamodb(&[&meta, &batch]).await, "snapshots", Duration::from_secs(7 * 24 * 3600));
    let lease = Lease { instance_id: "instance-1".into(), owner: "me".into(), expires_at: Utc::now() };
    let mut next = Snapshot::new("instance-1", Utc::now());
    next.agents.insert(Agent { id: "agent-1".into(), ..Agent::default() });

    let err = store.save(&lease, &Stored::default(), &next).await.unwrap_err();

    assert!(err.to_string().contains("BatchWriteItem"), "{err}");
    // The sequence was claimed, but the time the next tick keys its event ids on did not move.
    assert_eq!(*expressions.lock().unwrap(), ["SET #sequence = :next"]);
}
