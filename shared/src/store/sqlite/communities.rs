//! Communities, their memberships and their invitations, with the (community, recipient) locks and the
//! community's counters: the same checks as [`crate::store::memory`], in one transaction.

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::SqliteStore;
use super::rows::{self, Locks, all, bound, check_member_cursor, check_time_cursor, json, one, sql};
use crate::domain::Lifetime as _;
use crate::domain::{
    Community, CommunityId, CommunityInvitation, CountChange, InvitationId, LockEffect, MailItem, MemberStatus,
    Membership, MembershipEffect, StoredState, TenantId, Timestamp, Transition,
};
use crate::store::{CommunityStore, MAX_BATCH_READ, Page, PageRequest, StoreError, StoreResult, order};

#[async_trait]
impl CommunityStore for SqliteStore {
    async fn create_community(&self, community: &Community, owner: &Membership) -> StoreResult<()> {
        let (community, owner) = (community.clone(), owner.clone());
        self.write(move |tx| create(tx, &community, &owner)).await
    }

    async fn get_community(&self, id: CommunityId) -> StoreResult<Option<Community>> {
        self.read(move |tx| get(tx, id)).await
    }

    async fn get_communities(&self, ids: &[CommunityId]) -> StoreResult<Vec<Community>> {
        let ids = ids.to_vec();
        self.read(move |tx| get_many(tx, &ids)).await
    }

    async fn update_community(&self, community: &Community) -> StoreResult<()> {
        let community = community.clone();
        self.write(move |tx| update(tx, &community)).await
    }

    async fn delete_community(&self, community: &Community) -> StoreResult<()> {
        let community = community.clone();
        self.write(move |tx| delete(tx, &community)).await
    }

