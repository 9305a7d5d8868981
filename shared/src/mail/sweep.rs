//! The outbox sweep: sends the mail that the stream's consumer left, once.
//!
//! The stream hands every pending delivery to [`super::deliver`], but a delivery can still be left owed: its sender
//! died mid-send (a Lambda timeout, a crash) and left its claim `sending`; its record failed every retry while a
//! claim looked live, or while the table or SES was down, and went to the dead-letter queue; or it failed with tries
//! left and nothing retries it any more. [`Sweeper::sweep`] asks the store for what is due
//! ([`crate::store::OutboxStore::owed_deliveries`]: in DynamoDB a sparse index of invitations that owe mail, never a
//! Scan) and delivers each with the same [`Deliverer`] as the stream: the claim keeps each email to one send.
//!
//! Why it sends itself rather than re-announcing the delivery for the stream's consumer: re-announcing would mean a
//! write that turns the delivery back to `pending` so that the stream filter matches it again, which needs a
//! second claim-like rule (which dead claim may be reset, by whom) and, for an earlier delivery kept beside the
//! latest, a filter the stream cannot express. Sending through the same `Deliverer` reuses the one claim rule that
//! already keeps racing senders to one send, at the price of the sweeper's role also holding `kms:Decrypt` and
//! `ses:SendEmail`.
//!
//! A delivery is the sweep's only [`crate::domain::CLAIM_STALE_MINUTES`] after it was owed or last claimed
//! ([`crate::domain::Delivery::sweep_due`]), so the sweep does not race the stream on fresh mail, and never takes a
//! claim a live sender may hold (no sender outlives [`super::deliver::DELIVERY_BUDGET`]).

use std::sync::Arc;

use super::deliver::{Delivered, Deliverer};
use crate::domain::Timestamp;
use crate::store::{OutboxStore, StoreError};

/// The most deliveries one sweep takes: at [`super::deliver::DELIVERY_BUDGET`] each it ends inside the function's
/// timeout (template.yaml states the arithmetic); what is left is due at the next sweep.
pub const SWEEP_LIMIT: usize = 10;

/// The most expiries one sweep records: each a read and a write.
pub const EXPIRY_LIMIT: usize = 100;

/// How long one sweep spends recording expiries at most, before it turns to the mail: the rest are due at the next
/// sweep (template.yaml counts it in the sweep's time).
pub const EXPIRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// What one sweep did, as the scheduled function answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Deliveries found due.
    pub due: usize,
    pub sent: usize,
    /// Found done by someone else meanwhile (the index lags behind the table by a moment).
    pub skipped: usize,
    /// Not sent this time (recorded on the item, or its claim left to go stale); retried by a later sweep.
    pub failed: usize,
    /// Invitations whose expiry was recorded (each raising its `expired` event).
    pub expired: usize,
}

/// Records the expiry of at most `limit` invitations whose expiry is due at `now` (their `expired` events), longest
/// due first; how many it recorded. Expiry is decided from the time whenever an invitation is read, so nothing
/// waits on this but the event: an invitation found answered meanwhile is left as it is.
pub async fn record_expiries(store: &dyn OutboxStore, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
    let mut recorded = 0;
    for item in store.expiries_due(now, limit).await? {
        match store.record_expiry(item, now).await {
            Ok(Some(_)) => recorded += 1,
            Ok(None) => {}
            // Lost to other writes every try, or the store stumbled: the next sweep finds it still due.
            Err(error) => {
                let error = crate::http::redact(&error.to_string());
                tracing::warn!(invitation = %item.id(), error, "the sweep did not record this expiry");
            }
        }
    }
    Ok(recorded)
}

pub struct Sweeper {
    pub deliverer: Arc<Deliverer>,
    /// At most this many deliveries per sweep.
    pub limit: usize,
}

impl Sweeper {
    pub fn new(deliverer: Arc<Deliverer>) -> Self {
        Self { deliverer, limit: SWEEP_LIMIT }
    }

    /// Delivers what is due now. Only a store that cannot be read fails the sweep (the schedule runs it again);
    /// a delivery that fails is counted and left for the next.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.deliverer.clock.now();
        // Expiries first: they share the index with the owed mail, and recording one moves it out of the way. Each
        // is its own write, so a budget spent keeps what was recorded.
        let store = self.deliverer.store.as_ref();
        let expired = match tokio::time::timeout(EXPIRY_BUDGET, record_expiries(store, now, EXPIRY_LIMIT)).await {
            Ok(recorded) => recorded?,
            Err(_) => {
                tracing::warn!("the sweep spent its budget for expiries; the rest are due at the next");
                0
            }
        };
        let mut due = self.deliverer.store.owed_deliveries(now, self.limit).await?;
        due.truncate(self.limit);
        let mut report = SweepReport { due: due.len(), expired, ..SweepReport::default() };
        for (item, seq) in due {
            match self.deliverer.deliver(item, seq).await {
                Ok(Delivered::Sent(_)) => report.sent += 1,
                Ok(Delivered::Skipped) => report.skipped += 1,
                Err(error) => {
                    report.failed += 1;
                    let error = crate::http::redact(&error.to_string());
                    tracing::warn!(invitation = %item.id(), seq, error, "the sweep did not deliver this email");
                }
            }
        }
        if report.due > 0 || report.expired > 0 {
            let (due, sent, failed, expired) = (report.due, report.sent, report.failed, report.expired);
            tracing::info!(due, sent, failed, expired, "swept the outbox");
        }
        Ok(report)
    }
}
