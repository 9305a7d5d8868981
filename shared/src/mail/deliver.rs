//! The outbox consumer: delivers an invitation's pending email exactly once, whatever the stream does.
//!
//! For each stream record whose new image owes an email, [`Deliverer::deliver`] claims the delivery with a
//! conditional write (`pending -> sending` on its sequence number), so a record seen twice, or by two consumers,
//! sends once; it then unseals the link secret, reads the tenant's settings (the email's branding and default
//! language, as they are when it is sent), renders and sends the message, and writes `sent` (with the mail
//! service's message id, dropping the sealed secret) or `failed` (with the service's reason) back, again
//! conditionally. A failed send is reported as a batch item failure, so Lambda retries the record and the retry
//! claims the failed delivery again. So is a delivery another sender holds a live claim on ([`DeliverError::Busy`]):
//! if that sender died, a later retry finds its claim stale and retakes it, and a record that never gets through
//! reaches the dead-letter queue rather than vanishing as done.
//!
//! Each delivery has [`DELIVERY_BUDGET`] from claim to recorded outcome; one that overruns it is abandoned (its
//! record fails, for a retry) and its claim goes stale later, so a batch always ends inside the function's timeout
//! (template.yaml states the arithmetic) and no sender outlives its claim.
//!
//! Records it does not understand (other items, `REMOVE`s, TTL deletions, images that do not decode) are skipped:
//! retrying them could never succeed.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde::Deserialize;

use super::{Mailer, templates};
use crate::domain::{Claimed, Clock, Delivery, DeliveryOutcome, DeliveryState, InvitationId, MailItem, MailKind};
use crate::i18n::Look;
use crate::seal::Sealer;
use crate::store::{Store, StoreError};

/// How often the outcome's write-back is tried.
const RECORD_TRIES: u64 = 3;

/// The longest one delivery may take, claim to recorded outcome: its AWS calls (each given up after 6 s by the
/// SDK's timeouts) normally take milliseconds. Well under [`crate::domain::CLAIM_STALE_MINUTES`], so a claim is
/// never taken for dead while its sender still runs; the template's timeouts are multiples of it.
pub const DELIVERY_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

const _: () = assert!(DELIVERY_BUDGET.as_secs() * 5 < crate::domain::CLAIM_STALE_MINUTES as u64 * 60);

/// The longest failure reason stored on the item.
const MAX_REASON: usize = 500;

/// What the consumer needs: where invitations are, how secrets open, how mail leaves, and the time.
pub struct Deliverer {
    pub store: Arc<dyn Store>,
    pub sealer: Arc<dyn Sealer>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
}

/// What became of one delivery that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Sent now, with the mail service's message id.
    Sent(String),
    /// Nothing to do: already sent, withdrawn, or replaced by a newer delivery.
    Skipped,
}

/// Why a delivery failed; its record is reported for a retry.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The message was not sent; the delivery is recorded as failed with this reason.
    #[error("sending failed: {0}")]
    Failed(String),
    /// The store could not be read or written; the delivery stays as it was (a claim goes stale).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The delivery took longer than [`DELIVERY_BUDGET`] and was abandoned; a claim it took goes stale and is
    /// retaken by a retry or the sweep.
    #[error("the delivery took longer than {} s", DELIVERY_BUDGET.as_secs())]
    Overran,
    /// Another sender holds a live claim on this delivery. Not done: the record is retried, and once that sender
    /// is known dead (its claim stale) the retry claims the delivery itself, or the record reaches the
    /// dead-letter queue.
    #[error("another sender is sending this delivery")]
    Busy,
}

/// The part of an invitation item's image the consumer looks at.
#[derive(Deserialize)]
struct Image {
    #[serde(rename = "SK")]
    sk: String,
    id: InvitationId,
    delivery: Option<ImageDelivery>,
}

#[derive(Deserialize)]
struct ImageDelivery {
    seq: u64,
    state: DeliveryState,
}

/// The (invitation, delivery) a stream record asks to deliver, or `None` for a record to skip.
pub fn pending_delivery(record: &EventRecord) -> Option<(MailItem, u64)> {
    if !matches!(record.event_name.as_str(), "INSERT" | "MODIFY") {
        return None;
    }
    let image: Image = serde_dynamo::from_item(record.change.new_image.clone()).ok()?;
    let delivery = image.delivery.filter(|d| d.state == DeliveryState::Pending)?;
    let item = match image.sk.as_str() {
        "#INVITATION" => MailItem::Community(image.id),
        "#USERINVITATION" => MailItem::Platform(image.id),
        _ => return None,
    };
    Some((item, delivery.seq))
}

impl Deliverer {
    /// Delivers email `seq` of invitation `item` if it is still owed and nobody else is sending it, within
    /// [`DELIVERY_BUDGET`].
    pub async fn deliver(&self, item: MailItem, seq: u64) -> Result<Delivered, DeliverError> {
        tokio::time::timeout(DELIVERY_BUDGET, self.deliver_unbounded(item, seq))
            .await
            .unwrap_or(Err(DeliverError::Overran))
    }

