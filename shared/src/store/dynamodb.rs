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
//!   one `TransactGetItems` of the two.
//! - a community's tenants: `Query PK = COMMUNITY#<id> AND begins_with(SK, "TENANT#")`; with the community
//!   itself: `Query PK = COMMUNITY#<id> AND SK BETWEEN "#COMMUNITY" AND "TENANT$"` (`#COMMUNITY` sorts first).
//! - a tenant's communities: `Query GSI1` (sparse: memberships appear once Active).
//! - a community's invitations, newest first: `Query GSI1`, descending.
//! - a tenant's accepted invitations: `Query GSI2` (sparse: present only while Accepted).
//! - a tenant's platform invitations: `Query GSI1`; those one user sent: `Query GSI2`; a state is a filter.
//! - the invitations whose mail the sweep should re-drive: `Query GSI3 PK = OUTBOX#OWED AND SK < <now>#`, oldest
//!   due first. GSI3 is sparse: an invitation carries its keys only while one of its deliveries is owed
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

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, Get, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification, TransactGetItem, TransactWriteItem, Update,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CommunityStore, IdempotencyStore, OutboxStore, PortalStore, UserInvitationStore};
use super::{Cursor, Page, PageRequest, StoreError, StoreResult, order};
use super::{MAX_BATCH_READ, MAX_PORTAL_LIST, UserInvitationFilter};
use crate::domain::IDEMPOTENCY_CLAIM_STALE_SECONDS;
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::domain::outbox::sweep_due;
use crate::domain::{
    Claimed, Community, CommunityId, CountChange, DailyCounter, DeliveryOutcome, IdempotencyRecord, Invitation,
    InvitationId, LockEffect, MailItem, MemberStatus, Membership, MembershipEffect, StoredState, TenantId, Timestamp,
    Transition, UserInvitation, UserInvitationState, UserReadState, UserSettings, UserTransition,
};

type Item = HashMap<String, AttributeValue>;

/// How long after its invitation expired a pending lock item may go: locks are no record of anything, and a stale
/// one is taken over anyway.
const LOCK_RETENTION_DAYS: i64 = 30;

/// How long DynamoDB keeps the record of an invitation that can no longer be used — withdrawn, declined, revoked,
/// expired unanswered, or a collaboration invitation past its expiry — counted from when it ended; then its `ttl`
/// lets DynamoDB delete it. Accepted and completed invitations are the record of a membership and stay for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Days(u32),
    Forever,
}

impl Retention {
    /// The default: a year, so that a withdrawn or declined invitation is still there for an audit of the year.
    pub const DEFAULT: Self = Self::Days(365);

    /// The setting that sets it.
    pub const SETTING: &'static str = "RSVP_AUDIT_RETENTION_DAYS";

