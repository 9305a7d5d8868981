//! This portal's collaborations, their invitations and participants: the same checks as
//! [`crate::store::memory`]. Lists are read whole (a portal collaborates with a handful of others), oldest first,
//! along their indexes, at most [`MAX_PORTAL_LIST`].

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::rows::{all, json, one, sql};
use super::{SqliteStore, events};
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::domain::{Timestamp, event};
use crate::store::{MAX_PORTAL_LIST, PortalStore, StoreError, StoreResult};

#[async_trait]
impl PortalStore for SqliteStore {
    async fn put_collaboration(&self, collaboration: &Collaboration, expected: Option<u64>) -> StoreResult<()> {
        let collaboration = collaboration.clone();
        self.write(move |tx| put_collaboration(tx, &collaboration, expected)).await
    }

    async fn get_collaboration(&self, id: CollaborationId) -> StoreResult<Option<Collaboration>> {
        self.read(move |tx| collaboration(tx, id)).await
    }

    async fn list_collaborations(&self) -> StoreResult<Vec<Collaboration>> {
        self.read(collaborations).await
    }

    async fn create_collaboration_invitation(&self, invitation: &CollaborationInvitation) -> StoreResult<()> {
        let invitation = invitation.clone();
        self.write(move |tx| create_invitation(tx, &invitation)).await
    }

    async fn get_collaboration_invitation(
        &self,
        collaboration: CollaborationId,
        id: CollaborationInvitationId,
    ) -> StoreResult<Option<CollaborationInvitation>> {
        self.read(move |tx| invitation(tx, collaboration, id)).await
    }

    async fn list_collaboration_invitations(
        &self,
        collaboration: CollaborationId,
    ) -> StoreResult<Vec<CollaborationInvitation>> {
        self.read(move |tx| invitations(tx, collaboration)).await
    }

    async fn update_collaboration_invitation(
        &self,
        invitation: &CollaborationInvitation,
        expected: u64,
        joins: Option<&Participant>,
    ) -> StoreResult<()> {
        let (invitation, joins) = (invitation.clone(), joins.cloned());
        self.write(move |tx| update_invitation(tx, &invitation, expected, joins.as_ref())).await
    }

    async fn join_collaboration(&self, collaboration: &Collaboration, host: &Participant) -> StoreResult<()> {
        let (collaboration, host) = (collaboration.clone(), host.clone());
        self.write(move |tx| join(tx, &collaboration, &host)).await
    }

    async fn list_participants(&self, collaboration: CollaborationId) -> StoreResult<Vec<Participant>> {
        self.read(move |tx| participants(tx, collaboration)).await
    }

    async fn remove_participant(
        &self,
        collaboration: CollaborationId,
        portal: &PortalId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let id = portal.clone();
        self.write(move |tx| remove_participant(tx, collaboration, &id, now)).await
    }

    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
        now: Timestamp,
    ) -> StoreResult<()> {
        let (collaboration, participants) = (collaboration.clone(), participants.to_vec());
        self.write(move |tx| leave(tx, &collaboration, &participants, now)).await
    }
}

pub(super) const COLLABORATIONS: &str = "SELECT item FROM collaborations ORDER BY created, id LIMIT ?1";
pub(super) const INVITATIONS: &str =
    "SELECT item FROM collaboration_invitations WHERE collaboration = ?1 ORDER BY created, id LIMIT ?2";
pub(super) const PARTICIPANTS: &str =
    "SELECT item FROM participants WHERE collaboration = ?1 ORDER BY joined, portal LIMIT ?2";

pub(super) fn collaboration(tx: &Transaction<'_>, id: CollaborationId) -> StoreResult<Option<Collaboration>> {
    one(tx, "SELECT item FROM collaborations WHERE id = ?1", [id.to_string()])
}