    async fn deliver_unbounded(&self, item: MailItem, seq: u64) -> Result<Delivered, DeliverError> {
        let id = item.id();
        let now = self.clock.now();
        let Some(claimed) = self.store.claim_delivery(item, seq, now).await? else {
            return match self.current_delivery(item, seq).await? {
                Some(delivery) if delivery.held_by_a_live_sender(seq, now) => Err(DeliverError::Busy),
                _ => Ok(Delivered::Skipped),
            };
        };
        let Some(delivery) = claimed.delivery(seq).cloned() else { return Ok(Delivered::Skipped) };
        let outcome = match self.message(&claimed, &delivery).await {
            Err(reason) => DeliveryOutcome::Failed { reason },
            Ok(message) => match self.mailer.send(&message).await {
                Ok(message_id) => DeliveryOutcome::Sent { message_id },
                Err(e) => DeliveryOutcome::Failed { reason: e.0.chars().take(MAX_REASON).collect() },
            },
        };
        self.record(item, seq, &outcome).await?;
        match outcome {
            DeliveryOutcome::Sent { message_id } => {
                tracing::info!(invitation = %id, seq, message_id, "email sent");
                Ok(Delivered::Sent(message_id))
            }
            DeliveryOutcome::Failed { reason } => {
                tracing::warn!(invitation = %id, seq, reason = crate::http::redact(&reason), "email not sent");
                Err(DeliverError::Failed(reason))
            }
        }
    }

    /// Delivery `seq` as `item` holds it now (after a claim that did not succeed: to tell "done" from "being done").
    async fn current_delivery(&self, item: MailItem, seq: u64) -> Result<Option<Delivery>, DeliverError> {
        let claimed = match item {
            MailItem::Community(id) => self.store.get_invitation(id).await?.map(Claimed::Community),
            MailItem::Platform(id) => self.store.get_user_invitation(id).await?.map(Claimed::Platform),
        };
        Ok(claimed.and_then(|c| c.delivery(seq).cloned()))
    }

    /// Writes the outcome back. A write that fails is tried again a few times: until it lands, the delivery stays
    /// claimed, and a claimed delivery is retaken only once its claim is stale.
    async fn record(&self, item: MailItem, seq: u64, outcome: &DeliveryOutcome) -> Result<(), DeliverError> {
        let id = item.id();
        let mut tries = 0;
        loop {
            tries += 1;
            match self.store.finish_delivery(item, seq, outcome, self.clock.now()).await {
                Ok(()) => return Ok(()),
                // A newer delivery replaced this one while it was being sent; what was sent was still owed then.
                Err(StoreError::Conflict) => {
                    tracing::warn!(invitation = %id, seq, "the delivery changed while it was sent");
                    return Ok(());
                }
                Err(e) if tries >= RECORD_TRIES => return Err(e.into()),
                Err(e) => {
                    let error = crate::http::redact(&e.to_string());
                    tracing::warn!(invitation = %id, seq, error, "recording the outcome failed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
                }
            }
        }
    }

    /// The message for `delivery`, or why it cannot be made (the sealed secret does not open).
    async fn message(&self, claimed: &Claimed, delivery: &Delivery) -> Result<super::Message, String> {
        let link = match (&delivery.link, &delivery.sealed_secret) {
            (Some(link), Some(sealed)) => {
                let secret = self.sealer.unseal(claimed.item().id(), sealed).await.map_err(|e| e.to_string())?;
                Some(format!("{link}?token={}", secret.expose()))
            }
            // An invitation email is its link: without one there is nothing worth sending.
            _ if delivery.kind == MailKind::Invitation => return Err("the invitation email has no link to send".into()),
            _ => None,
        };
        // The tenant's branding and default language as they are now, not as they were when the email was owed.
        let settings = self.store.get_user_settings(claimed.tenant()).await.map_err(|e| e.to_string())?;
        let look = Look::of(claimed.locale(), settings.as_ref().map(|(s, _)| s));
        let to = delivery.to.iter().map(ToString::to_string).collect();
        let mut message = templates::render(claimed, delivery.kind, to, link, &look);
        message.key = Some(format!("{}-{}", claimed.item().id(), delivery.seq));
        message.tags = super::fate::tags(claimed.item(), delivery.seq);
        Ok(message)
    }

    /// One batch of DynamoDB stream records (the Lambda event's `Records`), delivered in order. The answer names
    /// the records that failed (by sequence number), for Lambda to retry; records it skips are not failures.
    pub async fn handle_records(&self, records: &[serde_json::Value]) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in crate::lambda::parsed_records(records) {
            let Some((item, seq)) = pending_delivery(&record) else { continue };
            if let Err(error) = self.deliver(item, seq).await {
                let error = crate::http::redact(&error.to_string());
                tracing::warn!(invitation = %item.id(), seq, error, "delivery failed; the record will be retried");
                response.batch_item_failures.push(crate::lambda::retry(&record));
            }
        }
        response
    }
}
