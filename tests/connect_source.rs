//! The Connect source against the simulator on a local port: chunking, paging, the routing
//! profile cache, deduplication, throttling, failing chunks, unknown instances and decoding.

mod support;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use connect_pulse::connect::sdk::{ConnectSource, ConnectSourceConfig, RetryPolicy};
use connect_pulse::connect::{AgentScope, AgentSource, FetchStats, SourceError};
use connect_pulse::model::{Channel, ContactState, HierarchyPath, InitiationMethod, MissingChunk};
use connect_sim::{GeneratorConfig, RateLimit, Scenario, Sim, SimConfig};
use tokio::time::Instant;

const INSTANCE: &str = "inst-1";

/// Serves the simulator on a free loopback port for the rest of the test.
async fn serve(sim: &Sim) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(connect_sim::serve(listener, sim.clone()));
    endpoint
}

fn generated(agents: usize, routing_profiles: usize, queues: usize, config: SimConfig) -> Sim {
    let centre = GeneratorConfig { agents, routing_profiles, queues, logged_in_share: 1.0, ..Default::default() };
    Sim::generated(centre, SimConfig { instance_id: Some(INSTANCE.into()), ..config })
}

/// A source with a fast rate limit and short backoff, so tests spend their time on behaviour.
fn config(scope: AgentScope) -> ConnectSourceConfig {
    ConnectSourceConfig {
        max_calls_per_second: NonZeroU32::new(200).unwrap(),
        retry: RetryPolicy {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_retries: 3,
        },
        ..ConnectSourceConfig::new(INSTANCE, scope)
    }
}

async fn source(sim: &Sim, config: ConnectSourceConfig) -> ConnectSource {
    let sdk_config = support::sdk_config(&serve(sim).await).await;
    ConnectSource::new(&aws_sdk_connect::Client::new(&sdk_config), config)
}

fn in_a_minute() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn ids(prefix: &str, range: std::ops::RangeInclusive<usize>, width: usize) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:0width$}")).collect()
}

#[tokio::test]
async fn a_thousand_agents_over_250_routing_profiles_take_three_chunks_and_ten_pages() {
    let sim = generated(1000, 250, 20, SimConfig::default());
    let source = source(&sim, config(AgentScope::AllRoutingProfiles)).await;

    let cold = source.fetch(in_a_minute()).await.unwrap();
    assert_eq!(cold.stats, FetchStats { calls: 10, pages: 10, throttled_retries: 0, list_calls: 1, agents: 1000 });
    assert!(cold.snapshot.is_complete());
    assert_eq!(cold.snapshot.instance_id, INSTANCE);
    assert_eq!(cold.snapshot.agents.len(), 1000);

    let requests = sim.requests();
    let first_pages: Vec<_> = requests.iter().filter(|r| !r.next_token).collect();
    let mut chunk_sizes: Vec<usize> = first_pages.iter().map(|r| r.ids.len()).collect();
    chunk_sizes.sort();
    assert_eq!(chunk_sizes, vec![50, 100, 100]);
    let asked: BTreeSet<&String> = first_pages.iter().flat_map(|r| &r.ids).collect();
    assert_eq!(asked.len(), 250, "every routing profile is asked for exactly once");
    assert!(requests.iter().all(|r| r.filter == "RoutingProfiles" && r.max_results == Some(100)));
    assert_eq!(sim.stats().list_requests, 1);

    let warm = source.fetch(in_a_minute()).await.unwrap();
    assert_eq!(warm.stats, FetchStats { list_calls: 0, ..cold.stats.clone() });
    assert_eq!(sim.stats().list_requests, 1, "a warm source reuses the routing profiles it listed");
    assert_eq!(warm.snapshot.agents, cold.snapshot.agents);
}

#[tokio::test]
async fn routing_profiles_are_listed_again_once_the_cache_expires() {
    let sim = generated(10, 5, 2, SimConfig::default());
    let source = source(
        &sim,
        ConnectSourceConfig { routing_profile_ttl: Duration::ZERO, ..config(AgentScope::AllRoutingProfiles) },
    )
    .await;

    for _ in 0..2 {
        assert_eq!(source.fetch(in_a_minute()).await.unwrap().stats.list_calls, 1);
    }
    assert_eq!(sim.stats().list_requests, 2);
}

