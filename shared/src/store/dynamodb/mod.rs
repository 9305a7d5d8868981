//! The DynamoDB adapter: one table, three global secondary indexes, no Scan anywhere.
//!
//! ## Items and access patterns
//!
//! | item | `PK` | `SK` | `GSI1PK` / `GSI1SK` | `GSI2PK` / `GSI2SK` | `GSI3PK` / `GSI3SK` |
//! |---|---|---|---|---|---|
//! | community | `COMMUNITY#<id>` | `#COMMUNITY` | | | |
//! | membership | `COMMUNITY#<id>` | `TENANT#<tenant>` | `TENANT#<tenant>#COMMUNITIES` / `<joined>#<community>` (Active only) | | |
//! | invitation | `INVITATION#<id>` | `#INVITATION` | `COMMUNITY#<id>#INVITATIONS` / `<issued>#<id>` (not when deleted) | `TENANT#<tenant>#ACCEPTED` / `<issued>#<id>` (Accepted only) | `OUTBOX#OWED` / `<sweep due>#<id>` (while it owes mail) |
//! | pending lock | `LOCK#<community>#<recipient>` | `#LOCK` | | | |
//! | user settings | `TENANT#<tenant>` | `#USERSETTINGS` | | | |
//! | day's email count (the tenant's budget) | `TENANT#<tenant>` | `INVITECOUNT#<yyyy-mm-dd>` | | | |
//! | day's email count to one address | `TENANT#<tenant>` | `RECIPIENTCOUNT#<yyyy-mm-dd>#<sha-256 of the address>` | | | |
//! | platform invitation | `USERINVITATION#<id>` | `#USERINVITATION` | `TENANT#<tenant>#USERINVITATIONS` / `<issued>#<id>` | `TENANT#<tenant>#USERINVITATIONS#BY#<user>` / `<issued>#<id>` | `OUTBOX#OWED` / `<sweep due>#<id>` (while it owes mail) |
//! | platform pending lock | `USERLOCK#<tenant>#<recipient>` | `#LOCK` | | | |
//! | idempotency key | `IDEMPOTENCY#<scope hash>` | `#IDEMPOTENCY` | | | |
//! | collaboration (this portal's) | `COLLABORATION#<id>` | `#COLLABORATION` | `PORTAL#COLLABORATIONS` / `<created>#<id>` | | |
//! | collaboration invitation | `COLLABORATION#<id>` | `INVITATION#<invitation>` | | | |
//! | participant | `COLLABORATION#<id>` | `PARTICIPANT#<portal>` | | | |
//!
//! - the communities of a page of memberships: `BatchGetItem` (names and descriptions can change after joining).
//! - get community, membership, invitation: `GetItem`; a membership with its community or with an invitation:
//!   one consistent `BatchGetItem` of the two.
//! - a community's tenants: `Query PK = COMMUNITY#<id> AND begins_with(SK, "TENANT#")`; with the community
//!   itself: `Query PK = COMMUNITY#<id> AND SK BETWEEN "#COMMUNITY" AND "TENANT$"` (`#COMMUNITY` sorts first).
//! - a tenant's communities: `Query GSI1` (sparse: memberships appear once Active).
//! - a community's invitations, newest first: `Query GSI1`, descending.
//! - a tenant's accepted invitations: `Query GSI2` (sparse: present only while Accepted).
//! - a tenant's platform invitations: `Query GSI1`; those one user sent: `Query GSI2`; a state is a filter.
//! - the invitations whose mail the sweep should re-drive, or whose expiry it should record (an `Expire` history
//!   line, raising the `expired` event; an invitation waiting for an answer is in GSI3 until then, keyed on the
//!   earlier of its mail's due instant and its expiry): `Query GSI3 PK = OUTBOX#OWED AND SK < <now>#`, oldest
//!   due first, then a consistent `BatchGetItem` of those items (GSI3 projects keys only, so moving an item in or
//!   out of the outbox costs the index one unit whatever the item's size). GSI3 is sparse: an invitation carries its keys only while one of its deliveries is owed
//!   ([`Claimed::sweep_due`]: pending, being sent, or failed with tries left), keyed on the instant the earliest
//!   becomes the sweep's, so the query reads only what is due and sent mail leaves the index. Every write of an
//!   invitation sets or removes them, claims and outcomes included. One partition: the index holds only unsent
//!   mail, a few writes per email, far below a partition's thousand writes a second.
//! - claiming a delivery and recording its outcome: `GetItem`, the domain's rule ([`Claimed::claim`],
//!   [`Claimed::finish`]), then `PutItem` conditional on the version read (tried again on a conflict), so both
//!   stores apply one rule, the delivery may be the latest or an earlier one, and the index keys follow.
//! - a collaboration's invitations or participants: `Query PK = COLLABORATION#<id> AND begins_with(SK, ...)`;
//!   this portal's collaborations: `Query GSI1`.
//! - a day's count (the tenant's emails, or its emails to one address): one conditional `UpdateItem ADD`, so
//!   racing requests can never pass the limit.
//! - every change: one conditional `PutItem`/`DeleteItem`, or a `TransactWriteItems` when several items change
//!   (an invite_users request: its invitations and their locks, at most 50 of each, in one transaction of 100).
//!
//! The community item counts its open invitations and its tenants (`open_invitations`, `members`): every write
//! that opens or closes an invitation, or adds or removes a tenant, moves them in its own transaction, so deleting a
//! community is one transaction conditional on them (its invitation list is an index, which may lag behind).
//!
//! The lock item enforces one pending invitation per (community, recipient): creating or resending takes it only if
//! it is free, stale (its invitation expired) or already held by the same invitation.
//!
//! Expiring items carry `ttl` (epoch seconds) so DynamoDB deletes them eventually; reads never rely on it. The
//! record of a finished invitation (withdrawn, declined, revoked, expired) stays for the [`Retention`] the store
//! is given (`RSVP_AUDIT_RETENTION_DAYS`, a year unless set) after it ended; accepted ones stay for ever.
//!
//! ## Layout
//!
//! This file holds the store and the request helpers every port shares (reads, pages, the
//! conditional puts and deletes, transactions and what their cancellation means, the lock and the guarded change of
//! an invitation). The rest, one module each (private, so not linked here): `keys` (the keys of the table above,
//! the encoding of items and the builders every write of an item goes through), `retention` ([`Retention`]), `table`
//! ([`DynamoStore::create_table`]), and the ports, one module per aggregate: `communities` ([`CommunityStore`]), `platform`
//! ([`UserInvitationStore`] and [`IdempotencyStore`]), `outbox` ([`OutboxStore`]) and `portal` ([`PortalStore`]).
//!
//! [`CommunityStore`]: super::CommunityStore
//! [`UserInvitationStore`]: super::UserInvitationStore
//! [`IdempotencyStore`]: super::IdempotencyStore
//! [`OutboxStore`]: super::OutboxStore
//! [`PortalStore`]: super::PortalStore
//! [`Claimed::sweep_due`]: crate::domain::Claimed::sweep_due
//! [`Claimed::claim`]: crate::domain::Claimed::claim
//! [`Claimed::finish`]: crate::domain::Claimed::finish

