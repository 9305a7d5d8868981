//! A tenant's settings, day counts and platform invitations ([`UserInvitationStore`]), and idempotency keys
//! ([`IdempotencyStore`]).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Serialize;

use super::keys::{
    count_sk, encode, idempotency_pk, n, s, sender_user_invitations, tenant_pk, tenant_user_invitations, time_start,
    user_invitation_item, user_invitation_pk, user_lock_pk,
};
use super::{Change, DynamoStore, Item, cancelled, conditional, unavailable};
use crate::domain::IDEMPOTENCY_CLAIM_STALE_SECONDS;
use crate::domain::{
    DailyCounter, IdempotencyRecord, InvitationId, TenantId, Timestamp, UserInvitation, UserInvitationState,
    UserReadState, UserSettings, UserTransition,
};
use crate::store::{
    IdempotencyStore, Page, PageRequest, StoreError, StoreResult, UserInvitationFilter, UserInvitationStore, order,
};

#[async_trait]
impl UserInvitationStore for DynamoStore {
    async fn get_user_settings(&self, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>> {
        let stored: Option<StoredSettings> = self.get(tenant_pk(tenant), SETTINGS_SK).await?;
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
        let item = encode(&stored, &[("PK", tenant_pk(tenant)), ("SK", SETTINGS_SK.to_owned())])?;
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

/// The settings item: the settings and the version every save is conditional on.
#[derive(Serialize, serde::Deserialize)]
pub(super) struct StoredSettings {
    pub(super) settings: UserSettings,
    pub(super) version: u64,
}

/// The settings item's sort key, under the tenant's partition (beside its suppressions).
pub(super) const SETTINGS_SK: &str = "#USERSETTINGS";

impl DynamoStore {
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
