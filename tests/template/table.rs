//! The table as the DynamoDB adapter uses it (keys, indexes, expiry, stream), and what deleting or replacing the
//! stack keeps: the table, the KMS keys and the dead-letter queues.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{of_type, resources, template};

#[test]
fn the_table_is_the_one_the_dynamodb_adapter_uses() {
    let t = template();
    let table = &resources(&t)["Table"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    let key = |hash: &str, range: &str| json!([{ "AttributeName": hash, "KeyType": "HASH" }, { "AttributeName": range, "KeyType": "RANGE" }]);
    assert_eq!(p["KeySchema"], key("PK", "SK"));
    let attributes: BTreeMap<&str, &str> = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["AttributeName"].as_str().unwrap(), a["AttributeType"].as_str().unwrap()))
        .collect();
    let strings = ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "PK", "SK"].map(|name| (name, "S"));
    assert_eq!(attributes, BTreeMap::from(strings));
    let indexes: BTreeMap<&str, &Value> =
        p["GlobalSecondaryIndexes"].as_array().unwrap().iter().map(|i| (i["IndexName"].as_str().unwrap(), i)).collect();
    assert_eq!(indexes.keys().copied().collect::<Vec<_>>(), ["GSI1", "GSI2", "GSI3"]);
    for (name, index) in indexes {
        assert_eq!(index["KeySchema"], key(&format!("{name}PK"), &format!("{name}SK")), "{name}");
        // Lists read whole items from GSI1 and GSI2, with no second read per item; the sweep reads GSI3's keys and
        // then the items due, so writes that move an item in or out of the outbox cost GSI3 one unit each.
        let projection = if name == "GSI3" { "KEYS_ONLY" } else { "ALL" };
        assert_eq!(index["Projection"]["ProjectionType"], projection, "{name}");
    }
    // The adapter writes expiry as `ttl`, in epoch seconds.
    assert_eq!(p["TimeToLiveSpecification"], json!({ "AttributeName": "ttl", "Enabled": true }));
    assert_eq!(p["StreamSpecification"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    for output in ["ApiUrl", "TableName", "TableStreamArn"] {
        assert!(t["Outputs"][output]["Value"].is_object(), "output {output}");
    }
    assert_eq!(t["Outputs"]["TableStreamArn"]["Value"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
}

/// Deleting or replacing the stack keeps the table (the service's only state, which deletion protection also
/// guards against a hand), the KMS keys (without which sealed secrets and signed files are lost) and the
/// dead-letter queues (the only record of work that failed); the table recovers to any point of the last 35
/// days. Every dead-letter destination is one of the template's queues: a queue SAM makes cannot be retained.
#[test]
fn the_table_keys_and_queues_are_retained_and_the_table_recovers_to_a_point_in_time() {
    let t = template();
    let retained = |id: &str, resource: &Value| {
        assert_eq!(resource["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(resource["UpdateReplacePolicy"], "Retain", "{id}");
    };
    let table = &resources(&t)["Table"];
    retained("Table", table);
    assert_eq!(table["Properties"]["PointInTimeRecoverySpecification"], json!({ "PointInTimeRecoveryEnabled": true }));
    assert_eq!(table["Properties"]["DeletionProtectionEnabled"], true);
    let keys = of_type(&t, "AWS::KMS::Key");
    assert_eq!(keys.keys().copied().collect::<Vec<_>>(), ["OutboxKey", "PortalSigningKey"]);
    for (id, key) in keys {
        retained(id, key);
    }
    let queues = of_type(&t, "AWS::SQS::Queue");
    assert_eq!(queues.len(), 4);
    for (id, queue) in &queues {
        retained(id, queue);
        assert_eq!(queue["Properties"]["MessageRetentionPeriod"], 1_209_600, "{id}: the longest SQS keeps");
        assert_eq!(queue["Properties"]["SqsManagedSseEnabled"], true, "{id}");
    }

    // Every dead-letter destination in the template: DeadLetterConfig (EventBridge targets, SAM's rule events)
    // and DestinationConfig.OnFailure (stream event source mappings).
    fn destinations<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match key.as_str() {
                        "DeadLetterConfig" => found.push(v),
                        "OnFailure" => found.push(v),
                        _ => destinations(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| destinations(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    destinations(&t["Resources"], &mut found);
    let mut used = BTreeSet::new();
    for destination in found {
        assert!(destination.get("QueueLogicalId").is_none(), "{destination}: SAM's queue, not retained");
        let arn = match destination.get("Destination") {
            Some(arn) => {
                assert_eq!(destination["Type"], "SQS", "{destination}");
                arn
            }
            None => {
                assert!(destination.get("Type").is_none(), "{destination}: SAM's queue, not retained");
                &destination["Arn"]
            }
        };
        let queue = arn["Fn::GetAtt"][0].as_str().unwrap_or_else(|| panic!("{destination}: a queue's Arn"));
        assert_eq!(arn["Fn::GetAtt"][1], "Arn");
        assert!(queues.contains_key(queue), "{queue} is not one of the template's queues");
        used.insert(queue);
    }
    assert_eq!(used, queues.keys().copied().collect(), "each queue is some dead-letter destination");
}
