//! The mapping between snapshots and DynamoDB items, kept apart so the adapter reads as calls.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_dynamo::aws_sdk_dynamodb_1::{from_attribute_value, from_item, to_attribute_value, to_item};

use super::StoreError;
use crate::model::{Agent, MissingChunk, Snapshot};

/// A DynamoDB item as the SDK takes and returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Partition key (S): the Connect instance id. An instance too large for one partition could later
/// be spread as `<instance id>#<shard>`, the load querying every shard.
pub const PARTITION_KEY: &str = "pk";
/// Sort key (S): [`META_SORT_KEY`] or [`AGENT_SORT_KEY_PREFIX`] followed by the user id.
pub const SORT_KEY: &str = "sk";
/// The table's TTL attribute (N, epoch seconds), set on agent items only.
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// Sort key of the one metadata item per instance: snapshot time, sequence, missing chunks, lease.
pub const META_SORT_KEY: &str = "meta";
/// Sort key prefix of agent items.
pub const AGENT_SORT_KEY_PREFIX: &str = "agent#";

pub(super) const TAKEN_AT: &str = "takenAt";
pub(super) const SEQUENCE: &str = "sequence";
pub(super) const MISSING: &str = "missing";
pub(super) const LEASE_OWNER: &str = "leaseOwner";
/// Epoch milliseconds: leases last one invocation, so seconds would be too coarse.
pub(super) const LEASE_EXPIRES_AT: &str = "leaseExpiresAtMs";

/// The metadata item as stored; every attribute may be absent before the first save.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Meta {
    #[serde(default)]
    pub taken_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub missing: Vec<MissingChunk>,
    #[serde(default)]
    pub lease_owner: Option<String>,
}

/// One item of an instance's partition.
pub(super) enum StoredItem {
    Meta(Meta),
    Agent { agent: Box<Agent>, expires_at: i64 },
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn key(instance_id: &str, sort_key: impl Into<String>) -> Item {
    HashMap::from([(PARTITION_KEY.to_owned(), s(instance_id)), (SORT_KEY.to_owned(), s(sort_key))])
}

pub(super) fn agent_sort_key(agent_id: &str) -> String {
    format!("{AGENT_SORT_KEY_PREFIX}{agent_id}")
}

/// The agent's own attributes at the top level of the item, so the table reads well in the console.
pub(super) fn agent_item(instance_id: &str, agent: &Agent, expires_at: i64) -> Result<Item, StoreError> {
    let sort_key = agent_sort_key(&agent.id);
    let mut item: Item =
        to_item(agent).map_err(|err| StoreError::Corrupt { key: sort_key.clone(), message: err.to_string() })?;

    item.extend(key(instance_id, sort_key));
    item.insert(TTL_ATTRIBUTE.to_owned(), n(expires_at));
    Ok(item)
}

pub(super) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder().set_item(Some(item)).build();
    Ok(WriteRequest::builder().put_request(put.map_err(build_error)?).build())
}

pub(super) fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    let delete = DeleteRequest::builder().set_key(Some(key)).build();
    Ok(WriteRequest::builder().delete_request(delete.map_err(build_error)?).build())
}

fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt { key: "write request".into(), message: err.to_string() }
}

pub(super) fn missing_value(snapshot: &Snapshot) -> Result<AttributeValue, StoreError> {
    to_attribute_value(&snapshot.missing)
        .map_err(|err| StoreError::Corrupt { key: META_SORT_KEY.to_owned(), message: err.to_string() })
}

pub(super) fn read_meta(item: Item) -> Result<Meta, StoreError> {
    from_item(item).map_err(|err| StoreError::Corrupt { key: META_SORT_KEY.to_owned(), message: err.to_string() })
}

/// Reads one item of the partition; `None` for a sort key this version does not know.
pub(super) fn read_item(mut item: Item) -> Result<Option<StoredItem>, StoreError> {
    let sort_key = match item.get(SORT_KEY) {
        Some(AttributeValue::S(sort_key)) => sort_key.clone(),
        _ => return Err(StoreError::Corrupt { key: "(none)".into(), message: format!("no string {SORT_KEY}") }),
    };
    let corrupt = |message: String| StoreError::Corrupt { key: sort_key.clone(), message };

    if sort_key == META_SORT_KEY {
        return read_meta(item).map(|meta| Some(StoredItem::Meta(meta)));
    }
    if !sort_key.starts_with(AGENT_SORT_KEY_PREFIX) {
        return Ok(None);
    }

    let expires_at = item.remove(TTL_ATTRIBUTE).ok_or_else(|| corrupt(format!("no {TTL_ATTRIBUTE}")))?;
    let expires_at: i64 = from_attribute_value(expires_at).map_err(|err| corrupt(err.to_string()))?;
    let agent: Agent = from_item(item).map_err(|err| corrupt(err.to_string()))?;
    Ok(Some(StoredItem::Agent { agent: Box::new(agent), expires_at }))
}

/// DynamoDB's item size rule (attribute names plus values), counting numbers at their string length,
/// which is never less than their stored size.
#[cfg(test)]
fn item_size(item: &Item) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(text) | AttributeValue::N(text) => text.len(),
            AttributeValue::B(blob) => blob.as_ref().len(),
            AttributeValue::Ss(set) | AttributeValue::Ns(set) => set.iter().map(String::len).sum(),
            AttributeValue::Bs(set) => set.iter().map(|blob| blob.as_ref().len()).sum(),
            AttributeValue::L(list) => 3 + list.iter().map(|value| 1 + value_size(value)).sum::<usize>(),
            AttributeValue::M(map) => {
                3 + map.iter().map(|(name, value)| 1 + name.len() + value_size(value)).sum::<usize>()
            }
            _ => 1,
        }
    }
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

