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
        let limit = i32::try_from(limit.clamp(1, 1_000)).unwrap_or(1_000);
        // Strictly before `now`: a sort key `<now>#<id>` sorts after `<now>#`.
        let before = order::by_time(now, "");
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI3")
            .key_condition_expression("GSI3PK = :pk AND GSI3SK < :before")
            .expression_attribute_values(":pk", s(OWED_PARTITION))
            .expression_attribute_values(":before", s(before))
            .limit(limit)
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
        let mut owed = Vec::new();
        for item in items {
            let sk = item.get("SK").and_then(|v| v.as_s().ok()).cloned();
            let claimed = match sk.as_deref() {
                Some("#INVITATION") => Claimed::Community(decode(item)?),
                Some("#USERINVITATION") => Claimed::Platform(decode(item)?),
                _ => continue,
            };
            // The index may lag behind the table by a moment; the claim decides in the end.
            owed.extend(claimed.due(now).into_iter().map(|seq| (claimed.item(), seq)));
        }
        Ok(owed)
    }
}

impl DynamoStore {
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
