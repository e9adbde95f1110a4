//! The handler's order of work, with in-memory adapters: lease, load, fetch, diff, publish, save.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use connect_pulse::connect::{AgentSource, Fetch, FetchStats, SourceError};
use connect_pulse::diff::DiffSettings;
use connect_pulse::events::DetailType;
use connect_pulse::model::{Agent, AgentStatus, MissingChunk, Snapshot};
use connect_pulse::publish::memory::MemoryPublisher;
use connect_pulse::publish::PublishError;
use connect_pulse::store::memory::MemoryStore;
use connect_pulse::tick::{TickError, TickRequest, TickSettings, Ticker};
use tokio::time::Instant;

const INSTANCE: &str = "inst-1";

/// Hands out prepared snapshots, one per fetch, as Connect would over successive polls.
#[derive(Clone, Default)]
struct ScriptedSource {
    snapshots: Arc<Mutex<VecDeque<Snapshot>>>,
}

impl ScriptedSource {
    fn then(&self, snapshot: Snapshot) -> &Self {
        self.snapshots.lock().unwrap().push_back(snapshot);
        self
    }

    fn left(&self) -> usize {
        self.snapshots.lock().unwrap().len()
    }
}

impl AgentSource for ScriptedSource {
    async fn fetch(&self, _deadline: Instant) -> Result<Fetch, SourceError> {
        let snapshot = self.snapshots.lock().unwrap().pop_front().expect("the test prepared enough snapshots");
        let stats = FetchStats { calls: 1, pages: 1, agents: snapshot.agents.len() as u32, ..Default::default() };
        Ok(Fetch { snapshot, stats })
    }
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 9, minute, 0).unwrap()
}

fn agent(id: &str, status: &str, since: DateTime<Utc>) -> Agent {
    Agent {
        id: id.into(),
        arn: Some(format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/agent/{id}").into()),
        status: Some(AgentStatus {
            name: Some(status.into()),
            arn: Some(
                format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/agent-state/{status}").into(),
            ),
            started_at: Some(since),
        }),
        ..Default::default()
    }
}

fn snapshot(taken_at: DateTime<Utc>, agents: Vec<Agent>) -> Snapshot {
    let mut snapshot = Snapshot::new(INSTANCE, taken_at);
    snapshot.agents = agents.into_iter().collect();
    snapshot
}

fn ticker(
    source: &ScriptedSource,
    store: &MemoryStore,
    publisher: &MemoryPublisher,
    polls: u32,
) -> Ticker<ScriptedSource, MemoryStore, MemoryPublisher> {
    let settings = TickSettings {
        instance_id: INSTANCE.to_owned(),
        diff: DiffSettings { source: "connect-pulse".into() },
        polls_per_invocation: polls,
        poll_interval: Duration::from_millis(10),
    };
    Ticker::new(source.clone(), store.clone(), publisher.clone(), settings)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn the_first_tick_stores_a_baseline_and_publishes_nothing() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0))]));

    let summary = ticker(&source, &store, &publisher, 1).run(TickRequest::default(), deadline()).await.unwrap();

    assert!(publisher.published().is_empty());
    assert_eq!(store.snapshot(INSTANCE).unwrap().agents.len(), 1);
    assert_eq!((summary.polls, summary.agents, summary.items_written), (1, 1, 1));
    assert!(summary.events_by_type.is_empty());
    assert_eq!(summary.agents_by_activity["IDLE"], 1);
}

#[tokio::test]
async fn a_status_change_is_published_and_then_saved() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0)), agent("bob", "Available", at(0))]));
    source.then(snapshot(at(1), vec![agent("alice", "Lunch", at(1)), agent("bob", "Available", at(0))]));
    let ticker = ticker(&source, &store, &publisher, 1);

    ticker.run(TickRequest::default(), deadline()).await.unwrap();
    let summary = ticker.run(TickRequest::default(), deadline()).await.unwrap();

    let published = publisher.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].detail_type, DetailType::AgentStatusChanged);
    assert_eq!(published[0].detail.agent.id, "alice");
    assert_eq!(summary.events_by_type["Agent Status Changed"], 1);
    assert_eq!(summary.events_published, 1);
    // Only alice's item changed, so only alice is written.
    assert_eq!(summary.items_written, 1);
    let stored = store.snapshot(INSTANCE).unwrap();
    assert_eq!(stored.taken_at, at(1));
    assert_eq!(stored.agents["alice"].status.as_ref().unwrap().name.as_deref(), Some("Lunch"));
}