#[tokio::test]
async fn a_queue_scoped_fetch_returns_each_agent_once_although_queues_overlap() {
    let sim = generated(600, 200, 150, SimConfig::default());
    let source = source(&sim, config(AgentScope::Queues(ids("q", 1..=150, 4)))).await;

    let fetch = source.fetch(in_a_minute()).await.unwrap();

    let returned: usize = sim.requests().iter().map(|r| r.agents).sum();
    assert!(returned > 600, "neighbouring routing profiles share queues, so some agents come back twice ({returned})");
    assert_eq!(fetch.snapshot.agents.len(), 600);
    assert_eq!(fetch.stats.agents, 600);
    assert!(fetch.snapshot.is_complete());
    let mut chunks: Vec<usize> = sim.requests().iter().filter(|r| !r.next_token).map(|r| r.ids.len()).collect();
    chunks.sort();
    assert_eq!(chunks, vec![50, 100]);
}

#[tokio::test]
async fn an_agent_scope_is_asked_for_in_chunks_of_a_hundred() {
    let sim = generated(300, 10, 4, SimConfig::default());
    let source = source(&sim, config(AgentScope::Agents(ids("agent", 1..=150, 5)))).await;

    let fetch = source.fetch(in_a_minute()).await.unwrap();

    assert_eq!(fetch.snapshot.agents.len(), 150);
    assert_eq!(fetch.snapshot.agents.ids().next().map(|id| id.as_str()), Some("agent-00001"));
    assert!(sim.requests().iter().all(|r| r.filter == "Agents"));
    assert_eq!(fetch.stats.pages, 2);
}

#[tokio::test]
async fn a_hierarchy_group_scope_asks_for_the_one_group() {
    let sim = Sim::generated(
        GeneratorConfig { agents: 90, hierarchy_groups: 3, logged_in_share: 1.0, ..Default::default() },
        SimConfig { instance_id: Some(INSTANCE.into()), ..Default::default() },
    );
    let source = source(&sim, config(AgentScope::HierarchyGroup("hg-002".into()))).await;

    let fetch = source.fetch(in_a_minute()).await.unwrap();

    assert_eq!(fetch.snapshot.agents.len(), 30);
    assert!(fetch
        .snapshot
        .agents
        .iter()
        .all(|a| a.hierarchy_path.level_one.as_ref().unwrap().id.as_deref() == Some("hg-002")));
    assert_eq!(sim.requests()[0].ids, vec!["hg-002"]);
    assert_eq!(sim.requests()[0].filter, "UserHierarchyGroups");
}

#[tokio::test]
async fn a_throttling_connect_still_gives_a_complete_snapshot_and_the_retries_are_counted() {
    let throttled = SimConfig { user_data_rate: Some(RateLimit { per_second: 2.0, burst: 1 }), ..Default::default() };
    let sim = generated(600, 300, 10, throttled);
    let patient =
        RetryPolicy { min_delay: Duration::from_millis(50), max_delay: Duration::from_millis(400), max_retries: 100 };
    let source = source(&sim, ConnectSourceConfig { retry: patient, ..config(AgentScope::AllRoutingProfiles) }).await;

    let fetch = source.fetch(in_a_minute()).await.unwrap();

    assert!(fetch.snapshot.is_complete());
    assert_eq!(fetch.snapshot.agents.len(), 600);
    assert_eq!(fetch.stats.pages, 6);
    assert!(fetch.stats.throttled_retries > 0, "three chunks start at once against a burst of one");
    assert_eq!(fetch.stats.throttled_retries as u64, sim.stats().throttled);
    assert_eq!(fetch.stats.calls, fetch.stats.pages + fetch.stats.throttled_retries);
}

#[tokio::test]
async fn a_chunk_that_keeps_failing_leaves_an_incomplete_snapshot_that_names_it() {
    let failing = SimConfig { fail_ids: BTreeSet::from(["rp-0150".to_owned()]), ..Default::default() };
    let sim = generated(1000, 250, 20, failing);
    let source = source(&sim, config(AgentScope::AllRoutingProfiles)).await;

    let fetch = source.fetch(in_a_minute()).await.unwrap();

    assert!(!fetch.snapshot.is_complete());
    assert_eq!(
        fetch.snapshot.missing,
        vec![MissingChunk {
            filter: "RoutingProfiles".into(),
            ids: ids("rp", 101..=200, 4),
            error: "InternalServiceException".into()
        }]
    );
    assert_eq!(fetch.snapshot.agents.len(), 600, "the other two chunks are in the snapshot");
    assert_eq!(sim.stats().injected_failures, 4, "the first try and three retries");
    assert_eq!(fetch.stats.calls, 6 + 4);
}

