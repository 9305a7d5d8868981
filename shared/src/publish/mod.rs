//! Publishing the events of [`crate::domain::event`]: the stream consumer that turns each change of an invitation
//! into its events and hands them to an [`EventSink`] (Amazon EventBridge in AWS, [`eventbridge`]).
//!
//! - **In order, per subject.** A DynamoDB stream hands one item's changes in order, and a batch is published in
//!   order. At the first record that fails, the batch stops and reports that record (`batchItemFailures`): Lambda
//!   retries from it, so nothing after it is published ahead of it, and nothing before it again.
//! - **Once, under replay.** Before publishing a record's events the consumer asks its [`PublishLog`] which
//!   version of the subject was published last, and skips a record at or below it; after publishing it records
//!   the version. A record seen again (a retried batch, a second consumer) publishes nothing. Only a consumer killed
//!   between publishing and recording publishes a record twice, with the same event ids, which receivers drop.
//! - **Skips what it cannot understand.** Other items, `REMOVE`s of anything but a participant (TTL deletions), and
//!   images that do not decode are not failures: retrying them could never succeed.

#[cfg(feature = "eventbridge")]
pub mod eventbridge;

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use crate::domain::collaboration::{CollaborationInvitation, Participant};
use crate::domain::event::{self, Event};
use crate::domain::{CommunityInvitation, Timestamp, UserInvitation};
use crate::store::StoreError;

/// Why events could not be published; the record is retried.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The sink refused or could not be reached, in its words.
    #[error("publishing failed: {0}")]
    Sink(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where events go.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Publishes `events`, all or none as far as the caller can tell: an error means the record is retried, and
    /// what did go out then goes out again under the same ids.
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError>;
}

/// Which version of each subject was published last, so a record seen again publishes nothing.
#[async_trait]
pub trait PublishLog: Send + Sync {
    /// The last version of `subject` published, if any is remembered.
    async fn published(&self, subject: &str) -> Result<Option<u64>, StoreError>;

    /// Remembers that `subject` was published up to `version` (never moves back), for long enough that no stream
    /// record older than it can still arrive.
    async fn record_published(&self, subject: &str, version: u64, now: Timestamp) -> Result<(), StoreError>;
}

/// One change of a subject, with the events it raises.
#[derive(Debug, PartialEq)]
pub struct Change {
    /// The subject's key in the log: `INVITATION#<id>`, `USERINVITATION#<id>`, `COLLABORATIONINVITATION#<id>` or
    /// `PARTICIPANT#<collaboration>#<portal>`.
    pub subject: String,
    pub version: u64,
    pub events: Vec<Event>,
}

/// The change a stream record carries, or `None` for a record to skip. `now` dates a removal whose record does not
/// say when it was made.
pub fn change_of(record: &EventRecord, now: Timestamp) -> Option<Change> {
    let removed = match record.event_name.as_str() {
        "INSERT" | "MODIFY" => None,
        "REMOVE" => {
            let at = record.change.approximate_creation_date_time.timestamp_millis();
            Some(if at > 0 { Timestamp::from_millis(at) } else { now })
        }
        _ => return None,
    };
    let new = &record.change.new_image;
    let old = &record.change.old_image;
    let image = if removed.is_some() { old } else { new };
    let sk = serde_dynamo::from_attribute_value::<_, String>(image.get("SK")?.clone()).ok()?;
    match (sk.as_str(), removed) {
        ("#INVITATION", None) => {
            let new: CommunityInvitation = decoded(new)?;
            let old: Option<CommunityInvitation> = decoded(old);
            let events = event::of_invitation(old.as_ref(), &new);
            Some(Change { subject: format!("INVITATION#{}", new.id), version: new.version, events })
        }
        ("#USERINVITATION", None) => {
            let new: UserInvitation = decoded(new)?;
            let old: Option<UserInvitation> = decoded(old);
            let events = event::of_user_invitation(old.as_ref(), &new);
            Some(Change { subject: format!("USERINVITATION#{}", new.id), version: new.version, events })
        }
        (sk, None) if sk.starts_with("INVITATION#") => {
            let new: CollaborationInvitation = decoded(new)?;
            let old: Option<CollaborationInvitation> = decoded(old);
            let events = event::of_collaboration_invitation(old.as_ref(), &new);
            Some(Change { subject: format!("COLLABORATIONINVITATION#{}", new.id), version: new.version, events })
        }
        (sk, removed) if sk.starts_with("PARTICIPANT#") => {
            let participant: Participant = decoded(image)?;
            Some(Change {
                subject: format!("PARTICIPANT#{}#{}", participant.collaboration_id, participant.portal.id),
                version: event::participant_version(&participant, removed),
                events: event::of_participant(&participant, removed),
            })
        }
        // Anything else, and the removal of anything but a participant (an item's TTL ran out).
        _ => None,
    }
}

/// A stream image as `T`, or `None` when it is absent or not one.
fn decoded<T: serde::de::DeserializeOwned>(image: &serde_dynamo::Item) -> Option<T> {
    serde_dynamo::from_item(image.clone()).ok()
}

/// The stream consumer: decides each record's events, publishes them once, in order.
pub struct Publisher {
    pub sink: Arc<dyn EventSink>,
    pub log: Arc<dyn PublishLog>,
    pub clock: Arc<dyn crate::domain::Clock>,
    /// Where the published events are counted as CloudWatch metrics ([`crate::metrics`]); `None`: not counted.
    pub metrics_namespace: Option<String>,
}

impl Publisher {
    /// Publishes the events of `change` unless its version was published already.
    pub async fn publish(&self, change: &Change) -> Result<(), PublishError> {
        // A write that raises nothing (a delivery being claimed) needs neither the log nor the sink.
        if change.events.is_empty() || self.log.published(&change.subject).await?.is_some_and(|v| v >= change.version) {
            return Ok(());
        }
        self.sink.publish(&change.events).await?;
        let now = self.clock.now();
        self.log.record_published(&change.subject, change.version, now).await?;
        if let Some(namespace) = &self.metrics_namespace {
            crate::metrics::emit(&change.events, namespace, now.millis());
        }
        Ok(())
    }

    /// One batch of DynamoDB stream records (the Lambda event's `Records`), in order. Stops at the first record
    /// that fails and names it, so Lambda retries from there (see the module docs).
    pub async fn handle_records(&self, records: &[serde_json::Value]) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in crate::lambda::parsed_records(records) {
            let Some(change) = change_of(&record, self.clock.now()) else { continue };
            if let Err(error) = self.publish(&change).await {
                let error = crate::http::redact(&error.to_string());
                tracing::warn!(subject = change.subject, version = change.version, error, "events not published");
                response.batch_item_failures.push(crate::lambda::retry(&record));
                break;
            }
            tracing::info!(
                subject = change.subject,
                version = change.version,
                events = change.events.len(),
                "published"
            );
        }
        response
    }
}
