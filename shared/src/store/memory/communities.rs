//! Communities, memberships and community invitations: the [`CommunityStore`] port.

use async_trait::async_trait;

use super::{Lock, MemoryStore, State, check_member_cursor, check_time_cursor, lock_key, member_key, page, sorted};
use crate::domain::{
    Community, CommunityId, CommunityInvitation, CountChange, InvitationId, LockEffect, MemberStatus, Membership,
    MembershipEffect, StoredState, TenantId, Timestamp, Transition,
};
use crate::store::CommunityStore;
use crate::store::{MAX_BATCH_READ, Page, PageRequest, StoreError, StoreResult, order};

#[async_trait]
impl CommunityStore for MemoryStore {
    async fn create_community(&self, community: &Community, owner: &Membership) -> StoreResult<()> {
        self.write(|s| {
            if s.communities.contains_key(&community.id) {
                return Err(StoreError::Conflict);
            }
            s.communities.insert(community.id, community.clone());
            s.members.insert(member_key(community.id, &owner.tenant), owner.clone());
            Ok(())
        })
    }

    async fn get_community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        self.read(|s| s.communities.get(&id).cloned())
    }

    async fn get_communities(&self, ids: &[CommunityId]) -> StoreResult<Vec<Community>> {
        self.read(|s| ids.iter().take(MAX_BATCH_READ).filter_map(|id| s.communities.get(id).cloned()).collect())
    }

    async fn update_community(&self, community: &Community) -> StoreResult<()> {
        self.write(|s| {
            let stored = s.communities.get_mut(&community.id).ok_or(StoreError::Conflict)?;
            stored.name = community.name.clone();
            stored.description = community.description.clone();
            stored.contact_email = community.contact_email.clone();
            stored.accept_from = community.accept_from;
            Ok(())
        })
    }

    async fn delete_community(&self, community: &Community) -> StoreResult<()> {
        self.write(|s| {
            match s.communities.get(&community.id) {
                Some(c) if c.open_invitations == 0 && c.members <= 1 => {}
                _ => return Err(StoreError::Conflict),
            }
            if s.members.values().any(|m| m.community_id == community.id && m.tenant != community.owner) {
                return Err(StoreError::Conflict);
            }
            s.communities.remove(&community.id);
            s.members.remove(&member_key(community.id, &community.owner));
            Ok(())
        })
    }

    async fn get_membership(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<Option<Membership>> {
        self.read(|s| s.members.get(&member_key(community, tenant)).cloned())
    }

    async fn get_membership_and_community(
        &self,
        community: CommunityId,
        tenant: &TenantId,
    ) -> StoreResult<(Option<Membership>, Option<Community>)> {
        self.read(|s| (s.members.get(&member_key(community, tenant)).cloned(), s.communities.get(&community).cloned()))
    }

    async fn get_membership_and_invitation(
        &self,
        community: CommunityId,
        tenant: &TenantId,
        invitation: InvitationId,
    ) -> StoreResult<(Option<Membership>, Option<CommunityInvitation>)> {
        self.read(|s| (s.members.get(&member_key(community, tenant)).cloned(), s.invitations.get(&invitation).cloned()))
    }

    async fn get_community_with_members(
        &self,
        community: CommunityId,
        count: u32,
    ) -> StoreResult<(Option<Community>, Page<Membership>)> {
        let first = PageRequest { skip: 0, count, after: None };
        Ok((self.get_community(community).await?, self.list_members(community, &first).await?))
    }

    async fn list_members(&self, community: CommunityId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        check_member_cursor(req)?;
        self.read(|s| {
            let items = s
                .members
                .values()
                .filter(|m| m.community_id == community)
                .map(|m| (order::member_of_community(m), m.clone()))
                .collect();
            page(sorted(items, false), false, req)
        })
    }

    async fn list_tenant_communities(&self, tenant: &TenantId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        check_time_cursor(req, CommunityId::parse)?;
        self.read(|s| {
            let items = s
                .members
                .values()
                .filter(|m| &m.tenant == tenant && m.is_active())
                .map(|m| (order::membership_of_tenant(m), m.clone()))
                .collect();
            page(sorted(items, true), true, req)
        })
    }

    async fn remove_member(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<()> {
        self.write(|s| match s.members.get(&member_key(community, tenant)) {
            Some(m) if !m.is_owner && m.is_active() => {
                s.members.remove(&member_key(community, tenant));
                count(s, community, CountChange { open_invitations: 0, members: -1 })
            }
            _ => Err(StoreError::Conflict),
        })
    }

    async fn create_invitation(&self, invitation: &CommunityInvitation, now: Timestamp) -> StoreResult<()> {
        self.write(|s| {
            if s.invitations.contains_key(&invitation.id) {
                return Err(StoreError::Conflict);
            }
            take_lock(s, invitation, now)?;
            count(s, invitation.community_id, CountChange { open_invitations: 1, members: 0 })?;
            s.invitations.insert(invitation.id, invitation.clone());
            Ok(())
        })?;
        self.announce(invitation);
        Ok(())
    }

    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<CommunityInvitation>> {
        self.read(|s| s.invitations.get(&id).cloned())
    }

    async fn list_community_invitations(
        &self,
        community: CommunityId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
        self.invitations_page(req, |i| i.community_id == community && !i.is_deleted())
    }

    async fn list_accepted_invitations(
        &self,
        tenant: &TenantId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
        self.invitations_page(req, |i| i.state == StoredState::Accepted && i.invited_tenant.as_ref() == Some(tenant))
    }

    async fn apply(&self, t: &Transition) -> StoreResult<()> {
        self.write(|s| {
            let inv = &t.invitation;
            let current = s.invitations.get(&inv.id).ok_or(StoreError::Conflict)?;
            let live = !t.require_live || current.expires > t.at;
            if current.version != t.expected_version || !live {
                return Err(StoreError::Conflict);
            }
            match t.lock {
                LockEffect::None => {}
                LockEffect::Take => take_lock(s, inv, t.at)?,
                LockEffect::Release => match s.locks.get(&lock_key(inv)) {
                    Some(lock) if lock.invitation == inv.id => {
                        s.locks.remove(&lock_key(inv));
                    }
                    _ => return Err(StoreError::Conflict),
                },
            }
            match &t.membership {
                MembershipEffect::None => {}
                MembershipEffect::Join(m) => {
                    let key = member_key(m.community_id, &m.tenant);
                    if s.members.contains_key(&key) {
                        return Err(StoreError::AlreadyMember);
                    }
                    s.members.insert(key, (**m).clone());
                }
                MembershipEffect::Activate { tenant } => {
                    match s.members.get_mut(&member_key(inv.community_id, tenant)) {
                        Some(m) if m.status == MemberStatus::AwaitingConfirmation => m.status = MemberStatus::Active,
                        _ => return Err(StoreError::Conflict),
                    }
                }
                MembershipEffect::Remove { tenant } => {
                    let key = member_key(inv.community_id, tenant);
                    match s.members.get(&key) {
                        Some(m) if m.status == MemberStatus::AwaitingConfirmation => {
                            s.members.remove(&key);
                        }
                        _ => return Err(StoreError::Conflict),
                    }
                }
            }
            if !t.counts.is_none() {
                count(s, inv.community_id, t.counts)?;
            }
            s.invitations.insert(inv.id, inv.clone());
            Ok(())
        })?;
        self.announce(&t.invitation);
        Ok(())
    }
}

/// Moves the community's counters by `change`; [`StoreError::Conflict`] if the community is gone.
fn count(s: &mut State, community: CommunityId, change: CountChange) -> StoreResult<()> {
    let c = s.communities.get_mut(&community).ok_or(StoreError::Conflict)?;
    let moved = |value: u32, by: i64| u32::try_from((i64::from(value) + by).max(0)).unwrap_or(u32::MAX);
    c.open_invitations = moved(c.open_invitations, change.open_invitations);
    c.members = moved(c.members, change.members);
    Ok(())
}

/// Takes the (community, recipient) lock for `invitation` if it is free, stale at `now`, or already its own.
fn take_lock(s: &mut State, invitation: &CommunityInvitation, now: Timestamp) -> StoreResult<()> {
    let key = lock_key(invitation);
    if let Some(lock) = s.locks.get(&key)
        && lock.invitation != invitation.id
        && lock.expires > now
    {
        return Err(StoreError::PendingInvitation(lock.invitation));
    }
    s.locks.insert(key, Lock { invitation: invitation.id, expires: invitation.expires });
    Ok(())
}

impl MemoryStore {
    /// A page of the invitations that `keep` keeps, in the lists' order (newest first), after the request's cursor.
    fn invitations_page(
        &self,
        req: &PageRequest,
        keep: impl Fn(&CommunityInvitation) -> bool,
    ) -> StoreResult<Page<CommunityInvitation>> {
        check_time_cursor(req, InvitationId::parse)?;
        self.read(|s| {
            let items = s.invitations.values().filter(|i| keep(i)).map(|i| (order::invitation(i), i.clone())).collect();
            page(sorted(items, true), true, req)
        })
    }
}
