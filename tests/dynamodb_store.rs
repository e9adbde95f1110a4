//! The DynamoDB snapshot store against moto: round trips, minimal writes, TTL, lease and sequence.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use aws_sdk_dynamodb::Client;
use chrono::{TimeZone, Utc};
use connect_pulse::model::{
    Agent, AgentStatus, Channel, Contact, ContactState, HierarchyPath, InitiationMethod, MissingChunk, Reference,
    Slots, SlotsByChannel, Snapshot,
};
use connect_pulse::store::dynamodb::{DynamoDbStore, MAX_BATCH_REQUESTS, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use connect_pulse::store::{Lease, SnapshotStore, StoreError};
use support::snapshot_table::{create_snapshot_table, fresh_table_name};
use support::Moto;

const INSTANCE_ID: &str = "11111111-2222-3333-4444-555555555555";
const TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Counts the write requests of every BatchWriteItem call the store makes.
#[derive(Debug, Clone, Default)]
struct BatchSizes(Arc<Mutex<Vec<usize>>>);

impl BatchSizes {
    fn calls(&self) -> Vec<usize> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for BatchSizes {
    fn name(&self) -> &'static str {
        "BatchSizes"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input().downcast_ref::<BatchWriteItemInput>() {
            let requests = input.request_items().map_or(0, |tables| tables.values().map(Vec::len).sum());
            self.0.lock().unwrap().push(requests);
        }
        Ok(())
    }
}

struct Table {
    _moto: Moto,
    client: Client,
    name: String,
    store: DynamoDbStore,
    batch_sizes: BatchSizes,
}

impl Table {
    async fn new() -> Self {
        let moto = Moto::start();
        let batch_sizes = BatchSizes::default();
        let config =
            aws_sdk_dynamodb::config::Builder::from(&moto.sdk_config().await).interceptor(batch_sizes.clone()).build();
        let client = Client::from_conf(config);
        let name = fresh_table_name();
        create_snapshot_table(&client, &name).await;
        let store = DynamoDbStore::new(client.clone(), &name, TTL);
        Table { _moto: moto, client, name, store, batch_sizes }
    }

    async fn acquire(&self) -> Lease {
        self.store
            .acquire(INSTANCE_ID, Utc::now() + chrono::Duration::minutes(5))
            .await
            .unwrap()
            .expect("lease is free")
    }

    async fn agent_item(&self, agent_id: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(&self.name)
            .key(PARTITION_KEY, AttributeValue::S(INSTANCE_ID.into()))
            .key(SORT_KEY, AttributeValue::S(format!("agent#{agent_id}")))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    async fn set_agent_attribute(&self, agent_id: &str, name: &str, value: AttributeValue) {
        self.client
            .update_item()
            .table_name(&self.name)
            .key(PARTITION_KEY, AttributeValue::S(INSTANCE_ID.into()))
            .key(SORT_KEY, AttributeValue::S(format!("agent#{agent_id}")))
            .update_expression("SET #name = :value")
            .expression_attribute_names("#name", name)
            .expression_attribute_values(":value", value)
            .send()
            .await
            .unwrap();
    }

    async fn item_count(&self) -> i32 {
        let pages = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(INSTANCE_ID.into()))
            .select(Select::Count)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        pages.iter().map(|page| page.count).sum()
    }
}

fn agent(n: usize, status: &str) -> Agent {
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    Agent {
        id: format!("{n:08}-agent").into(),
        arn: Some(format!("arn:aws:connect:eu-west-1:123456789012:instance/{INSTANCE_ID}/agent/{n:08}-agent").into()),
        routing_profile: Some(Arc::new(Reference { id: Some(format!("rp-{}", n % 7)), arn: None })),
        status: Some(AgentStatus { name: Some(status.into()), arn: None, started_at: Some(at) }),
        slots: SlotsByChannel::from([(
            Channel::Voice,
            Slots { available: Some(1), max: Some(1), active: Some(0), saturated_since: None },
        )]),
        ..Agent::default()
    }
}

fn snapshot(agents: impl IntoIterator<Item = Agent>) -> Snapshot {
    let mut snapshot = Snapshot::new(INSTANCE_ID, Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap());
    snapshot.agents = agents.into_iter().collect();
    snapshot
}

#[tokio::test]
async fn ten_thousand_agents_round_trip_in_batches_of_at_most_25() {
    let table = Table::new().await;
    let lease = table.acquire().await;

    let first = table.store.load(&lease).await.unwrap();
    assert_eq!(first.snapshot, None, "nothing is stored before the first tick");
    assert_eq!(first.sequence, 0);

    let mut next = snapshot((0..10_000).map(|n| agent(n, "Available")));
    next.missing.push(MissingChunk {
        filter: "RoutingProfiles".into(),
        ids: vec!["rp-9".into()],
        error: "ThrottlingException".into(),
    });
    let (saved, stats) = table.store.save(&lease, &first, &next).await.unwrap();

    assert_eq!(stats.items_written, 10_000);
    assert_eq!(stats.items_deleted, 0);
    assert_eq!(stats.batch_calls as usize, 10_000usize.div_ceil(MAX_BATCH_REQUESTS));
    let batch_sizes = table.batch_sizes.calls();
    assert!(batch_sizes.iter().all(|&size| size <= MAX_BATCH_REQUESTS), "batch sizes {batch_sizes:?}");
    assert_eq!(batch_sizes.iter().sum::<usize>(), 10_000);

    let loaded = table.store.load(&lease).await.unwrap();
    assert_eq!(loaded.snapshot.as_ref(), Some(&next));
    assert_eq!(loaded.sequence, 1);
    assert_eq!(loaded, saved);
    assert_eq!(table.item_count().await, 10_001, "one item per agent plus the metadata item");
}

#[tokio::test]
async fn only_changed_agents_are_written_and_logged_out_agents_are_deleted() {
    let table = Table::new().await;
    let lease = table.acquire().await;
    let empty = table.store.load(&lease).await.unwrap();
    table.store.save(&lease, &empty, &snapshot((0..60).map(|n| agent(n, "Available")))).await.unwrap();

    // A marker on five items shows which ones the next save rewrites: a put replaces the whole item.
    for n in 0..5 {
        table.set_agent_attribute(&agent(n, "").id, "marker", AttributeValue::Bool(true)).await;
    }
    let previous = table.store.load(&lease).await.unwrap();
    let mut next = previous.snapshot.clone().unwrap();
    for n in 0..3 {
        next.agents.insert(agent(n, "Lunch"));
    }
    next.agents.remove(&agent(58, "").id);
    next.agents.remove(&agent(59, "").id);
    next.agents.insert(agent(60, "Available"));
    table.batch_sizes.0.lock().unwrap().clear();

    let (saved, stats) = table.store.save(&lease, &previous, &next).await.unwrap();

    assert_eq!((stats.items_written, stats.items_deleted, stats.batch_calls), (4, 2, 1));
    assert_eq!(table.batch_sizes.calls(), [6]);
    for n in 0..3 {
        let item = table.agent_item(&agent(n, "").id).await.unwrap();
        assert!(!item.contains_key("marker"), "changed agent {n} is rewritten");
    }
    for n in 3..5 {
        let item = table.agent_item(&agent(n, "").id).await.unwrap();
        assert!(item.contains_key("marker"), "unchanged agent {n} is left alone");
    }
    assert_eq!(table.agent_item(&agent(58, "").id).await, None);
    assert_eq!(table.agent_item(&agent(59, "").id).await, None);
    assert!(table.agent_item(&agent(60, "").id).await.is_some());
    assert_eq!(table.item_count().await, 60 - 2 + 1 + 1);

    let loaded = table.store.load(&lease).await.unwrap();
    assert_eq!(loaded.snapshot, Some(next));
    assert_eq!(loaded.sequence, 2);
    assert_eq!(loaded, saved);
}

#[tokio::test]
async fn agent_items_expire_a_ttl_after_their_write_and_the_metadata_item_never() {
    let table = Table::new().await;
    let lease = table.acquire().await;
    let empty = table.store.load(&lease).await.unwrap();

    let before = Utc::now().timestamp();
    table.store.save(&lease, &empty, &snapshot([agent(1, "Available")])).await.unwrap();
    let after = Utc::now().timestamp();

    let item = table.agent_item(&agent(1, "").id).await.unwrap();
    let Some(AttributeValue::N(expires_at)) = item.get(TTL_ATTRIBUTE) else { panic!("no {TTL_ATTRIBUTE} in {item:?}") };
    let expires_at: i64 = expires_at.parse().unwrap();
    let ttl = TTL.as_secs() as i64;
    assert!((before + ttl..=after + ttl).contains(&expires_at), "expiresAt {expires_at} is a TTL after the save");

    let meta = table
        .client
        .get_item()
        .table_name(&table.name)
        .key(PARTITION_KEY, AttributeValue::S(INSTANCE_ID.into()))
        .key(SORT_KEY, AttributeValue::S("meta".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!meta.contains_key(TTL_ATTRIBUTE), "the sequence must outlive any agent item");
}

#[tokio::test]
async fn unchanged_agents_are_rewritten_once_half_their_ttl_is_gone() {
    let table = Table::new().await;
    let lease = table.acquire().await;
    let empty = table.store.load(&lease).await.unwrap();
    let unchanged = snapshot([agent(1, "Available"), agent(2, "Available")]);
    table.store.save(&lease, &empty, &unchanged).await.unwrap();

    // As if agent 1's item had been written four days ago.
    let four_days_ago_expiry = (Utc::now() + chrono::Duration::days(3)).timestamp();
    table
        .set_agent_attribute(&agent(1, "").id, TTL_ATTRIBUTE, AttributeValue::N(four_days_ago_expiry.to_string()))
        .await;
    let previous = table.store.load(&lease).await.unwrap();
    assert_eq!(previous.expires_at[agent(1, "").id.as_str()], four_days_ago_expiry);

    let (saved, stats) = table.store.save(&lease, &previous, &unchanged).await.unwrap();

    assert_eq!((stats.items_written, stats.items_deleted), (1, 0));
    assert!(saved.expires_at[agent(1, "").id.as_str()] > four_days_ago_expiry + 3 * 24 * 3600);
    assert_eq!(saved.expires_at[agent(2, "").id.as_str()], previous.expires_at[agent(2, "").id.as_str()]);
    assert_eq!(table.store.load(&lease).await.unwrap().expires_at, saved.expires_at);
}

#[tokio::test]
async fn expired_agent_items_are_ignored_on_load() {
    let table = Table::new().await;
    let lease = table.acquire().await;
    let empty = table.store.load(&lease).await.unwrap();
    table.store.save(&lease, &empty, &snapshot([agent(1, "Available"), agent(2, "Available")])).await.unwrap();

    // DynamoDB may keep an expired item for days before deleting it.
    let a_minute_ago = (Utc::now() - chrono::Duration::minutes(1)).timestamp();
    table.set_agent_attribute(&agent(2, "").id, TTL_ATTRIBUTE, AttributeValue::N(a_minute_ago.to_string())).await;

    let loaded = table.store.load(&lease).await.unwrap();

    let agents = loaded.snapshot.unwrap().agents;
    assert_eq!(agents.ids().collect::<Vec<_>>(), [&agent(1, "").id]);
    assert!(!loaded.expires_at.contains_key(agent(2, "").id.as_str()));
}

#[tokio::test]
async fn an_agent_with_many_contacts_round_trips() {
    let table = Table::new().await;
    let lease = table.acquire().await;
    let empty = table.store.load(&lease).await.unwrap();
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 59, 58).unwrap();
    let mut fat = agent(1, "A custom status with a rather long name");
    fat.next_status = Some("Offline".into());
    fat.last_seen_at = Some(at);
    fat.hierarchy_path = Arc::new(HierarchyPath {
        level_one: Some(Reference { id: Some("g-1".into()), arn: Some("arn:g-1".into()) }),
        level_five: Some(Reference { id: Some("g-5".into()), arn: Some("arn:g-5".into()) }),
        ..HierarchyPath::default()
    });
    fat.slots.insert(
        Channel::from("HOLOGRAM"),
        Slots { available: Some(0), max: Some(10), active: Some(10), saturated_since: Some(at) },
    );
    fat.contacts = (0..30)
        .map(|n| Contact {
            contact_id: format!("{n:08}-contact").into(),
            channel: Some(if n % 2 == 0 { Channel::Chat } else { Channel::Task }),
            initiation_method: Some(InitiationMethod::from("TELEPORT")),
            state: Some(if n == 0 { ContactState::Missed } else { ContactState::ConnectedOnHold }),
            state_started_at: Some(at),
            connected_to_agent_at: Some(at),
            queue: Some(Arc::new(Reference { id: Some(format!("q-{n}")), arn: Some(format!("arn:q-{n}")) })),
            observed_in_state_since: Some(at),
        })
        .collect();
    let next = snapshot([fat]);

    table.store.save(&lease, &empty, &next).await.unwrap();

    assert_eq!(table.store.load(&lease).await.unwrap().snapshot, Some(next));
}

#[tokio::test]
async fn a_live_lease_is_respected_until_released() {
    let table = Table::new().await;
    let until = Utc::now() + chrono::Duration::minutes(1);

    let first = table.store.acquire(INSTANCE_ID, until).await.unwrap().expect("the lease is free");
    assert_eq!(table.store.acquire(INSTANCE_ID, until).await.unwrap(), None, "another tick is in progress");
    assert!(table.store.acquire("another-instance", until).await.unwrap().is_some(), "instances do not share leases");

    table.store.release(&first).await.unwrap();
    let second = table.store.acquire(INSTANCE_ID, until).await.unwrap().expect("the released lease is free");
    assert_ne!(second.owner, first.owner);
}

#[tokio::test]
async fn a_stale_lease_is_taken_over_and_its_holder_can_no_longer_use_it() {
    let table = Table::new().await;
    let overran = table.store.acquire(INSTANCE_ID, Utc::now() - chrono::Duration::seconds(1)).await.unwrap().unwrap();

    let successor = table.acquire().await;

    assert_ne!(successor.owner, overran.owner);
    assert!(matches!(table.store.load(&overran).await, Err(StoreError::LeaseLost { .. })));
    assert!(matches!(table.store.release(&overran).await, Err(StoreError::LeaseLost { .. })));
    assert!(table.store.load(&successor).await.is_ok());
}

#[tokio::test]
async fn a_save_after_another_tick_advanced_the_sequence_is_refused() {
    let table = Table::new().await;
    let overran = table.store.acquire(INSTANCE_ID, Utc::now() - chrono::Duration::seconds(1)).await.unwrap().unwrap();
    let overran_previous = table.store.load(&overran).await.unwrap();
    let successor = table.acquire().await;
    let successor_previous = table.store.load(&successor).await.unwrap();
    let newer = snapshot([agent(1, "Available")]);
    table.store.save(&successor, &successor_previous, &newer).await.unwrap();

    let older = snapshot([agent(1, "Offline"), agent(2, "Available")]);
    let refused = table.store.save(&overran, &overran_previous, &older).await;

    assert!(matches!(refused, Err(StoreError::Conflict { expected: 0, .. })), "{refused:?}");
    let stored = table.store.load(&successor).await.unwrap();
    assert_eq!(stored.snapshot, Some(newer));
    assert_eq!(stored.sequence, 1);
}

#[tokio::test]
async fn a_save_by_a_tick_that_lost_its_lease_writes_nothing() {
    let table = Table::new().await;
    let overran = table.store.acquire(INSTANCE_ID, Utc::now() - chrono::Duration::seconds(1)).await.unwrap().unwrap();
    let previous = table.store.load(&overran).await.unwrap();
    let successor = table.acquire().await;

    let refused = table.store.save(&overran, &previous, &snapshot([agent(1, "Available")])).await;

    assert!(matches!(refused, Err(StoreError::LeaseLost { .. })), "{refused:?}");
    assert!(table.batch_sizes.calls().is_empty());
    assert_eq!(table.store.load(&successor).await.unwrap().snapshot, None);
}
