//! The email's real fate: SES's event records (Delivery, Bounce, Complaint, Reject, DeliveryDelay), as the stack's
//! configuration set publishes them to EventBridge, recorded on the delivery they are about ([`crate::domain::fate`]).
//!
//! Every message rsvp sends carries three SES message tags ([`tags`]): which kind of invitation, which invitation,
//! which of its deliveries. A record names them back (`mail.tags`) with the message id, so [`notice_of`] finds the
//! delivery without a lookup table, and the store records the fate only if that delivery was sent as that message.
//!
//! A permanent bounce or a complaint also suppresses the addresses it names (among those the message went to) for
//! the invitation's tenant ([`Suppression`]): the tenant's next email to one is refused until an administrator lifts
//! it.
//!
//! A record that is not SES's, not about an rsvp message, or malformed is skipped ([`Recorded::Skipped`]), never an
//! error: retrying it could never succeed. Only an unreachable store is an error, for EventBridge to retry.

use std::sync::Arc;

use serde_json::Value;

use crate::domain::fate::{Fate, MAX_DIAGNOSTIC, Suppression};
use crate::domain::{Claimed, InvitationId, MailItem, Timestamp};
use crate::store::{Store, StoreError};

/// The SES message tag that says which kind of invitation a message belongs to (`community`, `platform`).
pub const TAG_ITEM: &str = "rsvp-item";
/// The SES message tag that names the invitation.
pub const TAG_INVITATION: &str = "rsvp-invitation";
/// The SES message tag that names the delivery (its sequence number).
pub const TAG_SEQ: &str = "rsvp-seq";

/// The message tags of delivery `seq` of `item` (SES allows letters, digits, `_`, `-`, `.` and `@`: ids and numbers
/// are those).
pub fn tags(item: MailItem, seq: u64) -> Vec<(&'static str, String)> {
    let kind = match item {
        MailItem::Community(_) => "community",
        MailItem::Platform(_) => "platform",
    };
    vec![(TAG_ITEM, kind.to_owned()), (TAG_INVITATION, item.id().to_string()), (TAG_SEQ, seq.to_string())]
}

/// What one SES record says of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub item: MailItem,
    pub seq: u64,
    pub message_id: String,
    pub fate: Fate,
    /// The recipients the record is about (a bounce's or a complaint's), lower-cased; empty when it names none.
    pub named: Vec<String>,
}

/// The notice in an SES event record: the EventBridge event (its `detail`) or the bare record. `None` for a record
/// that is not about a message rsvp sent, or says nothing rsvp records (Send, Open, Click, ...).
pub fn notice_of(event: &Value) -> Option<Notice> {
    let record = if event.get("source").and_then(Value::as_str) == Some("aws.ses") { &event["detail"] } else { event };
    let mail = &record["mail"];
    let tag = |name: &str| mail["tags"][name][0].as_str();
    let id = InvitationId::parse(TAG_INVITATION, tag(TAG_INVITATION)?).ok()?;
    let item = match tag(TAG_ITEM)? {
        "community" => MailItem::Community(id),
        "platform" => MailItem::Platform(id),
        _ => return None,
    };
    let seq = tag(TAG_SEQ)?.parse().ok()?;
    let message_id = mail["messageId"].as_str().filter(|m| !m.is_empty() && m.len() <= 200)?.to_owned();
    let at = |part: &Value| time_of(&part["timestamp"]).or_else(|| time_of(&mail["timestamp"]));
    let text = |value: &Value| value.as_str().map(|s| s.chars().take(MAX_DIAGNOSTIC).collect::<String>());
    let fate = match record["eventType"].as_str()? {
        "Delivery" => Fate::Delivered { at: at(&record["delivery"])? },
        "Bounce" => {
            let bounce = &record["bounce"];
            let bounce_type = text(&bounce["bounceType"])?;
            Fate::Bounced {
                at: at(bounce)?,
                permanent: bounce_type == "Permanent",
                diagnostic: text(&bounce["bouncedRecipients"][0]["diagnosticCode"]),
                bounce_type,
            }
        }
        "Complaint" => {
            let complaint = &record["complaint"];
            Fate::Complained { at: at(complaint)?, feedback: text(&complaint["complaintFeedbackType"]) }
        }
        // SES refused the message after taking it (a virus): as final as a hard bounce.
        "Reject" => Fate::Bounced {
            at: at(&Value::Null)?,
            permanent: true,
            bounce_type: "Rejected".into(),
            diagnostic: text(&record["reject"]["reason"]),
        },
        "DeliveryDelay" => {
            let delay = &record["deliveryDelay"];
            Fate::Delayed { at: at(delay)?, reason: text(&delay["delayType"]).unwrap_or_default() }
        }
        _ => return None,
    };
    let named = match record["eventType"].as_str() {
        Some("Bounce") => &record["bounce"]["bouncedRecipients"],
        Some("Complaint") => &record["complaint"]["complainedRecipients"],
        _ => &Value::Null,
    };
    let named = named
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["emailAddress"].as_str()).map(str::to_ascii_lowercase).take(50).collect())
        .unwrap_or_default();
    Some(Notice { item, seq, message_id, fate, named })
}

fn time_of(value: &Value) -> Option<Timestamp> {
    let parsed = time::OffsetDateTime::parse(value.as_str()?, &time::format_description::well_known::Rfc3339).ok()?;
    Some(Timestamp::from_millis(i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()?))
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The fate was recorded on the delivery.
    Learned(Notice),
    /// Nothing to record: not an rsvp message, not a fate rsvp keeps, not that delivery's message, or no news.
    Skipped,
}

/// Records the fates SES reports (the `record-mail-fate` function).
pub struct FateRecorder {
    pub store: Arc<dyn Store>,
}

impl FateRecorder {
    /// Records the fate `event` reports, if it is news for a delivery rsvp sent.
    pub async fn record(&self, event: &Value) -> Result<Recorded, StoreError> {
        let Some(notice) = notice_of(event) else {
            tracing::info!("skipped an SES record that is not about an rsvp delivery");
            return Ok(Recorded::Skipped);
        };
        let learned = self.store.learn_fate(notice.item, notice.seq, &notice.message_id, &notice.fate).await?;
        let fate = notice.fate.as_str();
        tracing::info!(invitation = %notice.item.id(), seq = notice.seq, fate, learned = learned.is_some(), "SES record");
        let Some(invitation) = learned else { return Ok(Recorded::Skipped) };
        // A hard bounce or a complaint stops the tenant's mail to the addresses it names, among those it was sent to.
        let to = invitation.delivery(notice.seq).map(|d| d.to.clone()).unwrap_or_default();
        let tenant = match &invitation {
            Claimed::Community(i) => &i.issuing_tenant,
            Claimed::Platform(i) => &i.tenant,
        };
        for address in to.iter().filter(|a| notice.named.is_empty() || notice.named.iter().any(|n| *n == a.key())) {
            if let Some(suppression) = Suppression::of(&notice.fate, tenant, address, notice.item.id()) {
                self.store.suppress(&suppression).await?;
            }
        }
        Ok(Recorded::Learned(notice))
    }
}