#[tokio::test]
async fn when_publishing_fails_nothing_is_saved_and_the_retry_repeats_the_same_event_ids() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0))]));
    source.then(snapshot(at(1), vec![agent("alice", "Lunch", at(1))]));
    source.then(snapshot(at(2), vec![agent("alice", "Lunch", at(1))]));
    let ticker = ticker(&source, &store, &publisher, 1);
    ticker.run(TickRequest::default(), deadline()).await.unwrap();

    publisher.reject_with(Some("AccessDeniedException"));
    let err = ticker.run(TickRequest::default(), deadline()).await.unwrap_err();
    assert_eq!(err.error_type(), "EventRejected");
    let TickError::Publish(PublishError::Rejected { event_id: rejected_id, .. }) = &err else {
        panic!("expected a rejected event, got {err:?}");
    };
    assert!(err.to_string().contains("the snapshot was not saved"), "{err}");
    assert!(err.to_string().contains("Agent Status Changed"), "{err}");
    assert_eq!(store.snapshot(INSTANCE).unwrap().taken_at, at(0), "the baseline is still the stored snapshot");

    publisher.reject_with(None);
    ticker.run(TickRequest::default(), deadline()).await.unwrap();
    let published = publisher.published();
    assert_eq!(published.len(), 1, "the lunch break is published on the next tick");
    assert_eq!(published[0].detail_type, DetailType::AgentStatusChanged);
    assert_eq!(&published[0].detail.event_id, rejected_id, "subscribers can tell it is the same change");
    assert_eq!(store.snapshot(INSTANCE).unwrap().taken_at, at(2));
}

#[tokio::test]
async fn a_tick_while_another_holds_the_lease_does_nothing() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0))]));
    store.hold_lease(INSTANCE, "another-invocation", Utc::now() + chrono::Duration::seconds(30));

    let summary = ticker(&source, &store, &publisher, 1).run(TickRequest::default(), deadline()).await.unwrap();

    assert_eq!(summary.skipped.as_deref(), Some("another tick is in progress"));
    assert_eq!(summary.polls, 0);
    assert_eq!(source.left(), 1, "Connect was not called");
    assert!(store.snapshot(INSTANCE).is_none());
}

#[tokio::test]
async fn a_dry_run_returns_the_events_without_publishing_or_saving() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0))]));
    source.then(snapshot(at(1), vec![agent("alice", "Lunch", at(1)), agent("bob", "Available", at(1))]));
    let ticker = ticker(&source, &store, &publisher, 1);
    ticker.run(TickRequest::default(), deadline()).await.unwrap();

    let summary = ticker.run(TickRequest { dry_run: true }, deadline()).await.unwrap();

    assert!(summary.dry_run);
    let kinds: Vec<&str> = summary.events.iter().map(|event| event["detail-type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Agent Status Changed", "Agent Logged In"]);
    assert!(publisher.published().is_empty());
    assert_eq!(store.snapshot(INSTANCE).unwrap().taken_at, at(0));
}

#[tokio::test]
async fn several_polls_in_one_invocation_each_publish_and_save() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0))]));
    source.then(snapshot(at(1), vec![agent("alice", "Lunch", at(1))]));
    source.then(snapshot(at(2), vec![agent("alice", "Available", at(2))]));

    let summary = ticker(&source, &store, &publisher, 3).run(TickRequest::default(), deadline()).await.unwrap();

    assert_eq!(summary.polls, 3);
    assert_eq!(summary.connect.calls, 3);
    assert_eq!(summary.events_by_type["Agent Status Changed"], 2);
    assert_eq!(publisher.published().len(), 2);
    assert_eq!(store.snapshot(INSTANCE).unwrap().taken_at, at(2));
}

#[tokio::test]
async fn an_incomplete_snapshot_is_counted_and_reports_no_logout() {
    let (source, store, publisher) = (ScriptedSource::default(), MemoryStore::new(), MemoryPublisher::new());
    source.then(snapshot(at(0), vec![agent("alice", "Available", at(0)), agent("bob", "Available", at(0))]));
    let mut partial = snapshot(at(1), vec![agent("alice", "Available", at(0))]);
    partial.missing.push(MissingChunk {
        filter: "RoutingProfiles".to_owned(),
        ids: vec!["rp-2".to_owned()],
        error: "InternalServiceException".to_owned(),
    });
    source.then(partial);
    let ticker = ticker(&source, &store, &publisher, 1);
    ticker.run(TickRequest::default(), deadline()).await.unwrap();

    let summary = ticker.run(TickRequest::default(), deadline()).await.unwrap();

    assert!(!summary.complete);
    assert_eq!(summary.missing_chunks, 1);
    assert!(publisher.published().is_empty(), "bob is not reported as logged out");
    assert!(store.snapshot(INSTANCE).unwrap().agents.contains("bob"), "bob keeps his stored state");
}