    async fn get_membership(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<Option<Membership>> {
        let tenant = tenant.clone();
        self.read(move |tx| membership(tx, community, &tenant)).await
    }

    async fn get_membership_and_community(
        &self,
        community: CommunityId,
        tenant: &TenantId,
    ) -> StoreResult<(Option<Membership>, Option<Community>)> {
        let tenant = tenant.clone();
        self.read(move |tx| Ok((membership(tx, community, &tenant)?, get(tx, community)?))).await
    }

    async fn get_membership_and_invitation(
        &self,
        community: CommunityId,
        tenant: &TenantId,
        id: InvitationId,
    ) -> StoreResult<(Option<Membership>, Option<CommunityInvitation>)> {
        let tenant = tenant.clone();
        self.read(move |tx| Ok((membership(tx, community, &tenant)?, invitation(tx, id)?))).await
    }

    async fn get_community_with_members(
        &self,
        community: CommunityId,
        count: u32,
    ) -> StoreResult<(Option<Community>, Page<Membership>)> {
        let first = PageRequest { skip: 0, count, after: None };
        self.read(move |tx| Ok((get(tx, community)?, members(tx, community, &first)?))).await
    }

    async fn list_members(&self, community: CommunityId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        let req = req.clone();
        self.read(move |tx| members(tx, community, &req)).await
    }

    async fn list_tenant_communities(&self, tenant: &TenantId, req: &PageRequest) -> StoreResult<Page<Membership>> {
        let (tenant, req) = (tenant.clone(), req.clone());
        self.read(move |tx| tenant_communities(tx, &tenant, &req)).await
    }

    async fn remove_member(&self, community: CommunityId, tenant: &TenantId) -> StoreResult<()> {
        let tenant = tenant.clone();
        self.write(move |tx| remove_member(tx, community, &tenant)).await
    }

    async fn create_invitation(&self, invitation: &CommunityInvitation, now: Timestamp) -> StoreResult<()> {
        let owned = invitation.clone();
        self.write(move |tx| create_invitation(tx, &owned, now)).await?;
        self.tell(rows::pending(MailItem::Community(invitation.id), &invitation.delivery));
        Ok(())
    }

    async fn get_invitation(&self, id: InvitationId) -> StoreResult<Option<CommunityInvitation>> {
        self.read(move |tx| invitation(tx, id)).await
    }

    async fn list_community_invitations(
        &self,
        community: CommunityId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
        let req = req.clone();
        self.read(move |tx| community_invitations(tx, community, &req)).await
    }

    async fn list_accepted_invitations(
        &self,
        tenant: &TenantId,
        req: &PageRequest,
    ) -> StoreResult<Page<CommunityInvitation>> {
        let (tenant, req) = (tenant.clone(), req.clone());
        self.read(move |tx| accepted_invitations(tx, &tenant, &req)).await
    }

    async fn apply(&self, t: &Transition) -> StoreResult<()> {
        let change = Change::of(t);
        self.write(move |tx| apply(tx, &change)).await?;
        self.tell(rows::pending(MailItem::Community(t.invitation.id), &t.invitation.delivery));
        Ok(())
    }
}

/// What [`apply`] needs of a [`Transition`], owned so it can move to the blocking pool (the transition itself
/// carries the new secret, which is not for copying around).
pub(super) struct Change {
    invitation: CommunityInvitation,
    expected_version: u64,
    at: Timestamp,
    require_live: bool,
    lock: LockEffect,
    membership: MembershipEffect,
    counts: CountChange,
}

impl Change {
    pub(super) fn of(t: &Transition) -> Self {
        Self {
            invitation: t.invitation.clone(),
            expected_version: t.expected_version,
            at: t.at,
            require_live: t.require_live,
            lock: t.lock.clone(),
            membership: t.membership.clone(),
            counts: t.counts,
        }
    }
}

/// The list queries, each along its index in the list's order from a keyset bound (see [`rows::page`]).
pub(super) const MEMBERS: &str = "SELECT item FROM memberships WHERE community = ?1 AND tenant > ?2 ORDER BY tenant";
pub(super) const TENANT_COMMUNITIES: &str = "SELECT item FROM memberships \
     WHERE tenant = ?1 AND active_sort IS NOT NULL AND active_sort < ?2 ORDER BY active_sort DESC";
pub(super) const COMMUNITY_INVITATIONS: &str =
    "SELECT item FROM invitations WHERE community = ?1 AND listed = 1 AND sort < ?2 ORDER BY sort DESC";
pub(super) const ACCEPTED_INVITATIONS: &str =
    "SELECT item FROM invitations WHERE accepted_by = ?1 AND sort < ?2 ORDER BY sort DESC";

/// The sweep's read: invitations whose delivery is neither sent nor cancelled, along their partial index.
pub(super) const OWED: &str = "SELECT item FROM invitations WHERE owed = 1";

/// The sweep's other read: invitations whose expiry is due to be recorded, along their partial index.
pub(super) const EXPIRING: &str =
    "SELECT item FROM invitations WHERE expiring IS NOT NULL AND expiring <= ?1 ORDER BY expiring LIMIT ?2";

pub(super) fn lock_scope(invitation: &CommunityInvitation) -> String {
    format!("{}/{}", invitation.community_id, invitation.recipient.key())
}

pub(super) fn get(tx: &Transaction<'_>, id: CommunityId) -> StoreResult<Option<Community>> {
    one(tx, "SELECT item FROM communities WHERE id = ?1", [id.to_string()])
}

pub(super) fn put(tx: &Transaction<'_>, community: &Community) -> StoreResult<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO communities (id, item) VALUES (?1, ?2)")
        .map_err(sql)?
        .execute(params![community.id.to_string(), json(community)?])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn create(tx: &Transaction<'_>, community: &Community, owner: &Membership) -> StoreResult<()> {
    if get(tx, community.id)?.is_some() {
        return Err(StoreError::Conflict);
    }
    put(tx, community)?;
    put_membership(tx, owner)
}

pub(super) fn get_many(tx: &Transaction<'_>, ids: &[CommunityId]) -> StoreResult<Vec<Community>> {
    let mut found = Vec::new();
    for id in ids.iter().take(MAX_BATCH_READ) {
        found.extend(get(tx, *id)?);
    }
    Ok(found)
}

/// Saves name, description and contact email over the stored community (whose counters stay as stored).
pub(super) fn update(tx: &Transaction<'_>, community: &Community) -> StoreResult<()> {
    let mut stored = get(tx, community.id)?.ok_or(StoreError::Conflict)?;
    stored.name = community.name.clone();
    stored.description = community.description.clone();
    stored.contact_email = community.contact_email.clone();
    stored.accept_from = community.accept_from;
    put(tx, &stored)
}

pub(super) fn delete(tx: &Transaction<'_>, community: &Community) -> StoreResult<()> {
    match get(tx, community.id)? {
        Some(c) if c.open_invitations == 0 && c.members <= 1 => {}
        _ => return Err(StoreError::Conflict),
    }
    let id = community.id.to_string();
    let others: Option<i64> = rusqlite::OptionalExtension::optional(
        tx.prepare_cached("SELECT 1 FROM memberships WHERE community = ?1 AND tenant <> ?2 LIMIT 1")
            .map_err(sql)?
            .query_row(params![id, community.owner.as_str()], |r| r.get(0)),
    )
    .map_err(sql)?;
    if others.is_some() {
        return Err(StoreError::Conflict);
    }
    tx.execute("DELETE FROM communities WHERE id = ?1", [&id]).map_err(sql)?;
    tx.execute("DELETE FROM memberships WHERE community = ?1 AND tenant = ?2", params![id, community.owner.as_str()])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn membership(
    tx: &Transaction<'_>,
    community: CommunityId,
    tenant: &TenantId,
) -> StoreResult<Option<Membership>> {
    one(
        tx,
        "SELECT item FROM memberships WHERE community = ?1 AND tenant = ?2",
        params![community.to_string(), tenant.as_str()],
    )
}

/// Writes a membership with its key columns (in the tenant's list only while Active).
pub(super) fn put_membership(tx: &Transaction<'_>, m: &Membership) -> StoreResult<()> {
    let active_sort = m.is_active().then(|| order::membership_of_tenant(m));
    tx.prepare_cached(
        "INSERT OR REPLACE INTO memberships (community, tenant, active_sort, item) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql)?
    .execute(params![m.community_id.to_string(), m.tenant.as_str(), active_sort, json(m)?])
    .map_err(sql)?;
    Ok(())
}

fn delete_membership(tx: &Transaction<'_>, community: CommunityId, tenant: &TenantId) -> StoreResult<()> {
    tx.prepare_cached("DELETE FROM memberships WHERE community = ?1 AND tenant = ?2")
        .map_err(sql)?
        .execute(params![community.to_string(), tenant.as_str()])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn members(
    tx: &Transaction<'_>,
    community: CommunityId,
    req: &PageRequest,
) -> StoreResult<Page<Membership>> {
    check_member_cursor(req)?;
    let args = params![community.to_string(), bound(req, false)];
    rows::page(tx, MEMBERS, args, req, order::member_of_community, |_| true)
}

pub(super) fn tenant_communities(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    req: &PageRequest,
) -> StoreResult<Page<Membership>> {
    check_time_cursor(req, CommunityId::parse)?;
    let args = params![tenant.as_str(), bound(req, true)];
    rows::page(tx, TENANT_COMMUNITIES, args, req, order::membership_of_tenant, |_| true)
}

pub(super) fn remove_member(tx: &Transaction<'_>, community: CommunityId, tenant: &TenantId) -> StoreResult<()> {
    match membership(tx, community, tenant)? {
        Some(m) if !m.is_owner && m.is_active() => {
            delete_membership(tx, community, tenant)?;
            count(tx, community, CountChange { open_invitations: 0, members: -1 })
        }
        _ => Err(StoreError::Conflict),
    }
}

/// Moves the community's counters by `change`; [`StoreError::Conflict`] if the community is gone.
fn count(tx: &Transaction<'_>, community: CommunityId, change: CountChange) -> StoreResult<()> {
    let mut c = get(tx, community)?.ok_or(StoreError::Conflict)?;
    let moved = |value: u32, by: i64| u32::try_from((i64::from(value) + by).max(0)).unwrap_or(u32::MAX);
    c.open_invitations = moved(c.open_invitations, change.open_invitations);
    c.members = moved(c.members, change.members);
    put(tx, &c)
}

pub(super) fn invitation(tx: &Transaction<'_>, id: InvitationId) -> StoreResult<Option<CommunityInvitation>> {
    one(tx, "SELECT item FROM invitations WHERE id = ?1", [id.to_string()])
}

/// Writes an invitation and keeps the events the change raises ([`super::events`]).
pub(super) fn put_invitation(tx: &Transaction<'_>, i: &CommunityInvitation) -> StoreResult<()> {
    let old = invitation(tx, i.id)?;
    super::events::record(tx, &crate::domain::event::of_invitation(old.as_ref(), i))?;
    write_invitation(tx, i)
}

/// Writes an invitation with its key columns: in its community's list unless deleted, in the invited tenant's
/// accepted list while Accepted, in the sweep while its delivery is owed. Raises no events (an import).
pub(super) fn write_invitation(tx: &Transaction<'_>, i: &CommunityInvitation) -> StoreResult<()> {
    let accepted_by = match (i.state, &i.invited_tenant) {
        (StoredState::Accepted, Some(tenant)) => Some(tenant.as_str()),
        _ => None,
    };
    tx.prepare_cached(
        "INSERT OR REPLACE INTO invitations (id, community, sort, listed, accepted_by, owed, expiring, item) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sql)?
    .execute(params![
        i.id.to_string(),
        i.community_id.to_string(),
        order::invitation(i),
        !i.is_deleted(),
        accepted_by,
        rows::owed_column(&i.delivery, &i.earlier_deliveries),
        i.expiry_due().map(Timestamp::millis),
        json(i)?,
    ])
    .map_err(sql)?;
    Ok(())
}

pub(super) fn create_invitation(
    tx: &Transaction<'_>,
    invitation: &CommunityInvitation,
    now: Timestamp,
) -> StoreResult<()> {
    if self::invitation(tx, invitation.id)?.is_some() {
        return Err(StoreError::Conflict);
    }
    Locks::Community.take(tx, &lock_scope(invitation), invitation.id, invitation.expires, now)?;
    count(tx, invitation.community_id, CountChange { open_invitations: 1, members: 0 })?;
    put_invitation(tx, invitation)
}

pub(super) fn community_invitations(
    tx: &Transaction<'_>,
    community: CommunityId,
    req: &PageRequest,
) -> StoreResult<Page<CommunityInvitation>> {
    check_time_cursor(req, InvitationId::parse)?;
    let args = params![community.to_string(), bound(req, true)];
    rows::page(tx, COMMUNITY_INVITATIONS, args, req, order::invitation, |_| true)
}

pub(super) fn accepted_invitations(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    req: &PageRequest,
) -> StoreResult<Page<CommunityInvitation>> {
    check_time_cursor(req, InvitationId::parse)?;
    let args = params![tenant.as_str(), bound(req, true)];
    rows::page(tx, ACCEPTED_INVITATIONS, args, req, order::invitation, |_| true)
}

/// Applies a decided change: only over the version read (and unexpired at its time when it must be), with its
/// lock, membership and counter effects, all or nothing.
pub(super) fn apply(tx: &Transaction<'_>, t: &Change) -> StoreResult<()> {
    let inv = &t.invitation;
    let current = invitation(tx, inv.id)?.ok_or(StoreError::Conflict)?;
    let live = !t.require_live || current.expires > t.at;
    if current.version != t.expected_version || !live {
        return Err(StoreError::Conflict);
    }
    Locks::Community.apply(tx, &t.lock, &lock_scope(inv), inv.id, inv.expires, t.at)?;
    match &t.membership {
        MembershipEffect::None => {}
        MembershipEffect::Join(m) => {
            if membership(tx, m.community_id, &m.tenant)?.is_some() {
                return Err(StoreError::AlreadyMember);
            }
            put_membership(tx, m)?;
        }
        MembershipEffect::Activate { tenant } => match membership(tx, inv.community_id, tenant)? {
            Some(mut m) if m.status == MemberStatus::AwaitingConfirmation => {
                m.status = MemberStatus::Active;
                put_membership(tx, &m)?;
            }
            _ => return Err(StoreError::Conflict),
        },
        MembershipEffect::Remove { tenant } => match membership(tx, inv.community_id, tenant)? {
            Some(m) if m.status == MemberStatus::AwaitingConfirmation => {
                delete_membership(tx, inv.community_id, tenant)?;
            }
            _ => return Err(StoreError::Conflict),
        },
    }
    if !t.counts.is_none() {
        count(tx, inv.community_id, t.counts)?;
    }
    put_invitation(tx, inv)
}

/// Every invitation with a delivery the sweep must look at.
pub(super) fn owed(tx: &Transaction<'_>) -> StoreResult<Vec<CommunityInvitation>> {
    all(tx, OWED, [])
}
