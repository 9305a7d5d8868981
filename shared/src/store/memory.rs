//! The embedded store for the local server: everything in memory behind one lock, saved to a JSON file after each
//! change when a path is given, so a restart keeps what was created. It honours the same conditions as DynamoDB.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{CommunityStore, IdempotencyStore, OutboxStore, PortalStore, UserInvitationStore};
use super::{
    Cursor, MAX_BATCH_READ, MAX_PORTAL_LIST, Page, PageRequest, StoreError, StoreResult, UserInvitationFilter, order,
};
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant, PortalId,
};
use crate::domain::{
    Claimed, Community, CommunityId, CountChange, DailyCounter, Delivery, DeliveryOutcome, DeliveryState,
    IdempotencyRecord, Invitation, InvitationId, LockEffect, MailItem, MemberStatus, Membership, MembershipEffect,
    StoredState, TenantId, Timestamp, Transition, UserInvitation, UserSettings, UserTransition,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    communities: BTreeMap<CommunityId, Community>,
    /// Keyed by (community, tenant).
    members: BTreeMap<String, Membership>,
    invitations: BTreeMap<InvitationId, Invitation>,
    /// (community, recipient key) -> the invitation holding the one-pending-invitation lock, and until when.
    locks: BTreeMap<String, Lock>,
    /// Tenant -> its user settings and their version.
    #[serde(default)]
    user_settings: BTreeMap<String, (UserSettings, u64)>,
    /// (tenant, UTC day) -> emails counted; (tenant, UTC day, recipient hash) -> emails to that address.
    #[serde(default)]
    day_counts: BTreeMap<String, u32>,
    #[serde(default)]
    user_invitations: BTreeMap<InvitationId, UserInvitation>,
    /// (tenant, recipient key) -> the platform invitation pending for that address.
    #[serde(default)]
    user_locks: BTreeMap<String, Lock>,
    /// Scope -> the idempotency record.
    #[serde(default)]
    idempotency: BTreeMap<String, IdempotencyRecord>,
    #[serde(default)]
    collaborations: BTreeMap<CollaborationId, Collaboration>,
    #[serde(default)]
    collaboration_invitations: BTreeMap<CollaborationInvitationId, CollaborationInvitation>,
    /// (collaboration, portal) -> the participant.
    #[serde(default)]
    participants: BTreeMap<String, Participant>,
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

/// Told of each invitation written with a pending delivery, and that delivery's sequence number.
type Listener = Box<dyn Fn(MailItem, u64) + Send + Sync>;

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
        let mut guard = self.state.lock().map_err(|_| StoreError::Corrupt("store lock poisoned".into()))?;
        let mut next = guard.clone();
        let out = change(&mut next)?;
        if let Some(file) = &self.file {
            save(file, &next).map_err(|e| StoreError::Unavailable(format!("saving {}: {e}", file.display())))?;
        }
        *guard = next;
        Ok(out)
    }

    fn read<T>(&self, read: impl FnOnce(&State) -> T) -> StoreResult<T> {
        let guard = self.state.lock().map_err(|_| StoreError::Corrupt("store lock poisoned".into()))?;
        Ok(read(&guard))
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes the whole state to a temporary file, readable by its owner only (it holds every address and invitation
/// of the data folder), flushed to disk, then renamed over the store: a crash leaves the old file or the new one.
fn save(file: &Path, state: &State) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = file.with_extension("tmp");
    let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&tmp)?;
    // A file left by an earlier version keeps its mode through `open`: narrow it explicitly.
    #[cfg(unix)]
    out.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    out.write_all(&bytes)?;
    out.sync_all()?;
    std::fs::rename(tmp, file)
}

fn member_key(community: CommunityId, tenant: &TenantId) -> String {
    format!("{community}/{tenant}")
}

fn lock_key(invitation: &Invitation) -> String {
    format!("{}/{}", invitation.community_id, invitation.recipient.key())
}

fn user_lock_key(invitation: &UserInvitation) -> String {
    format!("{}/{}", invitation.tenant, invitation.recipient.key())
}