#[cfg(test)]
mod tests {

    use chrono::TimeZone;

    use super::*;
    use crate::model::{
        AgentStatus, ArcStr, Channel, Contact, ContactState, HierarchyPath, InitiationMethod, Reference, Slots,
    };
    use std::sync::Arc;

    fn reference(kind: &str, n: usize) -> Reference {
        let id = format!("{n:08}-0000-0000-0000-000000000000");
        let arn =
            format!("arn:aws:connect:eu-west-1:123456789012:instance/11111111-2222-3333-4444-555555555555/{kind}/{id}");
        Reference { id: Some(id), arn: Some(arn) }
    }

    /// An agent as large as Connect can make one: every hierarchy level, four channels, and more
    /// contacts than any routing profile's concurrency allows (chat and task go up to 10 each).
    fn fat_agent() -> Agent {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        let channels = [Channel::Voice, Channel::Chat, Channel::Task, Channel::Email, Channel::from("HOLOGRAM")];
        Agent {
            id: "7d3f6a2e-9a0b-4c1d-8e2f-3a4b5c6d7e8f".into(),
            arn: reference("agent", 1).arn.map(ArcStr::from),
            routing_profile: Some(Arc::new(reference("routing-profile", 1))),
            hierarchy_path: Arc::new(HierarchyPath {
                level_one: Some(reference("agent-group", 1)),
                level_two: Some(reference("agent-group", 2)),
                level_three: Some(reference("agent-group", 3)),
                level_four: Some(reference("agent-group", 4)),
                level_five: Some(reference("agent-group", 5)),
            }),
            status: Some(AgentStatus {
                name: Some("A custom status with a rather long name, up to 127 characters".into()),
                arn: reference("agent-state", 1).arn.map(ArcStr::from),
                started_at: Some(at),
            }),
            next_status: Some("Offline".into()),
            slots: channels
                .iter()
                .map(|channel| {
                    (*channel, Slots { available: Some(0), max: Some(10), active: Some(10), saturated_since: Some(at) })
                })
                .collect(),
            contacts: (0..40)
                .map(|n| Contact {
                    contact_id: format!("{n:08}-aaaa-bbbb-cccc-dddddddddddd").into(),
                    channel: Some(channels[n % channels.len()]),
                    initiation_method: Some(InitiationMethod::QueueTransfer),
                    state: Some(ContactState::ConnectedOnHold),
                    state_started_at: Some(at),
                    connected_to_agent_at: Some(at),
                    queue: Some(Arc::new(reference("queue", n))),
                    observed_in_state_since: Some(at),
                })
                .collect(),
            last_seen_at: Some(at),
        }
    }

    #[test]
    fn a_fat_agent_item_stays_far_below_the_400_kb_item_limit() {
        let agent = fat_agent();

        let item = agent_item("11111111-2222-3333-4444-555555555555", &agent, 1_800_000_000).unwrap();

        let size = item_size(&item);
        assert!(size < 40 * 1024, "a fat agent item is {size} bytes");
        assert!(size > 10 * 1024, "the fat agent is not fat: {size} bytes");
    }

    #[test]
    fn an_agent_item_reads_back_as_the_same_agent_with_its_expiry() {
        let agent = fat_agent();
        let item = agent_item("instance-1", &agent, 1_800_000_000).unwrap();
        assert_eq!(item[PARTITION_KEY], s("instance-1"));
        assert_eq!(item[SORT_KEY], s(agent_sort_key(&agent.id)));
        assert_eq!(item[TTL_ATTRIBUTE], n(1_800_000_000));

        let Some(StoredItem::Agent { agent: read, expires_at }) = read_item(item).unwrap() else {
            panic!("an agent item reads as an agent");
        };

        assert_eq!(*read, agent);
        assert_eq!(expires_at, 1_800_000_000);
    }

    #[test]
    fn ids_of_any_length_and_text_survive_the_item_round_trip() {
        let mut agent = fat_agent();
        agent.id = "ü".repeat(30).into();
        agent.contacts[0].contact_id = format!("{}é", "c".repeat(37)).into();
        agent.contacts[1].contact_id = format!("{}é", "c".repeat(36)).into();
        let item = agent_item("instance-1", &agent, 1_800_000_000).unwrap();

        let Some(StoredItem::Agent { agent: read, .. }) = read_item(item).unwrap() else {
            panic!("an agent item reads as an agent");
        };

        assert_eq!(*read, agent);
        assert_eq!(read.contacts[0].contact_id.as_str(), format!("{}é", "c".repeat(37)));
    }

    #[test]
    fn an_unknown_sort_key_is_skipped_and_a_broken_agent_item_is_corrupt() {
        assert!(read_item(key("instance-1", "future#x")).unwrap().is_none());

        let mut broken = key("instance-1", agent_sort_key("a-1"));
        broken.insert(TTL_ATTRIBUTE.to_owned(), n(1));
        broken.insert("contacts".to_owned(), s("not a list"));
        assert!(matches!(read_item(broken), Err(StoreError::Corrupt { key, .. }) if key == "agent#a-1"));
    }
}