    /// Reads [`Self::SETTING`] through `get` (the environment, in Lambda): unset or empty is the default.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        match get(Self::SETTING).filter(|v| !v.is_empty()) {
            Some(days) => Self::parse_days(&days).map_err(|e| format!("{}: {e}", Self::SETTING)),
            None => Ok(Self::DEFAULT),
        }
    }

    /// Reads a number of days as [`Self::SETTING`] gives it: 0 keeps records for ever.
    pub fn parse_days(value: &str) -> Result<Self, String> {
        match value.trim().parse::<u32>() {
            Ok(0) => Ok(Self::Forever),
            Ok(days) if days <= 36_500 => Ok(Self::Days(days)),
            _ => Err(format!("{value:?} is not a number of days from 0 (for ever) to 36500")),
        }
    }

    /// The `ttl` (epoch seconds) of a record that ended at `ended`, if it is ever to go.
    fn ttl(self, ended: Timestamp) -> Option<AttributeValue> {
        match self {
            Self::Days(days) => Some(n(ended.plus_days(i64::from(days)).epoch_seconds())),
            Self::Forever => None,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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

    /// Creates the table as `template.yaml` declares it (keys, indexes, stream, TTL). For tests and local setups.
    pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let gsi = |name: &str| -> Result<GlobalSecondaryIndex, _> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(&format!("{name}PK"), KeyType::Hash)?)
                .key_schema(key(&format!("{name}SK"), KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
        };
        let build = || -> Result<_, aws_sdk_dynamodb::error::BuildError> {
            Ok(client
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .key_schema(key("PK", KeyType::Hash)?)
                .key_schema(key("SK", KeyType::Range)?)
                .attribute_definitions(attr("PK")?)
                .attribute_definitions(attr("SK")?)
                .attribute_definitions(attr("GSI1PK")?)
                .attribute_definitions(attr("GSI1SK")?)
                .attribute_definitions(attr("GSI2PK")?)
                .attribute_definitions(attr("GSI2SK")?)
                .attribute_definitions(attr("GSI3PK")?)
                .attribute_definitions(attr("GSI3SK")?)
                .global_secondary_indexes(gsi("GSI1")?)
                .global_secondary_indexes(gsi("GSI2")?)
                .global_secondary_indexes(gsi("GSI3")?)
                .stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewAndOldImages)
                        .build()?,
                ))
        };
        build().map_err(unavailable)?.send().await.map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name("ttl").build().map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

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

    /// Two items in one `TransactGetItems`: one round trip instead of two, and a consistent snapshot of both.
    /// It needs no IAM action beyond `dynamodb:GetItem` on the items, and costs 2 read units per item (4 KB)
    /// where two strongly consistent `GetItem`s cost 1 each: requests and latency were judged the scarcer.
    /// A read that meets a write transaction in flight on either item is cancelled; it is retried a few times,
    /// after a short pause, before the store reports itself unavailable.
    async fn get_two<A: DeserializeOwned, B: DeserializeOwned>(
        &self,
        a: (String, &str),
        b: (String, &str),
    ) -> StoreResult<(Option<A>, Option<B>)> {
        let get = |(pk, sk): (String, &str)| -> StoreResult<TransactGetItem> {
            let get = Get::builder()
                .table_name(&self.table)
                .key("PK", s(pk))
                .key("SK", s(sk))
                .build()
                .map_err(unavailable)?;
            Ok(TransactGetItem::builder().get(get).build())
        };
        let items = vec![get(a)?, get(b)?];
        let mut retries = 0u32;
        let out = loop {
            match self.client.transact_get_items().set_transact_items(Some(items.clone())).send().await {
                Ok(out) => break out,
                Err(e)
                    if retries < 3
                        && matches!(
                            e.as_service_error(),
                            Some(TransactGetItemsError::TransactionCanceledException(_))
                        ) =>
                {
                    retries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 << retries)).await;
                }
                Err(e) => return Err(unavailable(e)),
            }
        };
        // One response per requested item, in order; a missing item has an empty one.
        let mut responses = out.responses.unwrap_or_default().into_iter().map(|r| r.item);
        let first = responses.next().flatten().map(decode).transpose()?;
        let second = responses.next().flatten().map(decode).transpose()?;
        Ok((first, second))
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
            .map_err(unavailable)?;
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
        Ok(TransactWriteItem::builder().put(put.build().map_err(unavailable)?).build())
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
        Ok(TransactWriteItem::builder().delete(delete.build().map_err(unavailable)?).build())
    }

    fn take_lock(&self, invitation: &Invitation, at: Timestamp) -> StoreResult<TransactWriteItem> {
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
        let mut guards = vec![Guard::Invitation];
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
                guards.push(Guard::Member);
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

impl DynamoStore {}

/// Which part of a transaction failed its condition, and what that means to the caller.
#[derive(Clone, Copy)]
enum Guard {
    Invitation,
    Lock,
    Join,
    Member,
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
            Guard::Invitation | Guard::Member => StoreError::Conflict,
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
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

fn unavailable(e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn decode<T: DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(format!("undecodable item: {e}")))
}

fn encode<T: Serialize>(value: &T, keys: &[(&str, String)]) -> StoreResult<Item> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(format!("unencodable item: {e}")))?;
    for (name, value) in keys {
        item.insert((*name).to_owned(), s(value.clone()));
    }
    Ok(item)
}

fn community_pk(id: CommunityId) -> String {
    format!("COMMUNITY#{id}")
}

fn member_sk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

fn invitation_pk(id: InvitationId) -> String {
    format!("INVITATION#{id}")
}

fn lock_pk(invitation: &Invitation) -> String {
    format!("LOCK#{}#{}", invitation.community_id, invitation.recipient.key())
}

fn user_invitation_pk(id: InvitationId) -> String {
    format!("USERINVITATION#{id}")
}

fn user_lock_pk(invitation: &UserInvitation) -> String {
    format!("USERLOCK#{}#{}", invitation.tenant, invitation.recipient.key())
}

fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

/// The sort key of a daily count under the tenant: its emails keep the key the day's invitation count always had,
/// so a deployment keeps the day's count across the upgrade; an address is only ever its hash.
fn count_sk(counter: &DailyCounter, day: &str) -> String {
    match counter {
        DailyCounter::Emails => format!("INVITECOUNT#{day}"),
        DailyCounter::Recipient(hash) => format!("RECIPIENTCOUNT#{day}#{}", hash.as_str()),
    }
}

fn tenant_user_invitations(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#USERINVITATIONS")
}

/// The user id comes last: the prefix before it is fixed, so no user id can make two partitions collide.
fn sender_user_invitations(tenant: &TenantId, user: &crate::domain::UserId) -> String {
    format!("TENANT#{tenant}#USERINVITATIONS#BY#{user}", user = user.as_str())
}

fn idempotency_pk(scope: &str) -> String {
    format!("IDEMPOTENCY#{scope}")
}

fn collaboration_pk(id: CollaborationId) -> String {
    format!("COLLABORATION#{id}")
}