pub(super) fn put(tx: &Transaction<'_>, c: &Collaboration) -> StoreResult<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO collaborations (id, created, item) VALUES (?1, ?2, ?3)")
        .map_err(sql)?
        .execute(params![c.id.to_string(), c.created.millis(), json(c)?])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn put_collaboration(tx: &Transaction<'_>, c: &Collaboration, expected: Option<u64>) -> StoreResult<()> {
    if collaboration(tx, c.id)?.map(|c| c.version) != expected {
        return Err(StoreError::Conflict);
    }
    put(tx, c)
}

pub(super) fn collaborations(tx: &Transaction<'_>) -> StoreResult<Vec<Collaboration>> {
    all(tx, COLLABORATIONS, [MAX_PORTAL_LIST as i64])
}

pub(super) fn invitation(
    tx: &Transaction<'_>,
    collaboration: CollaborationId,
    id: CollaborationInvitationId,
) -> StoreResult<Option<CollaborationInvitation>> {
    one(
        tx,
        "SELECT item FROM collaboration_invitations WHERE id = ?1 AND collaboration = ?2",
        params![id.to_string(), collaboration.to_string()],
    )
}

pub(super) fn put_invitation(tx: &Transaction<'_>, i: &CollaborationInvitation) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO collaboration_invitations (id, collaboration, created, item) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql)?
    .execute(params![i.id.to_string(), i.collaboration_id.to_string(), i.created.millis(), json(i)?])
    .map_err(sql)?;
    Ok(())
}

/// Writes a new invitation; [`StoreError::Conflict`] if its id is taken (in any collaboration).
pub(super) fn create_invitation(tx: &Transaction<'_>, i: &CollaborationInvitation) -> StoreResult<()> {
    let taken: Option<CollaborationInvitation> =
        one(tx, "SELECT item FROM collaboration_invitations WHERE id = ?1", [i.id.to_string()])?;
    if taken.is_some() {
        return Err(StoreError::Conflict);
    }
    put_invitation(tx, i)?;
    events::record(tx, &event::of_collaboration_invitation(None, i))
}

pub(super) fn invitations(
    tx: &Transaction<'_>,
    collaboration: CollaborationId,
) -> StoreResult<Vec<CollaborationInvitation>> {
    all(tx, INVITATIONS, params![collaboration.to_string(), MAX_PORTAL_LIST as i64])
}

pub(super) fn update_invitation(
    tx: &Transaction<'_>,
    i: &CollaborationInvitation,
    expected: u64,
    joins: Option<&Participant>,
) -> StoreResult<()> {
    let current = invitation(tx, i.collaboration_id, i.id)?.ok_or(StoreError::Conflict)?;
    if current.version != expected {
        return Err(StoreError::Conflict);
    }
    if let Some(joining) = joins {
        if participant(tx, joining.collaboration_id, &joining.portal.id)?.is_some() {
            return Err(StoreError::AlreadyMember);
        }
        put_participant(tx, joining)?;
    }
    put_invitation(tx, i)?;
    events::record(tx, &event::of_collaboration_invitation(Some(&current), i))
}

fn participant(
    tx: &Transaction<'_>,
    collaboration: CollaborationId,
    portal: &PortalId,
) -> StoreResult<Option<Participant>> {
    one(
        tx,
        "SELECT item FROM participants WHERE collaboration = ?1 AND portal = ?2",
        params![collaboration.to_string(), portal.to_string()],
    )
}

pub(super) fn put_participant(tx: &Transaction<'_>, p: &Participant) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO participants (collaboration, portal, joined, item) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql)?
    .execute(params![p.collaboration_id.to_string(), p.portal.id.to_string(), p.joined.millis(), json(p)?])
    .map_err(sql)?;
    Ok(())
}

pub(super) fn join(tx: &Transaction<'_>, c: &Collaboration, host: &Participant) -> StoreResult<()> {
    if collaboration(tx, c.id)?.is_some() {
        return Err(StoreError::Conflict);
    }
    put(tx, c)?;
    put_participant(tx, host)?;
    events::record(tx, &event::of_participant(host, None))
}

pub(super) fn participants(tx: &Transaction<'_>, collaboration: CollaborationId) -> StoreResult<Vec<Participant>> {
    all(tx, PARTICIPANTS, params![collaboration.to_string(), MAX_PORTAL_LIST as i64])
}

/// Deletes a participant, with its removal's event; whether it was there.
fn delete_participant(
    tx: &Transaction<'_>,
    collaboration: CollaborationId,
    portal: &PortalId,
    now: Timestamp,
) -> StoreResult<bool> {
    let Some(participant) = participant(tx, collaboration, portal)? else { return Ok(false) };
    tx.prepare_cached("DELETE FROM participants WHERE collaboration = ?1 AND portal = ?2")
        .map_err(sql)?
        .execute(params![collaboration.to_string(), portal.to_string()])
        .map_err(sql)?;
    events::record(tx, &event::of_participant(&participant, Some(now)))?;
    Ok(true)
}

pub(super) fn remove_participant(
    tx: &Transaction<'_>,
    collaboration: CollaborationId,
    portal: &PortalId,
    now: Timestamp,
) -> StoreResult<()> {
    if delete_participant(tx, collaboration, portal, now)? { Ok(()) } else { Err(StoreError::Conflict) }
}

pub(super) fn leave(
    tx: &Transaction<'_>,
    c: &Collaboration,
    participants: &[Participant],
    now: Timestamp,
) -> StoreResult<()> {
    if collaboration(tx, c.id)?.map(|stored| stored.version) != Some(c.version) {
        return Err(StoreError::Conflict);
    }
    tx.execute("DELETE FROM collaborations WHERE id = ?1", [c.id.to_string()]).map_err(sql)?;
    for p in participants {
        delete_participant(tx, c.id, &p.portal.id, now)?;
    }
    Ok(())
}
