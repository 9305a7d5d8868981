//! This portal's collaborations, their invitations and participants: the [`PortalStore`] port.

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use super::keys::{
    collaboration_invitation_item, collaboration_item, collaboration_pk, decode, n, participant_item, participant_sk, s,
};
use super::{DynamoStore, Guard, cancelled, unavailable};
use crate::domain::Timestamp;
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::store::{MAX_PORTAL_LIST, PortalStore, StoreResult};

#[async_trait]
impl PortalStore for DynamoStore {
    async fn put_collaboration(&self, collaboration: &Collaboration, expected: Option<u64>) -> StoreResult<()> {
        let item = collaboration_item(collaboration)?;
        let put = match expected {
            None => self.put(item, Some("attribute_not_exists(PK)"), &[])?,
            Some(v) => self.put(item, Some("version = :v"), &[(":v", n(v as i64))])?,
        };
        self.transact(vec![put]).await.map_err(|e| cancelled(e, &[Guard::Changed]))
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
        self.transact(vec![put]).await.map_err(|e| cancelled(e, &[Guard::Changed]))
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
        let mut guards = vec![Guard::Changed];
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
        self.transact(items).await.map_err(|e| cancelled(e, &[Guard::Changed, Guard::Changed]))
    }

    async fn list_participants(&self, collaboration: CollaborationId) -> StoreResult<Vec<Participant>> {
        self.read_all(self.partition_query(collaboration, "PARTICIPANT#")).await
    }

    async fn remove_participant(
        &self,
        collaboration: CollaborationId,
        portal: &PortalId,
        _now: Timestamp,
    ) -> StoreResult<()> {
        let delete =
            self.delete(collaboration_pk(collaboration), &participant_sk(portal), "attribute_exists(PK)", &[], &[])?;
        self.transact(vec![delete]).await.map_err(|e| cancelled(e, &[Guard::Changed]))
    }

    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
        _now: Timestamp,
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
        let guards = vec![Guard::Changed; items.len()];
        self.transact(items).await.map_err(|e| cancelled(e, &guards))
    }
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
}
