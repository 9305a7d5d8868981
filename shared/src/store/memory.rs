//! The embedded store for the local server: everything in memory behind one lock, saved to a JSON file after each
//! change when a path is given, so a restart keeps what was created. It honours the same conditions as DynamoDB.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Cursor, Page, PageRequest, Store, StoreError, StoreResult, order};
use crate::domain::{
    Community, CommunityId, DeliveryOutcome, DeliveryState, Invitation, InvitationId, LockEffect, MemberStatus,
    Membership, MembershipEffect, StoredState, TenantId, Timestamp, Transition,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    communities: BTreeMap<CommunityId, Community>,
    /// Keyed by (community, tenant).
    members: BTreeMap<String, Membership>,
    invitations: BTreeMap<InvitationId, Invitation>,
    /// (community, recipient key) -> the invitation holding the one-pending-invitation lock, and until when.
    locks: BTreeMap<String, Lock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lock {
    invitation: InvitationId,
    expires: Timestamp,
}

pub struct MemoryStore {
    state: Mutex<State>,
    file: Option<PathBuf>,
    listener: Mutex<Option<Listener>>,
}

/// Told of each invitation written with a pending delivery.
type Listener = Box<dyn Fn(&Invitation) + Send + Sync>;

impl MemoryStore {
    /// A store that forgets everything when dropped.
    pub fn new() -> Self {
        Self { state: Mutex::new(State::default()), file: None, listener: Mutex::new(None) }
    }

    /// A store saved to `file` after every change, starting from what the file holds if it exists.
    pub fn open(file: &Path) -> std::io::Result<Self> {
        let state = match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        Ok(Self { state: Mutex::new(state), file: Some(file.to_owned()), listener: Mutex::new(None) })
    }

    /// Runs `change` on a copy of the state and keeps it only if it succeeds and (when file-backed) is saved:
    /// a failed change leaves nothing half-written.
    fn write<T>(&self, change: impl FnOnce(&mut State) -> StoreResult<T>) -> StoreResult<T> {
        let mut guard = self.state.lock().map_err(|_| StoreError::Unavailable("store lock poisoned".into()))?;
        let mut next = guard.clone();
        let out = change(&mut next)?;
        if let Some(file) = &self.file {
            save(file, &next).map_err(|e| StoreError::Unavailable(format!("saving {}: {e}", file.display())))?;
        }
        *guard = next;
        Ok(out)
    }

    fn read<T>(&self, read: impl FnOnce(&State) -> T) -> StoreResult<T> {
        let guard = self.state.lock().map_err(|_| StoreError::Unavailable("store lock poisoned".into()))?;
        Ok(read(&guard))
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn save(file: &Path, state: &State) -> std::io::Result<()> {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(state).map_err(std::io::Error::other)?)?;
    std::fs::rename(tmp, file)
}

fn member_key(community: CommunityId, tenant: &TenantId) -> String {
    format!("{community}/{tenant}")
}

fn lock_key(invitation: &Invitation) -> String {
    format!("{}/{}", invitation.community_id, invitation.recipient.key())
}

/// Pages `items`, already filtered and sorted by `key` in the list's direction (`descending` for newest first).
fn page<T: Clone>(mut items: Vec<(String, T)>, descending: bool, req: &PageRequest) -> Page<T> {
    if let Some(after) = &req.after {
        items.retain(|(k, _)| if descending { *k < after.sort } else { *k > after.sort });
    }
    let mut rest = items.into_iter().skip(req.skip as usize);
    let taken: Vec<(String, T)> = rest.by_ref().take(req.count as usize).collect();
    let next = match (rest.next(), taken.last()) {
        (Some(_), Some((k, _))) => Some(Cursor { sort: k.clone() }),
        _ => None,
    };
    Page { items: taken.into_iter().map(|(_, t)| t).collect(), next }
}

/// Refuses a members cursor that is not a tenant id, as the DynamoDB adapter must to rebuild its key from it: the
/// same cursor is then `InvalidCursor` in both stores, never an empty page in one and an error in the other.
fn check_member_cursor(req: &PageRequest) -> StoreResult<()> {
    match &req.after {
        Some(cursor) => TenantId::parse("cursor", &cursor.sort).map(|_| ()).map_err(|_| StoreError::InvalidCursor),
        None => Ok(()),
    }
}

/// Refuses a time-ordered cursor that is not `order::by_time` of an id of the listed kind (`parse_id`), for the
/// same reason as [`check_member_cursor`].
fn check_time_cursor<T, E>(req: &PageRequest, parse_id: fn(&'static str, &str) -> Result<T, E>) -> StoreResult<()> {
    let Some(cursor) = &req.after else { return Ok(()) };
    let (_, id) = order::parse_time_id(&cursor.sort).ok_or(StoreError::InvalidCursor)?;
    parse_id("cursor", id).map(|_| ()).map_err(|_| StoreError::InvalidCursor)
}

fn sorted<T>(mut items: Vec<(String, T)>, descending: bool) -> Vec<(String, T)> {
    items.sort_by(|a, b| if descending { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
    items
}

#[async_trait]
impl Store for MemoryStore {
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
    ) -> StoreResult<(Option<Membership>, Option<Invitation>)> {
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
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        })
    }

    async fn create_invitation(&self, invitation: &Invitation, now: Timestamp) -> StoreResult<()> {
        self.write(|s| {
            if s.invitations.contains_key(&invitation.id) {
                return Err(StoreError::Conflict);
            }
            take_lock(s, invitation, now)?;
            s.invitations.insert(invitation.id, invitation.clone());
            Ok(())
        })?;
        self.announce(invitation);
        Ok(())
    }

    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<Invitation>> {
        self.read(|s| s.invitations.get(&id).cloned())
    }

    async fn list_community_invitations(
        &self,
        community: CommunityId,
        req: &PageRequest,
    ) -> StoreResult<Page<Invitation>> {
        check_time_cursor(req, InvitationId::parse)?;
        self.read(|s| {
            let items = s
                .invitations
                .values()
                .filter(|i| i.community_id == community && !i.is_deleted())
                .map(|i| (order::invitation(i), i.clone()))
                .collect();
            page(sorted(items, true), true, req)
        })
    }

    async fn list_accepted_invitations(&self, tenant: &TenantId, req: &PageRequest) -> StoreResult<Page<Invitation>> {
        check_time_cursor(req, InvitationId::parse)?;
        self.read(|s| {
            let items = s
                .invitations
                .values()
                .filter(|i| i.state == StoredState::Accepted && i.invited_tenant.as_ref() == Some(tenant))
                .map(|i| (order::invitation(i), i.clone()))
                .collect();
            page(sorted(items, true), true, req)
        })
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
            s.invitations.insert(inv.id, inv.clone());
            Ok(())
        })?;
        self.announce(&t.invitation);
        Ok(())
    }

    async fn claim_delivery(&self, id: InvitationId, seq: u64, now: Timestamp) -> StoreResult<Option<Invitation>> {
        self.write(|s| {
            let Some(inv) = s.invitations.get_mut(&id) else { return Ok(None) };
            let Some(delivery) = inv.delivery.as_mut().filter(|d| d.claimable(seq, now)) else { return Ok(None) };
            delivery.claim(now);
            inv.version += 1;
            Ok(Some(inv.clone()))
        })
    }

    async fn finish_delivery(
        &self,
        id: InvitationId,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            let inv = s.invitations.get_mut(&id).ok_or(StoreError::Conflict)?;
            let delivery = inv
                .delivery
                .as_mut()
                .filter(|d| d.seq == seq && d.state == DeliveryState::Sending)
                .ok_or(StoreError::Conflict)?;
            delivery.finish(outcome, now);
            inv.version += 1;
            Ok(())
        })
    }
}