/// The key of a daily count: the tenant's emails keep the key the day's invitation count always had, so a store
/// file written before recipients were counted keeps its day's count.
/// The key of a tenant's count on `day`: the embedded SQLite store keys its rows alike, so that a `store.json`
/// imports into it as it is.
pub(crate) fn day_key(tenant: &TenantId, counter: &DailyCounter, day: &str) -> String {
    match counter {
        DailyCounter::Emails => format!("{tenant}/{day}"),
        DailyCounter::Recipient(hash) => format!("{tenant}/{day}/{}", hash.as_str()),
    }
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
                count(s, community, CountChange { open_invitations: 0, members: -1 })
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
            count(s, invitation.community_id, CountChange { open_invitations: 1, members: 0 })?;
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

#[async_trait]
impl OutboxStore for MemoryStore {
    async fn claim_delivery(&self, item: MailItem, seq: u64, now: Timestamp) -> StoreResult<Option<Claimed>> {
        self.write(|s| {
            let Some(mut claimed) = s.mail_item(item) else { return Ok(None) };
            if !claimed.claim(seq, now) {
                return Ok(None);
            }
            s.put_mail_item(&claimed);
            Ok(Some(claimed))
        })
    }

    async fn finish_delivery(
        &self,
        item: MailItem,
        seq: u64,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            let mut claimed = s.mail_item(item).ok_or(StoreError::Conflict)?;
            if !claimed.finish(seq, outcome, now) {
                return Err(StoreError::Conflict);
            }
            s.put_mail_item(&claimed);
            Ok(())
        })
    }

    async fn owed_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<(MailItem, u64)>> {
        self.read(|s| crate::domain::sweep_order(s.mail_items(), now, limit))
    }
}

#[async_trait]
impl UserInvitationStore for MemoryStore {
    async fn get_user_settings(&self, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>> {
        self.read(|s| s.user_settings.get(tenant.as_str()).cloned())
    }

    async fn put_user_settings(
        &self,
        tenant: &TenantId,
        settings: &UserSettings,
        expected: Option<u64>,
    ) -> StoreResult<()> {
        self.write(|s| {
            let current = s.user_settings.get(tenant.as_str()).map(|(_, v)| *v);
            if current != expected {
                return Err(StoreError::Conflict);
            }
            s.user_settings.insert(tenant.to_string(), (settings.clone(), expected.unwrap_or(0) + 1));
            Ok(())
        })
    }

    async fn reserve_count(
        &self,
        tenant: &TenantId,
        counter: &DailyCounter,
        day: &str,
        count: u32,
        max: u32,
        _until: Timestamp,
    ) -> StoreResult<()> {
        self.write(|s| {
            let used = s.day_counts.entry(day_key(tenant, counter, day)).or_insert(0);
            if used.saturating_add(count) > max {
                return Err(StoreError::LimitReached { used: *used });
            }
            *used += count;
            Ok(())
        })
    }

    async fn release_count(&self, tenant: &TenantId, counter: &DailyCounter, day: &str, count: u32) -> StoreResult<()> {
        self.write(|s| {
            if let Some(used) = s.day_counts.get_mut(&day_key(tenant, counter, day)) {
                *used = used.saturating_sub(count);
            }
            Ok(())
        })
    }

    async fn create_user_invitations(&self, invitations: &[UserInvitation], now: Timestamp) -> StoreResult<()> {
        self.write(|s| {
            let held: Vec<_> = invitations
                .iter()
                .filter(|i| {
                    s.user_locks.get(&user_lock_key(i)).is_some_and(|l| l.invitation != i.id && l.expires > now)
                })
                .map(|i| i.recipient.clone())
                .collect();
            if !held.is_empty() {
                return Err(StoreError::PendingRecipients(held));
            }
            for i in invitations {
                if s.user_invitations.contains_key(&i.id) {
                    return Err(StoreError::Conflict);
                }
                s.user_locks.insert(user_lock_key(i), Lock { invitation: i.id, expires: i.expires });
                s.user_invitations.insert(i.id, i.clone());
            }
            Ok(())
        })?;
        for i in invitations {
            self.announce_user(i);
        }
        Ok(())
    }

    async fn get_user_invitation(&self, id: InvitationId) -> StoreResult<Option<UserInvitation>> {
        self.read(|s| s.user_invitations.get(&id).cloned())
    }

    async fn list_user_invitations(
        &self,
        tenant: &TenantId,
        filter: &UserInvitationFilter,
        req: &PageRequest,
    ) -> StoreResult<Page<UserInvitation>> {
        check_time_cursor(req, InvitationId::parse)?;
        self.read(|s| {
            let items = s
                .user_invitations
                .values()
                .filter(|i| &i.tenant == tenant && filter.keeps(i))
                .map(|i| (order::user_invitation(i), i.clone()))
                .collect();
            page(sorted(items, true), true, req)
        })
    }

    async fn apply_user_invitation(&self, t: &UserTransition) -> StoreResult<()> {
        self.write(|s| {
            let inv = &t.invitation;
            let current = s.user_invitations.get(&inv.id).ok_or(StoreError::Conflict)?;
            let live = !t.require_live || current.expires > t.at;
            if current.version != t.expected_version || !live {
                return Err(StoreError::Conflict);
            }
            let key = user_lock_key(inv);
            match t.lock {
                LockEffect::None => {}
                LockEffect::Take => match s.user_locks.get(&key) {
                    Some(lock) if lock.invitation != inv.id && lock.expires > t.at => {
                        return Err(StoreError::PendingInvitation(lock.invitation));
                    }
                    _ => {
                        s.user_locks.insert(key, Lock { invitation: inv.id, expires: inv.expires });
                    }
                },
                LockEffect::Release => match s.user_locks.get(&key) {
                    Some(lock) if lock.invitation == inv.id => {
                        s.user_locks.remove(&key);
                    }
                    _ => return Err(StoreError::Conflict),
                },
            }
            s.user_invitations.insert(inv.id, inv.clone());
            Ok(())
        })?;
        self.announce_user(&t.invitation);
        Ok(())
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim_idempotency(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.write(|s| match s.idempotency.get(&record.scope) {
            Some(existing) if !existing.replaceable(now) => Ok(Some(existing.clone())),
            _ => {
                s.idempotency.insert(record.scope.clone(), record.clone());
                Ok(None)
            }
        })
    }

    async fn answer_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        self.write(|s| match s.idempotency.get(&record.scope) {
            Some(existing) if existing.claimed == record.claimed && existing.answer.is_none() => {
                s.idempotency.insert(record.scope.clone(), record.clone());
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        })
    }

    async fn release_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        self.write(|s| {
            if s.idempotency.get(&record.scope).is_some_and(|e| e.claimed == record.claimed && e.answer.is_none()) {
                s.idempotency.remove(&record.scope);
            }
            Ok(())
        })
    }
}

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