#[tokio::test]
async fn a_tick_out_of_time_gives_an_incomplete_snapshot_not_an_error() {
    let sim = generated(50, 5, 2, SimConfig::default());
    let source = source(&sim, config(AgentScope::RoutingProfiles(ids("rp", 1..=5, 4)))).await;

    let fetch = source.fetch(Instant::now()).await.unwrap();

    assert!(fetch.snapshot.agents.is_empty());
    assert_eq!(fetch.snapshot.missing.len(), 1);
    assert_eq!(fetch.snapshot.missing[0].error, "DeadlineExceeded");
}

#[tokio::test]
async fn an_unknown_instance_is_reported_as_not_found() {
    let sim = generated(50, 150, 2, SimConfig::default());
    let endpoint = serve(&sim).await;
    let client = aws_sdk_connect::Client::new(&support::sdk_config(&endpoint).await);

    for scope in [AgentScope::AllRoutingProfiles, AgentScope::RoutingProfiles(ids("rp", 1..=150, 4))] {
        let source = ConnectSource::new(&client, ConnectSourceConfig::new("no-such-instance", scope.clone()));
        match source.fetch(in_a_minute()).await {
            Err(SourceError::InstanceNotFound { instance_id, message }) => {
                assert_eq!(instance_id, "no-such-instance", "{scope}");
                assert!(message.contains("no-such-instance"), "Connect's message is kept: {message}");
            }
            other => panic!("{scope}: expected InstanceNotFound, got {other:?}"),
        }
    }
    assert_eq!(sim.stats().list_requests, 1);
    assert_eq!(sim.requests().len(), 2, "both chunks of the explicit scope were tried once, 404 is not retried");
}

#[tokio::test]
async fn unknown_enum_values_and_fractional_timestamps_decode() {
    let scenario = Scenario::from_json(
        &serde_json::json!({
            "instanceId": INSTANCE,
            "baseTime": "2024-12-03T10:40:00Z",
            "routingProfiles": [{"id": "rp-1", "queues": ["q-1"], "concurrency": {"VOICE": 1, "HOLOGRAM": 2}}],
            "agents": [
                {"id": "a-1", "routingProfile": "rp-1", "hierarchy": ["hg-1"]},
                {"id": "a-2", "routingProfile": "rp-1"}
            ],
            "frames": [{"agents": {
                "a-1": {"status": "Available", "statusSince": 0.123, "nextStatus": "Break", "contacts": [
                    {"id": "c-1", "channel": "HOLOGRAM", "state": "PAUSED", "initiation": "TELEPATHY", "since": -1.5}
                ]},
                "a-2": {"status": "Available", "statusSince": -0.999}
            }}]
        })
        .to_string(),
    )
    .unwrap();
    let sim = Sim::from_scenario(&scenario, SimConfig::default()).unwrap();
    let source = source(&sim, config(AgentScope::RoutingProfiles(vec!["rp-1".into()]))).await;

    let agents = source.fetch(in_a_minute()).await.unwrap().snapshot.agents;

    let a1 = &agents["a-1"];
    let status = a1.status.as_ref().unwrap();
    assert_eq!(status.started_at.unwrap().timestamp_millis(), 1_733_222_400_123);
    assert_eq!(status.name.as_deref(), Some("Available"));
    assert_eq!(a1.next_status.as_deref(), Some("Break"));
    let contact = &a1.contacts[0];
    assert_eq!(contact.channel, Some(Channel::from("HOLOGRAM")));
    assert_eq!(contact.state, Some(ContactState::from("PAUSED")));
    assert_eq!(contact.initiation_method, Some(InitiationMethod::from("TELEPATHY")));
    assert_eq!(contact.state_started_at.unwrap().timestamp_millis(), 1_733_222_398_500);
    assert_eq!(contact.connected_to_agent_at, None);
    assert_eq!(a1.slots[&Channel::from("HOLOGRAM")].max, Some(2));
    assert_eq!(a1.slots[&Channel::from("HOLOGRAM")].available, Some(2));

    let a2 = &agents["a-2"];
    assert_eq!(a2.status.as_ref().unwrap().started_at.unwrap().timestamp_millis(), 1_733_222_399_001);
    assert_eq!(*a2.hierarchy_path, HierarchyPath::default());
    assert_eq!(a2.next_status, None);
    assert!(a2.contacts.is_empty());
}
