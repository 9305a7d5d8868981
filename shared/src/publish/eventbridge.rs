//! [`EventBridgeSink`]: events onto an Amazon EventBridge bus with `PutEvents`.
//!
//! Each event is one entry: `Source` [`SOURCE`], `DetailType` the event's type (`community.invitation.accepted`),
//! `Detail` the whole envelope as `docs/events/` documents it, `Time` the event's time. A rule on the bus matches
//! on those (`{"source": ["rsvp"], "detail-type": [...], "detail": {"tenant": [...]}}`) and sends them on: to a
//! queue, a function, or the webhook the template's `WebhookUrl` sets up, with EventBridge's own retries.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{EventSink, PublishError};
use crate::domain::event::Event;

/// The `source` of every event rsvp puts on the bus.
pub const SOURCE: &str = "rsvp";

/// The most entries one `PutEvents` call takes.
const MAX_ENTRIES: usize = 10;

pub struct EventBridgeSink {
    client: Client,
    bus: String,
}

impl EventBridgeSink {
    /// Puts events on `bus` (its name or ARN).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self { client, bus: bus.into() }
    }

    fn entry(&self, event: &Event) -> Result<PutEventsRequestEntry, PublishError> {
        let detail = serde_json::to_string(event).map_err(|e| PublishError::Sink(format!("unencodable event: {e}")))?;
        let time = time::OffsetDateTime::parse(&event.time, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64));
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(event.kind.as_str())
            .detail(detail)
            .set_time(time)
            .build())
    }
}

#[async_trait]
impl EventSink for EventBridgeSink {
    async fn publish(&self, events: &[Event]) -> Result<(), PublishError> {
        for chunk in events.chunks(MAX_ENTRIES) {
            let entries = chunk.iter().map(|e| self.entry(e)).collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError::Sink(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
            // PutEvents answers 200 even when some entries were refused; each refused one says why.
            if out.failed_entry_count() > 0 {
                let why = out
                    .entries()
                    .iter()
                    .filter_map(|e| e.error_code().map(|code| format!("{code}: {}", e.error_message().unwrap_or(""))))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(PublishError::Sink(format!("{} entries refused: {why}", out.failed_entry_count())));
            }
        }
        Ok(())
    }
}