mod communities;
mod keys;
mod outbox;
mod platform;
mod portal;
mod published;
mod retention;
mod suppressions;
mod table;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::de::DeserializeOwned;

use super::{Cursor, MAX_BATCH_READ, Page, PageRequest, StoreError, StoreResult};
use crate::domain::{CommunityId, CommunityInvitation, CountChange, InvitationId, LockEffect, Timestamp};
use keys::{community_pk, decode, lock_pk, n, s};

pub use retention::Retention;

type Item = HashMap<String, AttributeValue>;

/// How long after its invitation expired a pending lock item may go: locks are no record of anything, and a stale
/// one is taken over anyway.
const LOCK_RETENTION_DAYS: i64 = 30;

pub struct DynamoStore {
    client: Client,
    table: String,
    retention: Retention,
}

impl DynamoStore {
    /// A store over `table`, keeping finished records for [`Retention::DEFAULT`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), retention: Retention::DEFAULT }
    }

    /// Keeps the records of finished invitations for `retention` instead.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}

impl DynamoStore {
    async fn get<T: DeserializeOwned>(&self, pk: String, sk: &str) -> StoreResult<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(decode).transpose()
    }

    /// Two items in one consistent `BatchGetItem`: one round trip instead of two, at 1 read unit per item (4 KB)
    /// where `TransactGetItems` costs 2. Nothing needs the two to be one snapshot: every write that follows is
    /// conditional on what it changes.
    async fn get_two<A: DeserializeOwned, B: DeserializeOwned>(
        &self,
        a: (String, &str),
        b: (String, &str),
    ) -> StoreResult<(Option<A>, Option<B>)> {
        let key = |(pk, sk): &(String, &str)| Item::from([("PK".to_owned(), s(pk.clone())), ("SK".to_owned(), s(*sk))]);
        let mut items = self.batch_get(vec![key(&a), key(&b)]).await?;
        // BatchGetItem answers in no particular order: each item is found by its key.
        let mut take = |(pk, sk): &(String, &str)| {
            let at = items.iter().position(|item| {
                item.get("PK").and_then(|v| v.as_s().ok()) == Some(pk)
                    && item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(*sk)
            });
            at.map(|i| items.swap_remove(i))
        };
        let (first, second) = (take(&a), take(&b));
        Ok((first.map(decode).transpose()?, second.map(decode).transpose()?))
    }

    /// The items of `keys` (at most [`MAX_BATCH_READ`]), strongly consistent, in no particular order; missing ones
    /// are left out. `BatchGetItem` takes 100 keys a request, and keys it could not read this time come back to be
    /// asked again, after a growing pause.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys[..keys.len().min(MAX_BATCH_READ)].chunks(100) {
            let mut keys = chunk.to_vec();
            let mut attempts = 0u32;
            while !keys.is_empty() {
                if attempts == 4 {
                    return Err(StoreError::Unavailable("BatchGetItem left keys unread after 4 attempts".into()));
                }
                if attempts > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(10 << attempts)).await;
                }
                attempts += 1;
                let wanted = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build()
                    .map_err(unbuilt)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, wanted)
                    .send()
                    .await
                    .map_err(unavailable)?;
                found.extend(out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default());
                keys = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
            }
        }
        Ok(found)
    }

    /// Reads one page of a query: enough items to pass over `skip`, fill `count` and see whether one more exists.
    /// DynamoDB pages at 1 MB, so this loops until it has them or the partition ends.
    async fn page<T: DeserializeOwned>(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        req: &PageRequest,
        start: Option<Item>,
        sort_of: fn(&T) -> String,
    ) -> StoreResult<Page<T>> {
        let wanted = req.skip as usize + req.count as usize + 1;
        let mut items: Vec<T> = Vec::new();
        let mut start = start;
        // Only the first query starts from the caller's cursor, so only its ValidationException can be the cursor's
        // fault; any other is a bug of ours and must surface as one, not as a 400 blaming the caller.
        let mut from_cursor = start.is_some();
        loop {
            let limit = i32::try_from((wanted - items.len()).min(1_000)).unwrap_or(1_000);
            let out =
                query.clone().set_exclusive_start_key(start.take()).limit(limit).send().await.map_err(|e| {
                    match e.as_service_error() {
                        Some(service) if from_cursor && service.meta().code() == Some("ValidationException") => {
                            StoreError::InvalidCursor
                        }
                        _ => unavailable(e),
                    }
                })?;
            from_cursor = false;
            for item in out.items.unwrap_or_default() {
                items.push(decode(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if items.len() < wanted => start = Some(key),
                _ => break,
            }
        }
        let more = items.len() == wanted;
        let taken: Vec<T> = items.into_iter().skip(req.skip as usize).take(req.count as usize).collect();
        let next = if more { taken.last().map(|t| Cursor { sort: sort_of(t) }) } else { None };
        Ok(Page { items: taken, next })
    }

    fn index_query(
        &self,
        index: &str,
        partition: String,
        descending: bool,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", format!("{index}PK"))
            .expression_attribute_values(":pk", s(partition))
            .scan_index_forward(!descending)
    }

    /// One `TransactWriteItems`. A transaction cancelled only because another one was writing the same item at
    /// the same moment (a community's counters are such an item) changed nothing and is sent again, a few times,
    /// after a short pause; one whose condition failed is not.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), SdkError<TransactWriteItemsError>> {
        let mut retries = 0u32;
        loop {
            match self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
                Err(e) if retries < 3 && only_contended(&e) => {
                    retries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(10 << retries)).await;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// The community's counters moved by `change`, as one item of a transaction: only while the community exists.
    fn count(&self, community: CommunityId, change: CountChange) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(community_pk(community)))
            .key("SK", s("#COMMUNITY"))
            .update_expression("ADD #open :open, #members :members")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#open", "open_invitations")
            .expression_attribute_names("#members", "members")
            .expression_attribute_values(":open", n(change.open_invitations))
            .expression_attribute_values(":members", n(change.members))
            .build()
            .map_err(unbuilt)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(condition) = condition {
            put = put.condition_expression(condition);
        }
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder().put(put.build().map_err(unbuilt)?).build())
    }

    /// A conditional delete. `names` maps `#placeholders` in `condition` to attribute names, which DynamoDB requires
    /// for reserved words such as `status`.
    fn delete(
        &self,
        pk: String,
        sk: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> StoreResult<TransactWriteItem> {
        let mut delete =
            Delete::builder().table_name(&self.table).key("PK", s(pk)).key("SK", s(sk)).condition_expression(condition);
        for (placeholder, name) in names {
            delete = delete.expression_attribute_names(*placeholder, *name);
        }
        for (name, value) in values {
            delete = delete.expression_attribute_values(*name, value.clone());
        }
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(unbuilt)?).build())
    }

    fn take_lock(&self, invitation: &CommunityInvitation, at: Timestamp) -> StoreResult<TransactWriteItem> {
        self.lock_put(lock_pk(invitation), invitation.id, invitation.expires, at)
    }

    /// Holds the lock `pk` for invitation `id` until `expires`: only if it is free, stale at `at`, or already
    /// this invitation's.
    fn lock_put(
        &self,
        pk: String,
        id: InvitationId,
        expires: Timestamp,
        at: Timestamp,
    ) -> StoreResult<TransactWriteItem> {
        let mut item = Item::new();
        item.insert("PK".into(), s(pk));
        item.insert("SK".into(), s("#LOCK"));
        item.insert("invitation".into(), s(id.to_string()));
        item.insert("expires".into(), n(expires.millis()));
        item.insert("ttl".into(), n(expires.plus_days(LOCK_RETENTION_DAYS).epoch_seconds()));
        self.put(
            item,
            Some("attribute_not_exists(PK) OR invitation = :id OR expires <= :at"),
            &[(":id", s(id.to_string())), (":at", n(at.millis()))],
        )
    }

    /// The writes of a decided change to an invitation of either kind, with the guard of each: the invitation's
    /// put, conditional on the version read (and on being unexpired when the change needs it), and its lock effect.
    fn guarded_change(&self, c: Change<'_>) -> StoreResult<(Vec<TransactWriteItem>, Vec<Guard>)> {
        let mut values = vec![(":version", n(c.expected_version as i64))];
        let condition = if c.require_live {
            values.push((":at", n(c.at.millis())));
            "version = :version AND expires > :at"
        } else {
            "version = :version"
        };
        let mut items = vec![self.put(c.item, Some(condition), &values)?];
        let mut guards = vec![Guard::Changed];
        match c.lock {
            LockEffect::None => {}
            LockEffect::Take => {
                items.push(self.lock_put(c.lock_pk, c.id, c.expires, c.at)?);
                guards.push(Guard::Lock);
            }
            LockEffect::Release => {
                items.push(self.delete(
                    c.lock_pk,
                    "#LOCK",
                    "invitation = :id",
                    &[],
                    &[(":id", s(c.id.to_string()))],
                )?);
                guards.push(Guard::Changed);
            }
        }
        Ok((items, guards))
    }
}