    async fn remove_participant(&self, collaboration: CollaborationId, portal: &PortalId) -> StoreResult<()> {
        self.write(|s| {
            s.participants.remove(&participant_key(collaboration, portal)).map(|_| ()).ok_or(StoreError::Conflict)
        })
    }

    async fn leave_collaboration(
        &self,
        collaboration: &Collaboration,
        participants: &[Participant],
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

impl MemoryStore {
    /// Calls `listener` with every invitation written with a pending delivery, after the write is kept: the local
    /// server's stand-in for the DynamoDB stream and its filter.
    pub fn on_pending_delivery(&self, listener: impl Fn(MailItem, u64) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(Box::new(listener));
        }
    }

    /// Calls the listener with every delivery still owed at `now` ([`Delivery::owed`]), latest or earlier: pending
    /// (what a previous run wrote but did not get to send), failed with tries left, or claimed by a sender that
    /// died mid-send. The local server sweeps at start and every minute; the listener's claim decides, so an
    /// announcement of a delivery that is done meanwhile sends nothing. Answers how many were announced.
    pub fn announce_owed(&self, now: Timestamp) -> usize {
        let owed: Vec<(MailItem, u64)> = match self.state.lock() {
            Ok(state) => state
                .mail_items()
                .flat_map(|c| {
                    let item = c.item();
                    c.deliveries().filter(|d| d.owed(now)).map(|d| (item, d.seq)).collect::<Vec<_>>()
                })
                .collect(),
            Err(_) => return 0,
        };
        for (item, seq) in &owed {
            self.tell(*item, *seq);
        }
        owed.len()
    }

    /// Records every delivery still `sending` as failed, for a store just opened by the only process that uses it:
    /// whoever claimed those was a previous run of it, killed mid-send (`kill -9`), so the claims are dead now
    /// rather than in [`crate::domain::CLAIM_STALE_MINUTES`], and the start's sweep retries them at once. The
    /// outbox mailer keeps a retry from writing a message twice. Answers how many there were.
    pub fn fail_interrupted_sends(&self, now: Timestamp) -> StoreResult<usize> {
        self.write(|s| {
            let mut count = 0;
            let all: Vec<Claimed> = s.mail_items().collect();
            for mut claimed in all {
                let failed = claimed.fail_interrupted(now);
                if failed > 0 {
                    count += failed;
                    s.put_mail_item(&claimed);
                }
            }
            Ok(count)
        })
    }

    fn announce(&self, invitation: &Invitation) {
        if let Some((item, seq)) = pending(MailItem::Community(invitation.id), &invitation.delivery) {
            self.tell(item, seq);
        }
    }

    fn announce_user(&self, invitation: &UserInvitation) {
        if let Some((item, seq)) = pending(MailItem::Platform(invitation.id), &invitation.delivery) {
            self.tell(item, seq);
        }
    }

    fn tell(&self, item: MailItem, seq: u64) {
        if let Ok(slot) = self.listener.lock()
            && let Some(listener) = slot.as_ref()
        {
            listener(item, seq);
        }
    }
}

/// The delivery to announce for `item`, if it is pending (the stream filter's rule).
fn pending(item: MailItem, delivery: &Option<Delivery>) -> Option<(MailItem, u64)> {
    delivery.as_ref().filter(|d| d.state == DeliveryState::Pending).map(|d| (item, d.seq))
}

impl State {
    /// The invitation an email belongs to, as the outbox sees it.
    fn mail_item(&self, item: MailItem) -> Option<Claimed> {
        match item {
            MailItem::Community(id) => self.invitations.get(&id).cloned().map(Claimed::Community),
            MailItem::Platform(id) => self.user_invitations.get(&id).cloned().map(Claimed::Platform),
        }
    }

