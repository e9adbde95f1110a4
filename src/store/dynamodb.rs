//! The snapshot store on DynamoDB: one item per agent and one metadata item per instance.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, WriteRequest};
use aws_sdk_dynamodb::Client;
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};

use super::item::{self, n, s, StoredItem, LEASE_EXPIRES_AT, LEASE_OWNER, MISSING, SEQUENCE, TAKEN_AT};
use super::{Lease, SaveStats, SnapshotStore, StoreError, Stored};
use crate::model::{Agents, Snapshot};
use crate::sdk_error;

pub use super::item::{AGENT_SORT_KEY_PREFIX, META_SORT_KEY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

/// BatchWriteItem takes at most 25 put or delete requests per call.
pub const MAX_BATCH_REQUESTS: usize = 25;

/// Batch calls in flight at once during a save; a first save of a large instance writes hundreds.
const CONCURRENT_BATCHES: usize = 4;

/// How often a batch's `UnprocessedItems` are sent again before the save gives up.
const UNPROCESSED_RETRIES: usize = 8;

/// Snapshots in a DynamoDB table laid out as described in the README.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table_name: String,
    ttl: Duration,
}

impl DynamoDbStore {
    /// `ttl` is how long an agent item outlives its last write.
    pub fn new(client: Client, table_name: impl Into<String>, ttl: Duration) -> Self {
        Self { client, table_name: table_name.into(), ttl }
    }

    /// The stored snapshot and the current lease owner, in one paginated query.
    async fn read(&self, instance_id: &str) -> Result<(Stored, Option<String>), StoreError> {
        // Strongly consistent: the previous tick's save must be seen, or its changes are emitted again.
        let mut pages = self
            .client
            .query()
            .table_name(&self.table_name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", s(instance_id))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();

        let now = Utc::now().timestamp();
        let mut meta = None;
        let mut agents = Vec::new();
        let mut expires_at = HashMap::new();
        let mut expired = 0u32;
        while let Some(found) = pages.next().await {
            match item::read_item(found.map_err(|err| service_error("Query", err))?)? {
                Some(StoredItem::Meta(stored)) => meta = Some(stored),
                // DynamoDB deletes expired items lazily, up to days later.
                Some(StoredItem::Agent { expires_at: at, .. }) if at < now => expired += 1,
                Some(StoredItem::Agent { agent, expires_at: at }) => {
                    expires_at.insert(agent.id.to_string(), at);
                    agents.push(*agent);
                }
                None => {}
            }
        }

        let meta = meta.unwrap_or_default();
        tracing::debug!(instance_id, agents = agents.len(), expired, sequence = meta.sequence, "snapshot loaded");

        let snapshot = meta.taken_at.map(|taken_at| {
            // The query returns agents in key order, so collecting them moves no agent.
            Snapshot {
                instance_id: instance_id.to_owned(),
                taken_at,
                missing: meta.missing,
                agents: Agents::shared(agents),
            }
        });
        Ok((Stored { snapshot, sequence: meta.sequence, expires_at }, meta.lease_owner))
    }

    /// The gate of a save: advances the sequence only if it is still the one loaded and the lease
    /// is still ours, so a tick that overran its lease cannot write over its successor.
    async fn advance_sequence(&self, lease: &Lease, expected: u64) -> Result<(), StoreError> {
        let result = self
            .meta_update(lease)
            .update_expression("SET #sequence = :next")
            .condition_expression("#sequence = :expected AND #owner = :owner AND #leaseExpiresAt > :now")
            .expression_attribute_names("#leaseExpiresAt", LEASE_EXPIRES_AT)
            .expression_attribute_values(":next", n(expected + 1))
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":now", n(Utc::now().timestamp_millis()))
            .send()
            .await;
        result.map(drop).map_err(|err| meta_update_error(err, lease, expected))
    }