/// A decided change to an invitation item, as [`DynamoStore::guarded_change`] writes it.
struct Change<'a> {
    item: Item,
    expected_version: u64,
    at: Timestamp,
    require_live: bool,
    lock: &'a LockEffect,
    /// The invitation's (scope, recipient) lock.
    lock_pk: String,
    id: InvitationId,
    expires: Timestamp,
}

/// What a transaction item's failed condition means to the caller, one per item in the transaction's order.
#[derive(Clone, Copy)]
enum Guard {
    /// The item is not as the request read it (another request changed or removed it first, or a count would
    /// pass its bound): 409, read again.
    Changed,
    /// The (scope, recipient) lock is held: a pending invitation to that address exists, named in the answer.
    Lock,
    /// The participant is already in the collaboration.
    Join,
}

fn cancelled(error: SdkError<TransactWriteItemsError>, guards: &[Guard]) -> StoreError {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = error.as_service_error() else {
        return unavailable(error);
    };
    for (reason, guard) in cancel.cancellation_reasons().iter().zip(guards) {
        if reason.code() != Some("ConditionalCheckFailed") {
            continue;
        }
        return match guard {
            Guard::Lock => reason
                .item()
                .and_then(|old| old.get("invitation"))
                .and_then(|v| v.as_s().ok())
                .and_then(|id| InvitationId::parse("invitation", id).ok())
                .map_or(StoreError::Conflict, StoreError::PendingInvitation),
            Guard::Join => StoreError::AlreadyMember,
            Guard::Changed => StoreError::Conflict,
        };
    }
    // Cancelled for another reason (e.g. a concurrent transaction on the same item): the caller retries or reports.
    if cancel.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict")) {
        return StoreError::Conflict;
    }
    unavailable(error)
}

