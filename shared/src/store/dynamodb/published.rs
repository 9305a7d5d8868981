//! The events publisher's log ([`PublishLog`]): per subject, the last version whose events went out, in an item of
//! the subject's own partition (`PK = <subject>`, `SK = #PUBLISHED`), which no index and no other reader sees. It
//! expires two days after its last write: a stream keeps records for 24 hours, so no older record can arrive.

use async_trait::async_trait;

use super::keys::{n, s};
use super::{DynamoStore, conditional};
use crate::domain::Timestamp;
use crate::publish::PublishLog;
use crate::store::{StoreError, StoreResult};

const SK: &str = "#PUBLISHED";

/// The log item, as read back.
#[derive(serde::Deserialize)]
struct Logged {
    version: u64,
}

/// How long a log item outlives its last write.
const KEEP_DAYS: i64 = 2;

#[async_trait]
impl PublishLog for DynamoStore {
    async fn published(&self, subject: &str) -> StoreResult<Option<u64>> {
        Ok(self.get::<Logged>(subject.to_owned(), SK).await?.map(|l| l.version))
    }

    async fn record_published(&self, subject: &str, version: u64, now: Timestamp) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(subject))
            .key("SK", s(SK))
            .update_expression("SET version = :version, #ttl = :ttl")
            .condition_expression("attribute_not_exists(version) OR version < :version")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":version", n(version as i64))
            .expression_attribute_values(":ttl", n(now.plus_days(KEEP_DAYS).epoch_seconds()))
            .send()
            .await;
        match conditional(result) {
            // A later version was recorded already (by another consumer): the log never moves back.
            Err(StoreError::Conflict) => Ok(()),
            other => other,
        }
    }
}
