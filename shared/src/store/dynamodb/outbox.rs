//! The mail owed for invitations: the [`OutboxStore`] port, over the sparse, keys-only GSI3 of invitations that owe
//! mail.

use std::collections::HashMap;

use async_trait::async_trait;

use super::keys::{OWED_PARTITION, decode, invitation_item, n, s, user_invitation_item};
use super::{DynamoStore, Item, conditional, unavailable};
use crate::domain::fate::Fate;
use crate::domain::{Claimed, DeliveryOutcome, MailItem, Timestamp};
use crate::store::{CommunityStore, OutboxStore, StoreError, StoreResult, UserInvitationStore, order};

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.rewrite(item, |claimed| claimed.claim(seq, now)).await
    }

    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        // Gone, or no longer that delivery being sent: the outcome has nowhere to go.
        self.rewrite(item, |claimed| claimed.finish(seq, outcome, now)).await?.map(|_| ()).ok_or(StoreError::Conflict)
    }

    async fn learn_fate(
        &self,
        item: MailItem,
        seq: u64,
        message_id: &str,
        fate: &Fate,
    ) -> StoreResult<Option<Claimed>> {
        self.rewrite(item, |claimed| claimed.learn(seq, message_id, fate.clone())).await
    }

    async fn owed_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(MailItem, u64)>> {
        // One page: the sweep's time arithmetic (template.yaml) counts one Query for the mail.
        let due = self.due_items(now, limit, 1, |c| !c.due(now).is_empty()).await?;
        // The index may lag behind the table by a moment; the claim decides in the end.
        Ok(due.iter().flat_map(|c| c.due(now).into_iter().map(|seq| (c.item(), seq))).collect())
    }

    async fn expiries_due(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<MailItem>> {
        let due = self.due_items(now, limit, DUE_PAGES, |c| c.expiry_due().is_some_and(|at| at <= now)).await?;
        Ok(crate::domain::expiry_order(due, now, limit))
    }

    async fn record_expiry(&self, item: MailItem, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.rewrite(item, |claimed| claimed.expire(now)).await
    }
}

/// The most pages of the sweep index the read of due expiries walks past invitations that only owe mail.
const DUE_PAGES: usize = 10;

impl DynamoStore {
    /// The invitations GSI3 holds as due before `now` that `wanted` keeps (those with owed mail, or with an
    /// expiry to record: the index holds both), at most `limit`, oldest due first, read whole and strongly
    /// consistent. It reads on past what `wanted` drops, for at most `pages` pages of `limit` keys.
    async fn due_items(
        &self,
        now: Timestamp,
        limit: usize,
        pages: usize,
        wanted: impl Fn(&Claimed) -> bool,
    ) -> StoreResult<Vec<Claimed>> {
        let page = i32::try_from(limit.clamp(1, 1_000)).unwrap_or(1_000);
        // Strictly before `now`: a sort key `<now>#<id>` sorts after `<now>#`.
        let before = order::by_time(now, "");
        let mut due = Vec::new();
        let mut start = None;
        for _ in 0..pages {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI3")
                .key_condition_expression("GSI3PK = :pk AND GSI3SK < :before")
                .expression_attribute_values(":pk", s(OWED_PARTITION))
                .expression_attribute_values(":before", s(before.clone()))
                .set_exclusive_start_key(start)
                .limit(page)
                .send()
                .await
                .map_err(unavailable)?;
            // The index holds keys only: the items due are read by key, strongly consistent, and put back in the
            // index's order (oldest due first), which BatchGetItem does not keep.
            let keys: Vec<Item> = out
                .items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|mut k| {
                    Some(HashMap::from([("PK".to_owned(), k.remove("PK")?), ("SK".to_owned(), k.remove("SK")?)]))
                })
                .collect();
            let mut items = self.batch_get(keys.clone()).await?;
            items.sort_by_key(|item| {
                keys.iter().position(|k| k.get("PK") == item.get("PK") && k.get("SK") == item.get("SK"))
            });
            for item in items {
                let sk = item.get("SK").and_then(|v| v.as_s().ok()).cloned();
                let claimed = match sk.as_deref() {
                    Some("#INVITATION") => Claimed::Community(decode(item)?),
                    Some("#USERINVITATION") => Claimed::Platform(decode(item)?),
                    _ => continue,
                };
                if wanted(&claimed) && due.len() < limit {
                    due.push(claimed);
                }
            }
            start = out.last_evaluated_key;
            if due.len() >= limit || start.is_none() {
                break;
            }
        }
        Ok(due)
    }

    /// Reads the invitation `item` belongs to, lets `decide` change it by the domain's rule, and writes it back only
    /// if it still has the version read; a write that lost to another is read and decided again. The invitation as
    /// written, or `None` if it is gone or `decide` changed nothing.
    async fn rewrite(
        &self,
        item: MailItem,
        decide: impl Fn(&mut Claimed) -> bool + Send,
    ) -> StoreResult<Option<Claimed>> {
        for _ in 0..MAIL_WRITE_TRIES {
            let Some(mut claimed) = self.mail_item(item).await? else { return Ok(None) };
            let read = claimed.version();
            if !decide(&mut claimed) {
                return Ok(None);
            }
            match self.put_mail_item(&claimed, read).await {
                Ok(()) => return Ok(Some(claimed)),
                // Changed since the read (another claim, or an operation's write): read again and decide again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// The invitation an email belongs to, strongly consistent.
    async fn mail_item(&self, item: MailItem) -> StoreResult<Option<Claimed>> {
        Ok(match item {
            MailItem::Community(id) => self.get_invitation(id).await?.map(Claimed::Community),
            MailItem::Platform(id) => self.get_user_invitation(id).await?.map(Claimed::Platform),
        })
    }

    /// Writes the invitation back whole (its outbox index keys and `ttl` as every write computes them), only if it
    /// still has version `read`.
    async fn put_mail_item(&self, claimed: &Claimed, read: u64) -> StoreResult<()> {
        let item = match claimed {
            Claimed::Community(i) => invitation_item(i, self.retention)?,
            Claimed::Platform(i) => user_invitation_item(i, self.retention)?,
        };
        conditional(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("version = :version")
                .expression_attribute_values(":version", n(read as i64))
                .send()
                .await,
        )
    }
}

/// How often a claim or an outcome is written again after another write to the invitation got in between.
const MAIL_WRITE_TRIES: usize = 3;