    fn put_mail_item(&mut self, claimed: &Claimed) {
        match claimed {
            Claimed::Community(i) => {
                self.invitations.insert(i.id, i.clone());
            }
            Claimed::Platform(i) => {
                self.user_invitations.insert(i.id, i.clone());
            }
        }
    }

    /// Every invitation of either kind, as the outbox sees it.
    fn mail_items(&self) -> impl Iterator<Item = Claimed> + '_ {
        let community = self.invitations.values().cloned().map(Claimed::Community);
        community.chain(self.user_invitations.values().cloned().map(Claimed::Platform))
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

/// Everything a store file holds, item by item, with the composite keys as the file keys them: how
/// [`super::sqlite::SqliteStore`] imports a `store.json` left by an earlier version, read by this module's own
/// loader so the two can never disagree on the format.
#[cfg(feature = "sqlite")]
pub(crate) struct Contents {
    pub communities: Vec<Community>,
    pub members: Vec<Membership>,
    pub invitations: Vec<Invitation>,
    /// (community, recipient key) as `<community>/<key>`, the holder and until when.
    pub locks: Vec<(String, InvitationId, Timestamp)>,
    pub user_settings: Vec<(String, UserSettings, u64)>,
    /// (tenant, UTC day) as `<tenant>/<day>`, and the count.
    pub day_counts: Vec<(String, u32)>,
    pub user_invitations: Vec<UserInvitation>,
    /// (tenant, recipient key) as `<tenant>/<key>`, the holder and until when.
    pub user_locks: Vec<(String, InvitationId, Timestamp)>,
    pub idempotency: Vec<IdempotencyRecord>,
    pub collaborations: Vec<Collaboration>,
    pub collaboration_invitations: Vec<CollaborationInvitation>,
    pub participants: Vec<Participant>,
}

#[cfg(feature = "sqlite")]
impl MemoryStore {
    /// A copy of everything the store holds (see [`Contents`]).
    pub(crate) fn contents(&self) -> StoreResult<Contents> {
        let locks = |l: &BTreeMap<String, Lock>| l.iter().map(|(k, l)| (k.clone(), l.invitation, l.expires)).collect();
        self.read(|s| Contents {
            communities: s.communities.values().cloned().collect(),
            members: s.members.values().cloned().collect(),
            invitations: s.invitations.values().cloned().collect(),
            locks: locks(&s.locks),
            user_settings: s.user_settings.iter().map(|(t, (u, v))| (t.clone(), u.clone(), *v)).collect(),
            day_counts: s.day_counts.iter().map(|(k, n)| (k.clone(), *n)).collect(),
            user_invitations: s.user_invitations.values().cloned().collect(),
            user_locks: locks(&s.user_locks),
            idempotency: s.idempotency.values().cloned().collect(),
            collaborations: s.collaborations.values().cloned().collect(),
            collaboration_invitations: s.collaboration_invitations.values().cloned().collect(),
            participants: s.participants.values().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_store_file_is_its_owners_alone_even_over_an_earlier_looser_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("rsvp-memory-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("store.json");
        // What an earlier version left: a world-readable store and temporary file.
        std::fs::write(&file, b"{}").unwrap();
        std::fs::write(file.with_extension("tmp"), b"{}").unwrap();
        for path in [file.clone(), file.with_extension("tmp")] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        save(&file, &State::default()).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "store.json is mode {mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
