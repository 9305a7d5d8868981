//! What the local server's mailer needs of an embedded store beside [`Store`]: in AWS the DynamoDB stream tells
//! the mail Lambda of every invitation written with a pending delivery; on a laptop the store itself does, and
//! sweeps for what a previous run left owed. Both embedded stores implement it, so `rsvp-local`'s mailer is written
//! once, against this trait, whichever store it runs over.

use async_trait::async_trait;

use super::memory::MemoryStore;
use super::{Store, StoreResult};
use crate::domain::{MailItem, Timestamp};

/// Told of each invitation written with a pending delivery, and that delivery's sequence number.
pub type Listener = Box<dyn Fn(MailItem, u64) + Send + Sync>;

#[async_trait]
pub trait DeliveryFeed: Store {
    /// Calls `listener` with every invitation written with a pending delivery, once the write is kept (the
    /// stream filter's rule). A later call replaces the listener.
    fn on_pending_delivery(&self, listener: Listener);

    /// Calls the listener with every invitation whose delivery is still owed at `now`
    /// ([`crate::domain::Delivery::owed`]), and answers how many were announced. The listener's claim decides, so
    /// announcing a delivery that is done meanwhile sends nothing.
    async fn announce_owed(&self, now: Timestamp) -> StoreResult<usize>;

    /// Records every delivery still `sending` as failed ([`crate::domain::Claimed::fail_interrupted`]), for a
    /// store just opened by the only process that sends from it, and answers how many there were.
    async fn fail_interrupted_sends(&self, now: Timestamp) -> StoreResult<usize>;
}

#[async_trait]
impl DeliveryFeed for MemoryStore {
    fn on_pending_delivery(&self, listener: Listener) {
        MemoryStore::on_pending_delivery(self, listener);
    }

    async fn announce_owed(&self, now: Timestamp) -> StoreResult<usize> {
        Ok(MemoryStore::announce_owed(self, now))
    }

    async fn fail_interrupted_sends(&self, now: Timestamp) -> StoreResult<usize> {
        MemoryStore::fail_interrupted_sends(self, now)
    }
}