fn participant_sk(portal: &PortalId) -> String {
    format!("PARTICIPANT#{portal}")
}

fn collaboration_item(c: &Collaboration) -> StoreResult<Item> {
    encode(
        c,
        &[
            ("PK", collaboration_pk(c.id)),
            ("SK", "#COLLABORATION".to_owned()),
            ("GSI1PK", "PORTAL#COLLABORATIONS".to_owned()),
            ("GSI1SK", order::by_time(c.created, &c.id.to_string())),
        ],
    )
}

fn collaboration_invitation_item(i: &CollaborationInvitation, retention: Retention) -> StoreResult<Item> {
    let mut item = encode(i, &[("PK", collaboration_pk(i.collaboration_id)), ("SK", format!("INVITATION#{}", i.id))])?;
    // Kept for the retention after it can no longer be used, then DynamoDB may drop it.
    if let Some(ttl) = retention.ttl(i.expiration) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

fn participant_item(p: &Participant) -> StoreResult<Item> {
    encode(p, &[("PK", collaboration_pk(p.collaboration_id)), ("SK", participant_sk(&p.portal.id))])
}

fn user_invitation_item(i: &UserInvitation, retention: Retention) -> StoreResult<Item> {
    let sort = order::user_invitation(i);
    let keys = vec![
        ("PK", user_invitation_pk(i.id)),
        ("SK", "#USERINVITATION".to_owned()),
        ("GSI1PK", tenant_user_invitations(&i.tenant)),
        ("GSI1SK", sort.clone()),
        ("GSI2PK", sender_user_invitations(&i.tenant, &i.inviter)),
        ("GSI2SK", sort),
    ];
    let mut keys = keys;
    keys.extend(owed_keys(sweep_due(&i.delivery, &i.earlier_deliveries), i.id));
    let mut item = encode(i, &keys)?;
    // Pending ones go the retention after they expire, declined or revoked ones the retention after that; accepted
    // ones are the record of how a user joined and stay.
    let ended = match i.state {
        UserInvitationState::Pending => Some(i.expires),
        UserInvitationState::Declined | UserInvitationState::Revoked => i.history.last().map(|h| h.at),
        UserInvitationState::Accepted => None,
    };
    if let Some(ttl) = ended.and_then(|at| retention.ttl(at)) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

fn tenant_communities(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#COMMUNITIES")
}

fn community_invitations(community: CommunityId) -> String {
    format!("COMMUNITY#{community}#INVITATIONS")
}

fn tenant_accepted(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#ACCEPTED")
}

fn membership_item(m: &Membership) -> StoreResult<Item> {
    let mut keys = vec![
        ("PK", community_pk(m.community_id)),
        ("SK", member_sk(&m.tenant)),
        ("GSI1SK", order::membership_of_tenant(m)),
    ];
    if m.is_active() {
        keys.push(("GSI1PK", tenant_communities(&m.tenant)));
    }
    encode(m, &keys)
}

fn invitation_item(i: &Invitation, retention: Retention) -> StoreResult<Item> {
    let sort = order::invitation(i);
    let mut keys = vec![("PK", invitation_pk(i.id)), ("SK", "#INVITATION".to_owned())];
    if !i.is_deleted() {
        keys.push(("GSI1PK", community_invitations(i.community_id)));
        keys.push(("GSI1SK", sort.clone()));
    }
    if let (StoredState::Accepted, Some(tenant)) = (i.state, &i.invited_tenant) {
        keys.push(("GSI2PK", tenant_accepted(tenant)));
        keys.push(("GSI2SK", sort));
    }
    keys.extend(owed_keys(sweep_due(&i.delivery, &i.earlier_deliveries), i.id));
    let mut item = encode(i, &keys)?;
    // Pending invitations go the retention after they expire; withdrawn and declined ones the retention after they
    // ended. Accepted and completed ones are the record of a membership and stay.
    let ended = match i.state {
        StoredState::Created => Some(i.expires),
        StoredState::Declined | StoredState::Deleted => i.history.last().map(|h| h.at),
        StoredState::Accepted | StoredState::Completed => None,
    };
    if let Some(ttl) = ended.and_then(|at| retention.ttl(at)) {
        item.insert("ttl".into(), ttl);
    }
    Ok(item)
}

/// The key of the community invitation a time-ordered cursor points at, or `InvalidCursor` if it names none.
fn invitation_start(cursor: &Cursor, index: &str, partition: String) -> StoreResult<Item> {
    time_start(cursor, index, partition, invitation_pk, "#INVITATION")
}

/// The key of the item (`pk` of the id, `sk`) a time-ordered cursor points at, or `InvalidCursor`.
fn time_start(
    cursor: &Cursor,
    index: &str,
    partition: String,
    pk: fn(InvitationId) -> String,
    sk: &str,
) -> StoreResult<Item> {
    let (_, id) = order::parse_time_id(&cursor.sort).ok_or(StoreError::InvalidCursor)?;
    let id = InvitationId::parse("cursor", id).map_err(|_| StoreError::InvalidCursor)?;
    Ok(HashMap::from([
        ("PK".to_owned(), s(pk(id))),
        ("SK".to_owned(), s(sk)),
        (format!("{index}PK"), s(partition)),
        (format!("{index}SK"), s(cursor.sort.clone())),
    ]))
}

#[async_trait]
impl CommunityStore for DynamoStore {
    async fn create_community(&self, community: &Community, owner: &Membership) -> StoreResult<()> {
        let item = encode(community, &[("PK", community_pk(community.id)), ("SK", "#COMMUNITY".to_owned())])?;
        let items = vec![
            self.put(item, Some("attribute_not_exists(PK)"), &[])?,
            self.put(membership_item(owner)?, Some("attribute_not_exists(PK)"), &[])?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Member, Guard::Member]))
    }

    async fn get_community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        self.get(community_pk(id), "#COMMUNITY").await
    }

    async fn get_communities(&self, ids: &[CommunityId]) -> StoreResult<Vec<Community>> {
        let mut found = Vec::with_capacity(ids.len());
        // BatchGetItem takes 100 keys a request; keys it could not read this time come back to be asked again.
        for chunk in ids[..ids.len().min(MAX_BATCH_READ)].chunks(100) {
            let mut keys: Vec<Item> = chunk
                .iter()
                .map(|id| HashMap::from([("PK".to_owned(), s(community_pk(*id))), ("SK".to_owned(), s("#COMMUNITY"))]))
                .collect();
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
                    .map_err(unavailable)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, wanted)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    found.push(decode(item)?);
                }
                keys = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
            }
        }
        Ok(found)
    }

    async fn update_community(&self, community: &Community) -> StoreResult<()> {
        let contact = serde_dynamo::to_attribute_value(&community.contact_email)
            .map_err(|e| StoreError::Corrupt(format!("unencodable contact email: {e}")))?;
        let accept_from = serde_dynamo::to_attribute_value(community.accept_from)
            .map_err(|e| StoreError::Corrupt(format!("unencodable acceptance rule: {e}")))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(community_pk(community.id)))
            .key("SK", s("#COMMUNITY"))
            .update_expression(
                "SET #name = :name, #description = :description, #contact = :contact, #accept_from = :accept_from",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#description", "description")
            .expression_attribute_names("#contact", "contact_email")
            .expression_attribute_names("#accept_from", "accept_from")
            .expression_attribute_values(":name", s(community.name.clone()))
            .expression_attribute_values(":description", s(community.description.clone()))
            .expression_attribute_values(":contact", contact)
            .expression_attribute_values(":accept_from", accept_from)
            .send()
            .await;
        conditional(result)
    }

    async fn delete_community(&self, community: &Community) -> StoreResult<()> {
        let items = vec![
            self.delete(
                community_pk(community.id),
                "#COMMUNITY",
                "attribute_exists(PK) AND #open = :zero AND #members = :one",
                &[("#open", "open_invitations"), ("#members", "members")],
                &[(":zero", n(0)), (":one", n(1))],
            )?,
            self.delete(community_pk(community.id), &member_sk(&community.owner), "attribute_exists(PK)", &[], &[])?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Member, Guard::Member]))
    }

    async fn get_membership(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<Option<Membership>> {
        self.get(community_pk(community), &member_sk(tenant)).await
    }

    async fn get_membership_and_community(
        &self,
        community: CommunityId,
        tenant: &TenantId,
    ) -> StoreResult<(Option<Membership>, Option<Community>)> {
        self.get_two((community_pk(community), &member_sk(tenant)), (community_pk(community), "#COMMUNITY")).await
    }

    async fn get_membership_and_invitation(
        &self,
        community: CommunityId,
        tenant: &TenantId,
        invitation: InvitationId,
    ) -> StoreResult<(Option<Membership>, Option<Invitation>)> {
        self.get_two((community_pk(community), &member_sk(tenant)), (invitation_pk(invitation), "#INVITATION")).await
    }

    async fn get_community_with_members(
        &self,
        community: CommunityId,
        count: u32,
    ) -> StoreResult<(Option<Community>, Page<Membership>)> {
        // The community item sorts before every `TENANT#` item of its partition: one range read has both.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk AND SK BETWEEN :community AND :end")
            .expression_attribute_values(":pk", s(community_pk(community)))
            .expression_attribute_values(":community", s("#COMMUNITY"))
            .expression_attribute_values(":end", s("TENANT$"));
        // The community item, `count` members and one more, to know whether more exist.
        let wanted = count as usize + 2;
        let mut items: Vec<Item> = Vec::new();
        let mut start = None;
        loop {
            let limit = i32::try_from((wanted - items.len()).min(1_000)).unwrap_or(1_000);
            let out =
                query.clone().set_exclusive_start_key(start.take()).limit(limit).send().await.map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if items.len() < wanted => start = Some(key),
                _ => break,
            }
        }
        let mut found = None;
        let mut members = Vec::new();
        for item in items {
            match item.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some("#COMMUNITY") => found = Some(decode(item)?),
                Some(sk) if sk.starts_with("TENANT#") => members.push(decode::<Membership>(item)?),
                _ => {}
            }
        }
        let more = members.len() > count as usize;
        members.truncate(count as usize);
        let next = if more { members.last().map(|m| Cursor { sort: order::member_of_community(m) }) } else { None };
        Ok((found, Page { items: members, next }))
    }

    async fn list_members(&self, community: CommunityId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        let start = match &req.after {
            None => None,
            Some(cursor) => {
                let tenant = TenantId::parse("cursor", &cursor.sort).map_err(|_| StoreError::InvalidCursor)?;
                Some(HashMap::from([
                    ("PK".to_owned(), s(community_pk(community))),
                    ("SK".to_owned(), s(member_sk(&tenant))),
                ]))
            }
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(community_pk(community)))
            .expression_attribute_values(":prefix", s("TENANT#"));
        self.page(query, req, start, order::member_of_community).await
    }

    async fn list_tenant_communities(&self, tenant: &TenantId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        let partition = tenant_communities(tenant);
        let start = match &req.after {
            None => None,
            Some(cursor) => {
                let (_, id) = order::parse_time_id(&cursor.sort).ok_or(StoreError::InvalidCursor)?;
                let community = CommunityId::parse("cursor", id).map_err(|_| StoreError::InvalidCursor)?;
                Some(HashMap::from([
                    ("PK".to_owned(), s(community_pk(community))),
                    ("SK".to_owned(), s(member_sk(tenant))),
                    ("GSI1PK".to_owned(), s(partition.clone())),
                    ("GSI1SK".to_owned(), s(cursor.sort.clone())),
                ]))
            }
        };
        self.page(self.index_query("GSI1", partition, true), req, start, order::membership_of_tenant).await
    }

    async fn remove_member(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<()> {
        let items = vec![
            self.delete(
                community_pk(community),
                &member_sk(tenant),
                "attribute_exists(PK) AND is_owner = :false AND #status = :active",
                &[("#status", "status")],
                &[(":false", AttributeValue::Bool(false)), (":active", status(MemberStatus::Active)?)],
            )?,
            self.count(community, CountChange { open_invitations: 0, members: -1 })?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Member, Guard::Member]))
    }

    async fn create_invitation(&self, invitation: &Invitation, now: Timestamp) -> StoreResult<()> {
        let items = vec![
            self.put(invitation_item(invitation, self.retention)?, Some("attribute_not_exists(PK)"), &[])?,
            self.take_lock(invitation, now)?,
            self.count(invitation.community_id, CountChange { open_invitations: 1, members: 0 })?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Invitation, Guard::Lock, Guard::Member]))
    }

    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<Invitation>> {
        self.get(invitation_pk(id), "#INVITATION").await
    }

    async fn list_community_invitations(
        &self,
        community: CommunityId,
        req: &PageRequest,
    ) -> StoreResult<Page<Invitation>> {
        let partition = community_invitations(community);
        let start = req.after.as_ref().map(|c| invitation_start(c, "GSI1", partition.clone())).transpose()?;
        self.page(self.index_query("GSI1", partition, true), req, start, order::invitation).await
    }

    async fn list_accepted_invitations(&self, tenant: &TenantId, req: &PageRequest) -> StoreResult<Page<Invitation>> {
        let partition = tenant_accepted(tenant);
        let start = req.after.as_ref().map(|c| invitation_start(c, "GSI2", partition.clone())).transpose()?;
        self.page(self.index_query("GSI2", partition, true), req, start, order::invitation).await
    }

    async fn apply(&self, t: &Transition) -> StoreResult<()> {
        let inv = &t.invitation;
        let (mut items, mut guards) = self.guarded_change(Change {
            item: invitation_item(inv, self.retention)?,
            expected_version: t.expected_version,
            at: t.at,
            require_live: t.require_live,
            lock: &t.lock,
            lock_pk: lock_pk(inv),
            id: inv.id,
            expires: inv.expires,
        })?;
        match &t.membership {
            MembershipEffect::None => {}
            MembershipEffect::Join(m) => {
                items.push(self.put(membership_item(m)?, Some("attribute_not_exists(PK)"), &[])?);
                guards.push(Guard::Join);
            }
            MembershipEffect::Activate { tenant } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key("PK", s(community_pk(inv.community_id)))
                    .key("SK", s(member_sk(tenant)))
                    .update_expression("SET #status = :active, GSI1PK = :gsi1pk")
                    .condition_expression("#status = :awaiting")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":active", status(MemberStatus::Active)?)
                    .expression_attribute_values(":awaiting", status(MemberStatus::AwaitingConfirmation)?)
                    .expression_attribute_values(":gsi1pk", s(tenant_communities(tenant)))
                    .build()
                    .map_err(unavailable)?;
                items.push(TransactWriteItem::builder().update(update).build());
                guards.push(Guard::Member);
            }
            MembershipEffect::Remove { tenant } => {
                items.push(self.delete(
                    community_pk(inv.community_id),
                    &member_sk(tenant),
                    "#status = :awaiting",
                    &[("#status", "status")],
                    &[(":awaiting", status(MemberStatus::AwaitingConfirmation)?)],
                )?);
                guards.push(Guard::Member);
            }
        }
        if !t.counts.is_none() {
            items.push(self.count(inv.community_id, t.counts)?);
            guards.push(Guard::Member);
        }
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>> {
        for _ in 0..MAIL_WRITE_TRIES {
            let Some(mut claimed) = self.mail_item(item).await? else { return Ok(None) };
            let read = claimed.version();
            if !claimed.claim(seq, now) {
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

    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        for _ in 0..MAIL_WRITE_TRIES {
            let mut claimed = self.mail_item(item).await?.ok_or(StoreError::Conflict)?;
            let read = claimed.version();
            if !claimed.finish(seq, outcome, now) {
                return Err(StoreError::Conflict);
            }
            match self.put_mail_item(&claimed, read).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
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
        let mut owed = Vec::new();
        for item in out.items.unwrap_or_default() {
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

#[async_trait]
impl UserInvitationStore for DynamoStore {
    async fn get_user_settings(&self, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>> {
        let stored: Option<StoredSettings> = self.get(tenant_pk(tenant), "#USERSETTINGS").await?;
        Ok(stored.map(|s| (s.settings, s.version)))
    }

    async fn put_user_settings(
        &self,
        tenant: &TenantId,
        settings: &UserSettings,
        expected: Option<u64>,
    ) -> StoreResult<()> {
        let version = expected.unwrap_or(0) + 1;
        let stored = StoredSettings { settings: settings.clone(), version };
        let item = encode(&stored, &[("PK", tenant_pk(tenant)), ("SK", "#USERSETTINGS".to_owned())])?;
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", n(v as i64)),
        };
        conditional(put.send().await)
    }

    async fn reserve_count(
        &self,
        tenant: &TenantId,
        counter: &DailyCounter,
        day: &str,
        count: u32,
        max: u32,
        until: Timestamp,
    ) -> StoreResult<()> {
        let sk = count_sk(counter, day);
        if count > max {
            let used = self.day_count(tenant, &sk).await?;
            return Err(StoreError::LimitReached { used });
        }
        // One atomic add, only while there is room for all of it: racing requests are serialised by DynamoDB.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(sk.clone()))
            .update_expression("ADD #count :count SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count <= :room")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":count", n(i64::from(count)))
            .expression_attribute_values(":room", n(i64::from(max - count)))
            .expression_attribute_values(":ttl", n(until.epoch_seconds()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                let used = self.day_count(tenant, &sk).await?;
                Err(StoreError::LimitReached { used })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn release_count(&self, tenant: &TenantId, counter: &DailyCounter, day: &str, count: u32) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(count_sk(counter, day)))
            .update_expression("ADD #count :minus")
            .condition_expression("attribute_exists(#count)")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus", n(-i64::from(count)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // No count (it expired meanwhile): nothing to give back.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn create_user_invitations(&self, invitations: &[UserInvitation], now: Timestamp) -> StoreResult<()> {
        let mut items = Vec::with_capacity(invitations.len() * 2);
        for i in invitations {
            items.push(self.put(user_invitation_item(i, self.retention)?, Some("attribute_not_exists(PK)"), &[])?);
            items.push(self.take_user_lock(i, now)?);
        }
        let Err(error) = self.transact(items).await else { return Ok(()) };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) = error.as_service_error() else {
            return Err(unavailable(error));
        };
        let reasons = cancel.cancellation_reasons();
        // Items alternate invitation, lock: a failed lock (odd index) is a recipient with a pending invitation.
        let held: Vec<_> = reasons
            .iter()
            .enumerate()
            .filter(|(i, r)| i % 2 == 1 && r.code() == Some("ConditionalCheckFailed"))
            .filter_map(|(i, _)| invitations.get(i / 2).map(|inv| inv.recipient.clone()))
            .collect();
        if !held.is_empty() {
            return Err(StoreError::PendingRecipients(held));
        }
        if reasons.iter().any(|r| matches!(r.code(), Some("ConditionalCheckFailed" | "TransactionConflict"))) {
            return Err(StoreError::Conflict);
        }
        Err(unavailable(error))
    }

    async fn get_user_invitation(&self, id: InvitationId) -> StoreResult<Option<UserInvitation>> {
        self.get(user_invitation_pk(id), "#USERINVITATION").await
    }

    async fn list_user_invitations(
        &self,
        tenant: &TenantId,
        filter: &UserInvitationFilter,
        req: &PageRequest,
    ) -> StoreResult<Page<UserInvitation>> {
        let (index, partition) = match &filter.inviter {
            Some(user) => ("GSI2", sender_user_invitations(tenant, user)),
            None => ("GSI1", tenant_user_invitations(tenant)),
        };
        let start = req
            .after
            .as_ref()
            .map(|c| time_start(c, index, partition.clone(), user_invitation_pk, "#USERINVITATION"))
            .transpose()?;
        let mut query = self.index_query(index, partition, true);
        if let Some(state) = filter.state {
            // The derived state as a filter: Pending and Expired are both stored Pending, told apart by the time.
            let (expression, stored) = match state {
                UserReadState::Pending => ("#st = :st AND expires > :now", UserInvitationState::Pending),
                UserReadState::Expired => ("#st = :st AND expires <= :now", UserInvitationState::Pending),
                UserReadState::Accepted => ("#st = :st", UserInvitationState::Accepted),
                UserReadState::Declined => ("#st = :st", UserInvitationState::Declined),
                UserReadState::Revoked => ("#st = :st", UserInvitationState::Revoked),
            };
            query = query
                .filter_expression(expression)
                .expression_attribute_names("#st", "state")
                .expression_attribute_values(
                    ":st",
                    serde_dynamo::to_attribute_value(stored).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
            if expression.contains(":now") {
                query = query.expression_attribute_values(":now", n(filter.now.millis()));
            }
        }
        self.page(query, req, start, order::user_invitation).await
    }

    async fn apply_user_invitation(&self, t: &UserTransition) -> StoreResult<()> {
        let inv = &t.invitation;
        let (items, guards) = self.guarded_change(Change {
            item: user_invitation_item(inv, self.retention)?,
            expected_version: t.expected_version,
            at: t.at,
            require_live: t.require_live,
            lock: &t.lock,
            lock_pk: user_lock_pk(inv),
            id: inv.id,
            expires: inv.expires,
        })?;
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim_idempotency(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let pk = idempotency_pk(&record.scope);
        let item = self.idempotency_item(record)?;
        let stale = now.plus_seconds(-IDEMPOTENCY_CLAIM_STALE_SECONDS);
        // `IdempotencyRecord::replaceable`, as a condition.
        for _ in 0..3 {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression(
                    "attribute_not_exists(PK) OR expires <= :now OR (attribute_not_exists(answer) AND claimed <= :stale)",
                )
                .expression_attribute_values(":now", n(now.millis()))
                .expression_attribute_values(":stale", n(stale.millis()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(None),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
                    // Held: read who holds it. Released in between, it is free again: try once more.
                    if let Some(existing) = self.get(pk.clone(), "#IDEMPOTENCY").await? {
                        return Ok(Some(existing));
                    }
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn answer_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.idempotency_item(record)?))
            .condition_expression("claimed = :claimed AND attribute_not_exists(answer)")
            .expression_attribute_values(":claimed", n(record.claimed.millis()))
            .send()
            .await;
        conditional(result)
    }

    async fn release_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(idempotency_pk(&record.scope)))
            .key("SK", s("#IDEMPOTENCY"))
            .condition_expression("claimed = :claimed AND attribute_not_exists(answer)")
            .expression_attribute_values(":claimed", n(record.claimed.millis()))
            .send()
            .await;
        match result {
            // Someone else's claim or answer is not ours to drop.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
            other => other.map(|_| ()).map_err(unavailable),
        }
    }
}

#[async_trait]
impl PortalStore for DynamoStore {
    async fn put_collaboration(&self, collaboration: &Collaboration, expected: Option<u64>) -> StoreResult<()> {
        let item = collaboration_item(collaboration)?;
        let put = match expected {
            None => self.put(item, Some("attribute_not_exists(PK)"), &[])?,
            Some(v) => self.put(item, Some("version = :v"), &[(":v", n(v as i64))])?,
        };
        self.transact(vec![put]).await.map_err(|e| cancelled(e, &[Guard::Invitation]))
    }

    async fn get_collaboration(&self, id: CollaborationId) -> StoreResult<Option<Collaboration>> {
        self.get(collaboration_pk(id), "#COLLABORATION").await
    }

    async fn list_collaborations(&self) -> StoreResult<Vec<Collaboration>> {
        self.read_all(self.index_query("GSI1", "PORTAL#COLLABORATIONS".into(), false)).await
    }

    async fn create_collaboration_invitation(&self, invitation: &CollaborationInvitation) -> StoreResult<()> {
        let put = self.put(
            collaboration_invitation_item(invitation, self.retention)?,
            Some("attribute_not_exists(PK)"),
            &[],
        )?;
        self.transact(vec![put]).await.map_err(|e| cancelled(e, &[Guard::Invitation]))
    }

    async fn get_collaboration_invitation(
        &self,
        collaboration: CollaborationId,
        id: CollaborationInvitationId,
    ) -> StoreResult<Option<CollaborationInvitation>> {
        self.get(collaboration_pk(collaboration), &format!("INVITATION#{id}")).await
    }

    async fn list_collaboration_invitations(
        &self,
        collaboration: CollaborationId,
    ) -> StoreResult<Vec<CollaborationInvitation>> {
        self.read_all(self.partition_query(collaboration, "INVITATION#")).await
    }

    async fn update_collaboration_invitation(
        &self,
        invitation: &CollaborationInvitation,
        expected: u64,
        joins: Option<&Participant>,
    ) -> StoreResult<()> {
        let mut items = vec![self.put(
            collaboration_invitation_item(invitation, self.retention)?,
            Some("version = :v"),
            &[(":v", n(expected as i64))],
        )?];
        let mut guards = vec![Guard::Invitation];
        if let Some(participant) = joins {
            items.push(self.put(participant_item(participant)?, Some("attribute_not_exists(PK)"), &[])?);
            guards.push(Guard::Join);
        }
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }

    async fn join_collaboration(&self, collaboration: &Collaboration, host: &Participant) -> StoreResult<()> {
        let items = vec![
            self.put(collaboration_item(collaboration)?, Some("attribute_not_exists(PK)"), &[])?,
            self.put(participant_item(host)?, None, &[])?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Invitation, Guard::Member]))
    }

    async fn list_participants(&self, collaboration: CollaborationId) -> StoreResult<Vec<Participant>> {
        self.read_all(self.partition_query(collaboration, "PARTICIPANT#")).await
    }

    async fn remove_participant(&self, collaboration: CollaborationId, portal: &PortalId) -> StoreResult<()> {
        let delete =
            self.delete(collaboration_pk(collaboration), &participant_sk(portal), "attribute_exists(PK)", &[], &[])?;
        self.transact(vec![delete]).await.map_err(|e| cancelled(e, &[Guard::Member]))
    }

    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
    ) -> StoreResult<()> {
        let pk = collaboration_pk(collaboration.id);
        let mut items = vec![self.delete(
            pk.clone(),
            "#COLLABORATION",
            "version = :v",
            &[],
            &[(":v", n(collaboration.version as i64))],
        )?];
        for p in participants.iter().take(99) {
            items.push(self.delete(pk.clone(), &participant_sk(&p.portal.id), "attribute_exists(PK)", &[], &[])?);
        }
        let guards = vec![Guard::Invitation; items.len()];
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }
}

/// The settings item: the settings and the version every save is conditional on.
#[derive(Serialize, serde::Deserialize)]
struct StoredSettings {
    settings: UserSettings,
    version: u64,
}

impl DynamoStore {
    /// `Query PK = COLLABORATION#<id> AND begins_with(SK, prefix)`, strongly consistent.
    fn partition_query(
        &self,
        collaboration: CollaborationId,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(collaboration_pk(collaboration)))
            .expression_attribute_values(":prefix", s(prefix))
    }

    /// Every item `query` finds, up to [`MAX_PORTAL_LIST`].
    async fn read_all<T: DeserializeOwned>(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<T>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query.clone().set_exclusive_start_key(start.take()).send().await.map_err(unavailable)?;
            for item in out.items.unwrap_or_default() {
                items.push(decode(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if items.len() < MAX_PORTAL_LIST => start = Some(key),
                _ => break,
            }
        }
        items.truncate(MAX_PORTAL_LIST);
        Ok(items)
    }

    /// The day's count so far (0 when nothing was counted).
    async fn day_count(&self, tenant: &TenantId, sk: &str) -> StoreResult<u32> {
        #[derive(serde::Deserialize)]
        struct Count {
            count: u32,
        }
        let count: Option<Count> = self.get(tenant_pk(tenant), sk).await?;
        Ok(count.map_or(0, |c| c.count))
    }

    fn idempotency_item(&self, record: &IdempotencyRecord) -> StoreResult<Item> {
        let mut item = encode(record, &[("PK", idempotency_pk(&record.scope)), ("SK", "#IDEMPOTENCY".to_owned())])?;
        item.insert("ttl".into(), n(record.expires.epoch_seconds()));
        Ok(item)
    }

    fn take_user_lock(&self, invitation: &UserInvitation, at: Timestamp) -> StoreResult<TransactWriteItem> {
        self.lock_put(user_lock_pk(invitation), invitation.id, invitation.expires, at)
    }
}

impl DynamoStore {
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

/// GSI3's one partition: the invitations that owe mail.
const OWED_PARTITION: &str = "OUTBOX#OWED";

/// The outbox index keys of an invitation that owes mail, due for the sweep at `due`.
fn owed_keys(due: Option<Timestamp>, id: InvitationId) -> Vec<(&'static str, String)> {
    due.map(|due| vec![("GSI3PK", OWED_PARTITION.to_owned()), ("GSI3SK", order::by_time(due, &id.to_string()))])
        .unwrap_or_default()
}

fn status(status: MemberStatus) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(status).map_err(|e| StoreError::Corrupt(e.to_string()))
}
