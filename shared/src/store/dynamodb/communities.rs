//! Communities, memberships and community invitations: the [`CommunityStore`] port.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::keys::{
    community_invitations, community_pk, decode, encode, invitation_item, invitation_pk, invitation_start, lock_pk,
    member_sk, membership_item, n, s, status, tenant_accepted, tenant_communities,
};
use super::{Change, DynamoStore, Guard, Item, cancelled, conditional, unavailable, unbuilt};
use crate::domain::{
    Community, CommunityId, CommunityInvitation, CountChange, InvitationId, MemberStatus, Membership, MembershipEffect,
    TenantId, Timestamp, Transition,
};
use crate::store::{CommunityStore, Cursor, Page, PageRequest, StoreError, StoreResult, order};

#[async_trait]
impl CommunityStore for DynamoStore {
    async fn create_community(&self, community: &Community, owner: &Membership) -> StoreResult<()> {
        let item = encode(community, &[("PK", community_pk(community.id)), ("SK", "#COMMUNITY".to_owned())])?;
        let items = vec![
            self.put(item, Some("attribute_not_exists(PK)"), &[])?,
            self.put(membership_item(owner)?, Some("attribute_not_exists(PK)"), &[])?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Changed, Guard::Changed]))
    }

    async fn get_community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        self.get(community_pk(id), "#COMMUNITY").await
    }

    async fn get_communities(&self, ids: &[CommunityId]) -> StoreResult<Vec<Community>> {
        let keys = ids
            .iter()
            .map(|id| HashMap::from([("PK".to_owned(), s(community_pk(*id))), ("SK".to_owned(), s("#COMMUNITY"))]))
            .collect();
        self.batch_get(keys).await?.into_iter().map(decode).collect()
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
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Changed, Guard::Changed]))
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
    ) -> StoreResult<(Option<Membership>, Option<CommunityInvitation>)> {
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
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Changed, Guard::Changed]))
    }

    async fn create_invitation(&self, invitation: &CommunityInvitation, now: Timestamp) -> StoreResult<()> {
        let items = vec![
            self.put(invitation_item(invitation, self.retention)?, Some("attribute_not_exists(PK)"), &[])?,
            self.take_lock(invitation, now)?,
            self.count(invitation.community_id, CountChange { open_invitations: 1, members: 0 })?,
        ];
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Changed, Guard::Lock, Guard::Changed]))
    }

    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<CommunityInvitation>> {
        self.get(invitation_pk(id), "#INVITATION").await
    }

    async fn list_community_invitations(
        &self,
        community: CommunityId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
        let partition = community_invitations(community);
        let start = req.after.as_ref().map(|c| invitation_start(c, "GSI1", partition.clone())).transpose()?;
        self.page(self.index_query("GSI1", partition, true), req, start, order::invitation).await
    }

    async fn list_accepted_invitations(
        &self,
        tenant: &TenantId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
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
                    .map_err(unbuilt)?;
                items.push(TransactWriteItem::builder().update(update).build());
                guards.push(Guard::Changed);
            }
            MembershipEffect::Remove { tenant } => {
                items.push(self.delete(
                    community_pk(inv.community_id),
                    &member_sk(tenant),
                    "#status = :awaiting",
                    &[("#status", "status")],
                    &[(":awaiting", status(MemberStatus::AwaitingConfirmation)?)],
                )?);
                guards.push(Guard::Changed);
            }
        }
        if !t.counts.is_none() {
            items.push(self.count(inv.community_id, t.counts)?);
            guards.push(Guard::Changed);
        }
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }
}
