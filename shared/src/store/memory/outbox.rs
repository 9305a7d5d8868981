//! The mail owed for invitations: the [`OutboxStore`] port, and the listener that stands in for the DynamoDB
//! stream (announcing each pending delivery, and what is owed at start and every minute).

use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::domain::fate::Fate;
use crate::domain::{
    Claimed, CommunityInvitation, Delivery, DeliveryOutcome, DeliveryState, MailItem, Timestamp, UserInvitation,
};
use crate::store::{OutboxStore, StoreError, StoreResult};

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.write(|s| {
            let Some(mut claimed) = s.mail_item(item) else { return Ok(None) };
            if !claimed.claim(seq, now) {
                return Ok(None);
            }
            s.put_mail_item(&claimed);
            Ok(Some(claimed))
        })
    }

    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            let mut claimed = s.mail_item(item).ok_or(StoreError::Conflict)?;
            if !claimed.finish(seq, outcome, now) {
                return Err(StoreError::Conflict);
            }
            s.put_mail_item(&claimed);
            Ok(())
        })
    }

    async fn learn_fate(
        &self,
        item: MailItem,
        seq: u64,
        message_id: &str,
        fate: &Fate,
    ) -> StoreResult<Option<Claimed>> {
        self.rewrite(item, |claimed| claimed.learn(seq, message_id, fate.clone()))
    }

    async fn expiries_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<MailItem>> {
        self.read(|s| crate::domain::expiry_order(s.mail_items(), now, limit))
    }

    async fn record_expiry(&self, item: MailItem, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.rewrite(item, |claimed| claimed.expire(now))
    }

    async fn owed_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(MailItem, u64)>> {
        self.read(|s| crate::domain::sweep_order(s.mail_items(), now, limit))
    }
}

impl MemoryStore {
    /// Reads `item`, lets `change` decide, and writes it back if it changed: the invitation as written, or `None`.
    fn rewrite(&self, item: MailItem, change: impl FnOnce(&mut Claimed) -> bool) -> StoreResult<Option<Claimed>> {
        self.write(|s| {
            let Some(mut claimed) = s.mail_item(item) else { return Ok(None) };
            if !change(&mut claimed) {
                return Ok(None);
            }
            s.put_mail_item(&claimed);
            Ok(Some(claimed))
        })
    }

    /// Calls `listener` with every invitation written with a pending delivery, after the write is kept: the local
    /// server's stand-in for the DynamoDB stream and its filter.
    pub fn on_pending_delivery(&self, listener: impl Fn(MailItem, u64) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(Box::new(listener));
        }
    }

    /// Calls the listener with every delivery still owed at `now` ([`Delivery::owed`]), latest or earlier: pending
    /// (what a previous run wrote but did not get to send), failed with tries left, or claimed by a sender that
    /// died mid-send. The local server sweeps at start and every minute; the listener's claim decides, so an
    /// announcement of a delivery that is done meanwhile sends nothing. Answers how many were announced.
    pub fn announce_owed(&self, now: Timestamp) -> usize {
        let owed: Vec<(MailItem, u64)> = match self.state.lock() {
            Ok(state) => state
                .mail_items()
                .flat_map(|c| {
                    let item = c.item();
                    c.deliveries().filter(|d| d.owed(now)).map(|d| (item, d.seq)).collect::<Vec<_>>()
                })
                .collect(),
            Err(_) => return 0,
        };
        for (item, seq) in &owed {
            self.tell(*item, *seq);
        }
        owed.len()
    }

    /// Records every delivery still `sending` as failed, for a store just opened by the only process that uses it:
    /// whoever claimed those was a previous run of it, killed mid-send (`kill -9`), so the claims are dead now
    /// rather than in [`crate::domain::CLAIM_STALE_MINUTES`], and the start's sweep retries them at once. The
    /// outbox mailer keeps a retry from writing a message twice. Answers how many there were.
    pub fn fail_interrupted_sends(&self, now: Timestamp) -> StoreResult<usize> {
        self.write(|s| {
            let mut count = 0;
            let all: Vec<Claimed> = s.mail_items().collect();
            for mut claimed in all {
                let failed = claimed.fail_interrupted(now);
                if failed > 0 {
                    count += failed;
                    s.put_mail_item(&claimed);
                }
            }
            Ok(count)
        })
    }

    pub(super) fn announce(&self, invitation: &CommunityInvitation) {
        if let Some((item, seq)) = pending(MailItem::Community(invitation.id), &invitation.delivery) {
            self.tell(item, seq);
        }
    }

    pub(super) fn announce_user(&self, invitation: &UserInvitation) {
        if let Some((item, seq)) = pending(MailItem::Platform(invitation.id), &invitation.delivery) {
            self.tell(item, seq);
        }
    }

    fn tell(&self, item: MailItem, seq: u64) {
        if let Ok(slot) = self.listener.lock()
            && let Some(listener) = slot.as_ref()
        {
            listener(item, seq);
        }
    }
}

/// The delivery to announce for `item`, if it is pending (the stream filter's rule).
fn pending(item: MailItem, delivery: &Option<Delivery>) -> Option<(MailItem, u64)> {
    delivery.as_ref().filter(|d| d.state == DeliveryState::Pending).map(|d| (item, d.seq))
}

impl State {
    /// The invitation an email belongs to, as the outbox sees it.
    fn mail_item(&self, item: MailItem) -> Option<Claimed> {
        match item {
            MailItem::Community(id) => self.invitations.get(&id).cloned().map(Claimed::Community),
            MailItem::Platform(id) => self.user_invitations.get(&id).cloned().map(Claimed::Platform),
        }
    }

    fn put_mail_item(&mut self, claimed: &Claimed) {
        match claimed {
            Claimed::Community(i) => {
                self.invitations.insert(i.id, i.clone());
            }
            Claimed::Platform(i) => {
                self.user_invitations.insert(i.id, i.clone());
            }
        }
    }

    /// Every invitation of either kind, as the outbox sees it.
    fn mail_items(&self) -> impl Iterator<Item = Claimed> + '_ {
        let community = self.invitations.values().cloned().map(Claimed::Community);
        community.chain(self.user_invitations.values().cloned().map(Claimed::Platform))
    }
}