    /// The last step of a save: the snapshot's time is what the next tick's event ids of logins and
    /// saturations are keyed on, so it moves only once every agent item is written.
    async fn record_snapshot_time(&self, lease: &Lease, sequence: u64, next: &Snapshot) -> Result<(), StoreError> {
        let result = self
            .meta_update(lease)
            .update_expression("SET #takenAt = :takenAt, #missing = :missing")
            .condition_expression("#sequence = :expected AND #owner = :owner")
            .expression_attribute_names("#takenAt", TAKEN_AT)
            .expression_attribute_names("#missing", MISSING)
            .expression_attribute_values(":takenAt", s(next.taken_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
            .expression_attribute_values(":missing", item::missing_value(next)?)
            .expression_attribute_values(":expected", n(sequence))
            .send()
            .await;
        result.map(drop).map_err(|err| meta_update_error(err, lease, sequence))
    }

    /// A conditional update of the metadata item, naming the sequence and the lease owner.
    fn meta_update(&self, lease: &Lease) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(item::key(&lease.instance_id, META_SORT_KEY)))
            .expression_attribute_names("#sequence", SEQUENCE)
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_values(":owner", s(&lease.owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    /// Writes the requests in calls of at most [`MAX_BATCH_REQUESTS`]; returns the calls made.
    async fn write_batches(&self, requests: Vec<WriteRequest>) -> Result<u32, StoreError> {
        let mut batches = Vec::new();
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            batches.push(requests.by_ref().take(MAX_BATCH_REQUESTS).collect::<Vec<_>>());
        }

        futures::stream::iter(batches)
            .map(|batch| self.write_batch(batch))
            .buffer_unordered(CONCURRENT_BATCHES)
            .try_fold(0, |calls, batch_calls| async move { Ok(calls + batch_calls) })
            .await
    }

    /// One batch, with its `UnprocessedItems` sent again (DynamoDB returns them under throttling
    /// instead of failing the call).
    async fn write_batch(&self, batch: Vec<WriteRequest>) -> Result<u32, StoreError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(UNPROCESSED_RETRIES)
            .with_jitter()
            .build();
        let mut pending = batch;
        let mut calls = 0;

        loop {
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table_name, pending)
                .send()
                .await
                .map_err(|err| service_error("BatchWriteItem", err))?;
            calls += 1;

            pending =
                output.unprocessed_items.and_then(|mut tables| tables.remove(&self.table_name)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(calls);
            }
            let Some(delay) = backoff.next() else {
                return Err(StoreError::Unprocessed { unprocessed: pending.len() });
            };
            tracing::warn!(
                unprocessed = pending.len(),
                delay_ms = delay.as_millis() as u64,
                "retrying unprocessed items"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

impl SnapshotStore for DynamoDbStore {
    async fn acquire(&self, instance_id: &str, until: DateTime<Utc>) -> Result<Option<Lease>, StoreError> {
        let owner = format!("{:032x}", fastrand::u128(..));

        // The sequence starts at 0 on the first tick so a save's condition can always compare it.
        let result = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(item::key(instance_id, META_SORT_KEY)))
            .update_expression(
                "SET #owner = :owner, #leaseExpiresAt = :until, #sequence = if_not_exists(#sequence, :zero)",
            )
            .condition_expression("attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now")
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#leaseExpiresAt", LEASE_EXPIRES_AT)
            .expression_attribute_names("#sequence", SEQUENCE)
            .expression_attribute_values(":owner", s(&owner))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(Utc::now().timestamp_millis()))
            .send()
            .await;

        match result {
            Ok(_) => Ok(Some(Lease { instance_id: instance_id.to_owned(), owner, expires_at: until })),
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(service_error("UpdateItem", err)),
        }
    }

    async fn load(&self, lease: &Lease) -> Result<Stored, StoreError> {
        let (stored, owner) = self.read(&lease.instance_id).await?;
        if owner.as_deref() != Some(lease.owner.as_str()) {
            return Err(StoreError::LeaseLost { instance_id: lease.instance_id.clone() });
        }
        Ok(stored)
    }

    async fn peek(&self, instance_id: &str) -> Result<Stored, StoreError> {
        Ok(self.read(instance_id).await?.0)
    }

    async fn save(&self, lease: &Lease, previous: &Stored, next: &Snapshot) -> Result<(Stored, SaveStats), StoreError> {
        let now = Utc::now();
        let expires_at = (now + self.ttl).timestamp();
        let refresh_before = (now + self.ttl / 2).timestamp();
        let previous_agents = previous.snapshot.as_ref().map(|snapshot| &snapshot.agents);

        let mut requests = Vec::new();
        let mut stored_expiry = HashMap::new();
        let mut stats = SaveStats::default();
        for agent in &next.agents {
            let id = agent.id.as_str();
            let unchanged = previous_agents.and_then(|agents| agents.get(id)) == Some(agent);
            // An unchanged agent's item is rewritten once half its TTL is gone, so agents that stay
            // logged in for days never age out.
            match previous.expires_at.get(id) {
                Some(&at) if unchanged && at >= refresh_before => {
                    stored_expiry.insert(id.to_owned(), at);
                }
                _ => {
                    requests.push(item::put_request(item::agent_item(&lease.instance_id, agent, expires_at)?)?);
                    stored_expiry.insert(id.to_owned(), expires_at);
                    stats.items_written += 1;
                }
            }
        }
        for id in previous_agents.into_iter().flat_map(|agents| agents.ids()).filter(|id| !next.agents.contains(id)) {
            requests.push(item::delete_request(item::key(&lease.instance_id, item::agent_sort_key(id)))?);
            stats.items_deleted += 1;
        }

        // The sequence goes first: it is the only conditional write before the batches, so nothing
        // is written unless the lease and sequence hold (agents first would let a tick that lost its
        // lease overwrite newer items). Should a batch fail, the items not written and the snapshot
        // time still hold the previous state; the next tick diffs against them and emits those
        // changes again with the same event ids, which is the at-least-once promise.
        self.advance_sequence(lease, previous.sequence).await?;
        stats.batch_calls = self.write_batches(requests).await?;
        self.record_snapshot_time(lease, previous.sequence + 1, next).await?;

        tracing::debug!(
            instance_id = %lease.instance_id,
            written = stats.items_written,
            deleted = stats.items_deleted,
            batch_calls = stats.batch_calls,
            "snapshot saved"
        );
        let stored =
            Stored { snapshot: Some(next.clone()), sequence: previous.sequence + 1, expires_at: stored_expiry };
        Ok((stored, stats))
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(item::key(&lease.instance_id, META_SORT_KEY)))
            .update_expression("REMOVE #owner, #leaseExpiresAt")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#leaseExpiresAt", LEASE_EXPIRES_AT)
            .expression_attribute_values(":owner", s(&lease.owner))
            .send()
            .await;

        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => {
                Err(StoreError::LeaseLost { instance_id: lease.instance_id.clone() })
            }
            Err(err) => Err(service_error("UpdateItem", err)),
        }
    }
}

fn is_condition_failed<R>(err: &SdkError<UpdateItemError, R>) -> bool {
    err.as_service_error().is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

/// Tells a sequence that moved on from a lease that is no longer ours, from the item as it was.
fn meta_update_error(err: SdkError<UpdateItemError, HttpResponse>, lease: &Lease, expected: u64) -> StoreError {
    match err.into_service_error() {
        UpdateItemError::ConditionalCheckFailedException(failed) => {
            let stored = match failed.item.map(item::read_meta).transpose() {
                Ok(stored) => stored.unwrap_or_default(),
                Err(corrupt) => return corrupt,
            };
            if stored.sequence != expected {
                StoreError::Conflict { instance_id: lease.instance_id.clone(), expected }
            } else {
                StoreError::LeaseLost { instance_id: lease.instance_id.clone() }
            }
        }
        other => service_error("UpdateItem", other),
    }
}

fn service_error(operation: &'static str, err: impl ProvideErrorMetadata + std::error::Error) -> StoreError {
    StoreError::Service {
        operation,
        code: err.code().unwrap_or("Unknown").to_owned(),
        message: sdk_error::message(&err),
    }
}