/// Whether a transaction was cancelled only by others writing the same items, with no condition failing.
fn only_contended(error: &SdkError<TransactWriteItemsError>) -> bool {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = error.as_service_error() else {
        return false;
    };
    let codes = || cancel.cancellation_reasons().iter().filter_map(|r| r.code());
    codes().any(|c| c == "TransactionConflict") && codes().all(|c| matches!(c, "TransactionConflict" | "None"))
}

/// One conditional write's outcome: its condition failing is a [`StoreError::Conflict`] (the item changed, or is
/// not there), anything else an outage.
fn conditional<T, E>(result: Result<T, SdkError<E>>) -> StoreResult<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException") =>
        {
            Err(StoreError::Conflict)
        }
        Err(e) => Err(unavailable(e)),
    }
}

/// A request that did not build (a required field left out): a bug of ours, never an outage.
fn unbuilt(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Corrupt(format!("a DynamoDB request did not build: {e}"))
}

/// A failed call: the deployment's fault when the table, an index or a permission is missing
/// ([`crate::fault::failure`]), else an outage a retry may mend.
fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match crate::fault::failure("DynamoDB", &e) {
        crate::fault::Failure::Misconfigured(detail) => StoreError::Misconfigured(detail),
        crate::fault::Failure::Outage(detail) => StoreError::Unavailable(detail),
    }
}