impl MemoryStore {
    /// Calls `listener` with every invitation written with a pending delivery, after the write is kept: the local
    /// server's stand-in for the DynamoDB stream and its filter.
    pub fn on_pending_delivery(&self, listener: impl Fn(&Invitation) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(Box::new(listener));
        }
    }

    /// Calls the listener with every invitation whose delivery is still pending: what a previous run wrote but did
    /// not get to send. The stream keeps such records for a day; the local server asks for them when it starts.
    pub fn announce_pending(&self) {
        let pending: Vec<Invitation> = match self.state.lock() {
            Ok(state) => state.invitations.values().filter(|i| is_pending(i)).cloned().collect(),
            Err(_) => return,
        };
        for invitation in &pending {
            self.announce(invitation);
        }
    }

    fn announce(&self, invitation: &Invitation) {
        if is_pending(invitation)
            && let Ok(slot) = self.listener.lock()
            && let Some(listener) = slot.as_ref()
        {
            listener(invitation);
        }
    }
}

fn is_pending(invitation: &Invitation) -> bool {
    invitation.delivery.as_ref().is_some_and(|d| d.state == DeliveryState::Pending)
}

/// Takes the (community, recipient) lock for `invitation` if it is free, stale at `now`, or already its own.
fn take_lock(s: &mut State, invitation: &Invitation, now: Timestamp) -> StoreResult<()> {
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
