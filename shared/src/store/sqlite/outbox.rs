//! The outbox of both invitation kinds: claiming a delivery and recording its outcome by the domain's rule, and the
//! deliveries owed, read along the `owed` indexes: the [`OutboxStore`] port, and what the local mailer's feed reads.

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::SqliteStore;
use super::rows::all;
use super::{communities, platform};
use crate::domain::fate::Fate;
use crate::domain::{Claimed, CommunityInvitation, DeliveryOutcome, MailItem, Timestamp, UserInvitation};
use crate::store::{OutboxStore, StoreError, StoreResult};

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn owed_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(MailItem, u64)>> {
        self.read(move |tx| Ok(crate::domain::sweep_order(owed_items(tx)?, now, limit))).await
    }

    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.write(move |tx| claim_delivery(tx, item, seq, now)).await
    }

    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        let outcome = outcome.clone();
        self.write(move |tx| finish_delivery(tx, item, seq, &outcome, now)).await
    }

    async fn learn_fate(
        &self,
        item: MailItem,
        seq: u64,
        message_id: &str,
        fate: &Fate,
    ) -> StoreResult<Option<Claimed>> {
        let (message_id, fate) = (message_id.to_owned(), fate.clone());
        self.write(move |tx| rewrite(tx, item, |claimed| claimed.learn(seq, &message_id, fate))).await
    }

    async fn expiries_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<MailItem>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |tx| {
            let community: Vec<CommunityInvitation> = all(tx, communities::EXPIRING, params![now.millis(), limit])?;
            let platform: Vec<UserInvitation> = all(tx, platform::EXPIRING, params![now.millis(), limit])?;
            let items =
                community.into_iter().map(Claimed::Community).chain(platform.into_iter().map(Claimed::Platform));
            Ok(crate::domain::expiry_order(items, now, usize::try_from(limit).unwrap_or(usize::MAX)))
        })
        .await
    }

    async fn record_expiry(&self, item: MailItem, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.write(move |tx| rewrite(tx, item, |claimed| claimed.expire(now))).await
    }
}

/// Reads `item`, lets `change` decide, and writes it back if it changed: the invitation as written, or `None`.
fn rewrite(
    tx: &Transaction<'_>,
    item: MailItem,
    change: impl FnOnce(&mut Claimed) -> bool,
) -> StoreResult<Option<Claimed>> {
    let Some(mut claimed) = mail_item(tx, item)? else { return Ok(None) };
    if !change(&mut claimed) {
        return Ok(None);
    }
    put_mail_item(tx, &claimed)?;
    Ok(Some(claimed))
}

/// The invitation an email belongs to, as the outbox's rules see it.
fn mail_item(tx: &Transaction<'_>, item: MailItem) -> StoreResult<Option<Claimed>> {
    Ok(match item {
        MailItem::Community(id) => communities::invitation(tx, id)?.map(Claimed::Community),
        MailItem::Platform(id) => platform::user_invitation(tx, id)?.map(Claimed::Platform),
    })
}

/// Writes the invitation back whole, with its key columns as every write computes them.
fn put_mail_item(tx: &Transaction<'_>, claimed: &Claimed) -> StoreResult<()> {
    match claimed {
        Claimed::Community(i) => communities::put_invitation(tx, i),
        Claimed::Platform(i) => platform::put_user_invitation(tx, i),
    }
}

/// Claims the delivery `seq` of `item` by the outbox's rule ([`Claimed::claim`]), and answers the invitation as
/// claimed.
pub(super) fn claim_delivery(
    tx: &Transaction<'_>,
    item: MailItem,
    seq: u64,
    now: Timestamp,
) -> StoreResult<Option<Claimed>> {
    let Some(mut claimed) = mail_item(tx, item)? else { return Ok(None) };
    if !claimed.claim(seq, now) {
        return Ok(None);
    }
    put_mail_item(tx, &claimed)?;
    Ok(Some(claimed))
}

/// Records how the claimed delivery `seq` ended; [`StoreError::Conflict`] unless it is that delivery, sending.
pub(super) fn finish_delivery(
    tx: &Transaction<'_>,
    item: MailItem,
    seq: u64,
    outcome: &DeliveryOutcome,
    now: Timestamp,
) -> StoreResult<()> {
    let mut claimed = mail_item(tx, item)?.ok_or(StoreError::Conflict)?;
    if !claimed.finish(seq, outcome, now) {
        return Err(StoreError::Conflict);
    }
    put_mail_item(tx, &claimed)
}

/// Every invitation of either kind with a delivery the sweep must look at, read along the `owed` indexes.
pub(super) fn owed_items(tx: &Transaction<'_>) -> StoreResult<Vec<Claimed>> {
    let platform: Vec<UserInvitation> = all(tx, platform::OWED, [])?;
    let community = communities::owed(tx)?.into_iter().map(Claimed::Community);
    Ok(community.chain(platform.into_iter().map(Claimed::Platform)).collect())
}

/// Every delivery owed at `now` of either kind ([`crate::domain::Delivery::owed`]).
pub(super) fn owed(tx: &Transaction<'_>, now: Timestamp) -> StoreResult<Vec<(MailItem, u64)>> {
    Ok(owed_items(tx)?
        .into_iter()
        .flat_map(|c| {
            let item = c.item();
            c.deliveries().filter(|d| d.owed(now)).map(|d| (item, d.seq)).collect::<Vec<_>>()
        })
        .collect())
}

/// Records every delivery still being sent as failed ([`Claimed::fail_interrupted`]); answers how many.
pub(super) fn fail_interrupted_sends(tx: &Transaction<'_>, now: Timestamp) -> StoreResult<usize> {
    let mut count = 0;
    for mut claimed in owed_items(tx)? {
        let failed = claimed.fail_interrupted(now);
        if failed > 0 {
            count += failed;
            put_mail_item(tx, &claimed)?;
        }
    }
    Ok(count)
}
