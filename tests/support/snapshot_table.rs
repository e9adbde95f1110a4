//! The snapshot table as the SAM template creates it, for tests against moto.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use connect_pulse::store::dynamodb::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};

/// A table name no other test in this process uses.
pub fn fresh_table_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("connect-pulse-snapshots-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Creates the table (pk/sk strings, on-demand) with TTL on `expiresAt`.
pub async fn create_snapshot_table(client: &Client, table_name: &str) {
    let string_key = |name: &str, key_type: KeyType| {
        (
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap(),
            KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().unwrap(),
        )
    };
    let (pk_attribute, pk_key) = string_key(PARTITION_KEY, KeyType::Hash);
    let (sk_attribute, sk_key) = string_key(SORT_KEY, KeyType::Range);

    client
        .create_table()
        .table_name(table_name)
        .attribute_definitions(pk_attribute)
        .attribute_definitions(sk_attribute)
        .key_schema(pk_key)
        .key_schema(sk_key)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("the snapshot table is created");

    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().enabled(true).attribute_name(TTL_ATTRIBUTE).build().unwrap(),
        )
        .send()
        .await
        .expect("TTL is enabled on the snapshot table");
}
