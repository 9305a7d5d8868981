//! The table itself: its keys, its three indexes, its stream and TTL, as `template.yaml` declares them.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::{DynamoStore, unavailable, unbuilt};
use crate::store::StoreResult;

impl DynamoStore {
    /// Creates the table as `template.yaml` declares it (keys, indexes, stream, TTL). For tests and local setups.
    pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let gsi = |name: &str, projection: ProjectionType| -> Result<GlobalSecondaryIndex, _> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}PK"), KeyType::Hash)?)
                .key_schema(key(&format!("{name}SK"), KeyType::Range)?)
                .projection(Projection::builder().projection_type(projection).build())
                .build()
        };
        let build = || -> Result<_, aws_sdk_dynamodb::error::BuildError> {
            Ok(client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key("PK", KeyType::Hash)?)
                .key_schema(key("SK", KeyType::Range)?)
                .attribute_definitions(attr("PK")?)
                .attribute_definitions(attr("SK")?)
                .attribute_definitions(attr("GSI1PK")?)
                .attribute_definitions(attr("GSI1SK")?)
                .attribute_definitions(attr("GSI2PK")?)
                .attribute_definitions(attr("GSI2SK")?)
                .attribute_definitions(attr("GSI3PK")?)
                .attribute_definitions(attr("GSI3SK")?)
                // Lists read whole items from GSI1 and GSI2; the sweep reads GSI3's keys, then the few items due.
                .global_secondary_indexes(gsi("GSI1", ProjectionType::All)?)
                .global_secondary_indexes(gsi("GSI2", ProjectionType::All)?)
                .global_secondary_indexes(gsi("GSI3", ProjectionType::KeysOnly)?)
                .stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewAndOldImages)
                        .build()?,
                ))
        };
        build().map_err(unbuilt)?.send().await.map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name("ttl").build().map_err(unbuilt)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
