//! This portal's collaborations, their invitations and participants: the [`PortalStore`] port.

use async_trait::async_trait;

use super::MemoryStore;
use crate::domain::Timestamp;
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::store::PortalStore;
use crate::store::{MAX_PORTAL_LIST, StoreError, StoreResult};

#[async_trait]
impl PortalStore for MemoryStore {
    async fn put_collaboration(&self, collaboration: &Collaboration, expected: Option<u64>) -> StoreResult<()> {
        self.write(|s| {
            let current = s.collaborations.get(&collaboration.id).map(|c| c.version);
            if current != expected {
                return Err(StoreError::Conflict);
            }
            s.collaborations.insert(collaboration.id, collaboration.clone());
            Ok(())
        })
    }

    async fn get_collaboration(&self, id: CollaborationId) -> StoreResult<Option<Collaboration>> {
        self.read(|s| s.collaborations.get(&id).cloned())
    }

    async fn list_collaborations(&self) -> StoreResult<Vec<Collaboration>> {
        self.read(|s| oldest_first(s.collaborations.values().cloned(), |c| (c.created, c.id.to_string())))
    }

    async fn create_collaboration_invitation(&self, invitation: &CollaborationInvitation) -> StoreResult<()> {
        self.write(|s| {
            if s.collaboration_invitations.contains_key(&invitation.id) {
                return Err(StoreError::Conflict);
            }
            s.collaboration_invitations.insert(invitation.id, invitation.clone());
            Ok(())
        })
    }

    async fn get_collaboration_invitation(
        &self,
        collaboration: CollaborationId,
        id: CollaborationInvitationId,
    ) -> StoreResult<Option<CollaborationInvitation>> {
        self.read(|s| s.collaboration_invitations.get(&id).filter(|i| i.collaboration_id == collaboration).cloned())
    }

    async fn list_collaboration_invitations(
        &self,
        collaboration: CollaborationId,
    ) -> StoreResult<Vec<CollaborationInvitation>> {
        self.read(|s| {
            let of = s.collaboration_invitations.values().filter(|i| i.collaboration_id == collaboration).cloned();
            oldest_first(of, |i| (i.created, i.id.to_string()))
        })
    }

    async fn update_collaboration_invitation(
        &self,
        invitation: &CollaborationInvitation,
        expected: u64,
        joins: Option<&Participant>,
    ) -> StoreResult<()> {
        self.write(|s| {
            let current = s
                .collaboration_invitations
                .get(&invitation.id)
                .filter(|i| i.collaboration_id == invitation.collaboration_id)
                .ok_or(StoreError::Conflict)?;
            if current.version != expected {
                return Err(StoreError::Conflict);
            }
            if let Some(participant) = joins {
                let key = participant_key(participant.collaboration_id, &participant.portal.id);
                if s.participants.contains_key(&key) {
                    return Err(StoreError::AlreadyMember);
                }
                s.participants.insert(key, participant.clone());
            }
            s.collaboration_invitations.insert(invitation.id, invitation.clone());
            Ok(())
        })
    }

    async fn join_collaboration(&self, collaboration: &Collaboration, host: &Participant) -> StoreResult<()> {
        self.write(|s| {
            if s.collaborations.contains_key(&collaboration.id) {
                return Err(StoreError::Conflict);
            }
            s.collaborations.insert(collaboration.id, collaboration.clone());
            s.participants.insert(participant_key(collaboration.id, &host.portal.id), host.clone());
            Ok(())
        })
    }

    async fn list_participants(&self, collaboration: CollaborationId) -> StoreResult<Vec<Participant>> {
        self.read(|s| {
            let of = s.participants.values().filter(|p| p.collaboration_id == collaboration).cloned();
            oldest_first(of, |p| (p.joined, p.portal.id.to_string()))
        })
    }

    async fn remove_participant(
        &self,
        collaboration: CollaborationId,
        portal: &PortalId,
        _now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            s.participants.remove(&participant_key(collaboration, portal)).map(|_| ()).ok_or(StoreError::Conflict)
        })
    }

    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
        _now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            if s.collaborations.get(&collaboration.id).map(|c| c.version) != Some(collaboration.version) {
                return Err(StoreError::Conflict);
            }
            s.collaborations.remove(&collaboration.id);
            for p in participants {
                s.participants.remove(&participant_key(collaboration.id, &p.portal.id));
            }
            Ok(())
        })
    }
}

fn participant_key(collaboration: CollaborationId, portal: &PortalId) -> String {
    format!("{collaboration}/{portal}")
}

/// The first [`MAX_PORTAL_LIST`] of `items`, oldest first by `created`.
fn oldest_first<T: Clone>(items: impl Iterator<Item = T>, created: impl Fn(&T) -> (Timestamp, String)) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_by_key(|i| created(i));
    items.truncate(MAX_PORTAL_LIST);
    items
}
