//! Platform users (settings, the day's count, invitations and their (tenant, recipient) locks) and idempotency
//! keys: the same checks as [`crate::store::memory`]. The delivery writes of both invitation kinds are `outbox`'s.

use async_trait::async_trait;
use rusqlite::{OptionalExtension as _, Transaction, params};

use super::SqliteStore;
use super::rows::{self, Locks, bound, check_time_cursor, json, one, sql};
use crate::domain::Lifetime as _;
use crate::domain::{
    DailyCounter, IdempotencyRecord, InvitationId, LockEffect, MailItem, TenantId, Timestamp, UserInvitation,
    UserSettings, UserTransition,
};
use crate::store::{
    IdempotencyStore, Page, PageRequest, StoreError, StoreResult, UserInvitationFilter, UserInvitationStore, order,
};

#[async_trait]
impl UserInvitationStore for SqliteStore {
    async fn get_user_settings(&self, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>> {
        let tenant = tenant.clone();
        self.read(move |tx| settings(tx, &tenant)).await
    }

    async fn put_user_settings(
        &self,
        tenant: &TenantId,
        settings: &UserSettings,
        expected: Option<u64>,
    ) -> StoreResult<()> {
        let (tenant, settings) = (tenant.clone(), settings.clone());
        self.write(move |tx| put_settings(tx, &tenant, &settings, expected)).await
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
        let (tenant, counter, day) = (tenant.clone(), counter.clone(), day.to_owned());
        self.write(move |tx| reserve(tx, &tenant, &counter, &day, count, max, until)).await
    }

    async fn release_count(&self, tenant: &TenantId, counter: &DailyCounter, day: &str, count: u32) -> StoreResult<()> {
        let (tenant, counter, day) = (tenant.clone(), counter.clone(), day.to_owned());
        self.write(move |tx| release(tx, &tenant, &counter, &day, count)).await
    }

    async fn create_user_invitations(&self, invitations: &[UserInvitation], now: Timestamp) -> StoreResult<()> {
        let owned = invitations.to_vec();
        self.write(move |tx| create_user_invitations(tx, &owned, now)).await?;
        self.tell(invitations.iter().filter_map(|i| rows::pending(MailItem::Platform(i.id), &i.delivery)));
        Ok(())
    }

    async fn get_user_invitation(&self, id: InvitationId) -> StoreResult<Option<UserInvitation>> {
        self.read(move |tx| user_invitation(tx, id)).await
    }

    async fn list_user_invitations(
        &self,
        tenant: &TenantId,
        filter: &UserInvitationFilter,
        req: &PageRequest,
    ) -> StoreResult<Page<UserInvitation>> {
        let (tenant, filter, req) = (tenant.clone(), filter.clone(), req.clone());
        self.read(move |tx| user_invitations(tx, &tenant, &filter, &req)).await
    }

    async fn apply_user_invitation(&self, t: &UserTransition) -> StoreResult<()> {
        let change = UserChange::of(t);
        self.write(move |tx| apply_user_invitation(tx, &change)).await?;
        self.tell(rows::pending(MailItem::Platform(t.invitation.id), &t.invitation.delivery));
        Ok(())
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_idempotency(
        &self,
        record: &IdempotencyRecord,
        now: Timestamp,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        let record = record.clone();
        self.write(move |tx| claim_idempotency(tx, &record, now)).await
    }

    async fn answer_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        let record = record.clone();
        self.write(move |tx| answer_idempotency(tx, &record)).await
    }

    async fn release_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<()> {
        let record = record.clone();
        self.write(move |tx| release_idempotency(tx, &record)).await
    }
}

/// What [`apply_user_invitation`] needs of a [`UserTransition`], owned so it can move to the blocking pool (the
/// transition itself carries the new code, which is not for copying around).
pub(super) struct UserChange {
    invitation: UserInvitation,
    expected_version: u64,
    at: Timestamp,
    require_live: bool,
    lock: LockEffect,
}

impl UserChange {
    pub(super) fn of(t: &UserTransition) -> Self {
        Self {
            invitation: t.invitation.clone(),
            expected_version: t.expected_version,
            at: t.at,
            require_live: t.require_live,
            lock: t.lock.clone(),
        }
    }
}

/// A tenant's platform invitations, and those one user of it sent, newest first (see [`rows::page`]).
pub(super) const USER_INVITATIONS: &str =
    "SELECT item FROM user_invitations WHERE tenant = ?1 AND sort < ?2 ORDER BY sort DESC";
pub(super) const USER_INVITATIONS_BY_SENDER: &str =
    "SELECT item FROM user_invitations WHERE tenant = ?1 AND inviter = ?2 AND sort < ?3 ORDER BY sort DESC";

/// The sweep's read of platform invitations, as [`communities::OWED`].
pub(super) const OWED: &str = "SELECT item FROM user_invitations WHERE owed = 1";

/// The sweep's read of platform invitations whose expiry is due, as [`communities::EXPIRING`].
pub(super) const EXPIRING: &str =
    "SELECT item FROM user_invitations WHERE expiring IS NOT NULL AND expiring <= ?1 ORDER BY expiring LIMIT ?2";

pub(super) fn lock_scope(invitation: &UserInvitation) -> String {
    format!("{}/{}", invitation.tenant, invitation.recipient.key())
}

/// The row of a tenant's count on `day`, keyed as the memory store keys it (so its file imports as it is).
fn day_scope(tenant: &TenantId, counter: &DailyCounter, day: &str) -> String {
    crate::store::memory::day_key(tenant, counter, day)
}

pub(super) fn settings(tx: &Transaction<'_>, tenant: &TenantId) -> StoreResult<Option<(UserSettings, u64)>> {
    let row: Option<(String, i64)> = tx
        .prepare_cached("SELECT item, version FROM user_settings WHERE tenant = ?1")
        .map_err(sql)?
        .query_row([tenant.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql)?;
    row.map(|(item, version)| Ok((rows::decode(&item)?, version_of(version)?))).transpose()
}

fn version_of(stored: i64) -> StoreResult<u64> {
    u64::try_from(stored).map_err(|_| StoreError::Corrupt(format!("version {stored}")))
}

fn sql_version(version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::Corrupt(format!("version {version} does not fit a column")))
}

pub(super) fn put_settings_row(
    tx: &Transaction<'_>,
    tenant: &str,
    settings: &UserSettings,
    version: u64,
) -> StoreResult<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO user_settings (tenant, version, item) VALUES (?1, ?2, ?3)")
        .map_err(sql)?
        .execute(params![tenant, sql_version(version)?, json(settings)?])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn put_settings(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    settings: &UserSettings,
    expected: Option<u64>,
) -> StoreResult<()> {
    if self::settings(tx, tenant)?.map(|(_, v)| v) != expected {
        return Err(StoreError::Conflict);
    }
    put_settings_row(tx, tenant.as_str(), settings, expected.unwrap_or(0) + 1)
}

fn day_count(tx: &Transaction<'_>, scope: &str) -> StoreResult<u32> {
    let used: Option<i64> = tx
        .prepare_cached("SELECT used FROM day_counts WHERE scope = ?1")
        .map_err(sql)?
        .query_row([scope], |r| r.get(0))
        .optional()
        .map_err(sql)?;
    u32::try_from(used.unwrap_or(0)).map_err(|_| StoreError::Corrupt(format!("day count of {scope}")))
}

pub(super) fn put_day_count(tx: &Transaction<'_>, scope: &str, used: u32, until: Option<Timestamp>) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO day_counts (scope, used, until) VALUES (?1, ?2, ?3) \
         ON CONFLICT (scope) DO UPDATE SET used = excluded.used, until = coalesce(excluded.until, until)",
    )
    .map_err(sql)?
    .execute(params![scope, used, until.map(Timestamp::millis)])
    .map_err(sql)?;
    Ok(())
}

/// Counts `count` more on the day only if its total stays at most `max`, in the write transaction that read it.
pub(super) fn reserve(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    counter: &DailyCounter,
    day: &str,
    count: u32,
    max: u32,
    until: Timestamp,
) -> StoreResult<()> {
    let scope = day_scope(tenant, counter, day);
    let used = day_count(tx, &scope)?;
    if used.saturating_add(count) > max {
        return Err(StoreError::LimitReached { used });
    }
    put_day_count(tx, &scope, used + count, Some(until))
}

/// Gives back `count` of the day's, never below zero; a day with nothing counted stays so.
pub(super) fn release(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    counter: &DailyCounter,
    day: &str,
    count: u32,
) -> StoreResult<()> {
    tx.prepare_cached("UPDATE day_counts SET used = max(used - ?2, 0) WHERE scope = ?1")
        .map_err(sql)?
        .execute(params![day_scope(tenant, counter, day), count])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn user_invitation(tx: &Transaction<'_>, id: InvitationId) -> StoreResult<Option<UserInvitation>> {
    one(tx, "SELECT item FROM user_invitations WHERE id = ?1", [id.to_string()])
}

/// Writes a platform invitation and keeps the events the change raises ([`super::events`]).
pub(super) fn put_user_invitation(tx: &Transaction<'_>, i: &UserInvitation) -> StoreResult<()> {
    let old = user_invitation(tx, i.id)?;
    super::events::record(tx, &crate::domain::event::of_user_invitation(old.as_ref(), i))?;
    write_user_invitation(tx, i)
}

/// Writes a platform invitation with its key columns (its tenant's and its sender's lists, the sweep's flag).
/// Raises no events (an import).
pub(super) fn write_user_invitation(tx: &Transaction<'_>, i: &UserInvitation) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO user_invitations (id, tenant, inviter, sort, owed, expiring, item) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(sql)?
    .execute(params![
        i.id.to_string(),
        i.tenant.as_str(),
        i.inviter.as_str(),
        order::user_invitation(i),
        rows::owed_column(&i.delivery, &i.earlier_deliveries),
        i.expiry_due().map(Timestamp::millis),
        json(i)?,
    ])
    .map_err(sql)?;
    Ok(())
}

pub(super) fn create_user_invitations(
    tx: &Transaction<'_>,
    invitations: &[UserInvitation],
    now: Timestamp,
) -> StoreResult<()> {
    let mut held = Vec::new();
    for i in invitations {
        if Locks::Platform.held_by_other(tx, &lock_scope(i), i.id, now)?.is_some() {
            held.push(i.recipient.clone());
        }
    }
    if !held.is_empty() {
        return Err(StoreError::PendingRecipients(held));
    }
    for i in invitations {
        if user_invitation(tx, i.id)?.is_some() {
            return Err(StoreError::Conflict);
        }
        Locks::Platform.put(tx, &lock_scope(i), i.id, i.expires)?;
        put_user_invitation(tx, i)?;
    }
    Ok(())
}

pub(super) fn user_invitations(
    tx: &Transaction<'_>,
    tenant: &TenantId,
    filter: &UserInvitationFilter,
    req: &PageRequest,
) -> StoreResult<Page<UserInvitation>> {
    check_time_cursor(req, InvitationId::parse)?;
    let keep = |i: &UserInvitation| filter.keeps(i);
    match &filter.inviter {
        Some(user) => {
            let args = params![tenant.as_str(), user.as_str(), bound(req, true)];
            rows::page(tx, USER_INVITATIONS_BY_SENDER, args, req, order::user_invitation, keep)
        }
        None => {
            let args = params![tenant.as_str(), bound(req, true)];
            rows::page(tx, USER_INVITATIONS, args, req, order::user_invitation, keep)
        }
    }
}

pub(super) fn apply_user_invitation(tx: &Transaction<'_>, t: &UserChange) -> StoreResult<()> {
    let inv = &t.invitation;
    let current = user_invitation(tx, inv.id)?.ok_or(StoreError::Conflict)?;
    let live = !t.require_live || current.expires > t.at;
    if current.version != t.expected_version || !live {
        return Err(StoreError::Conflict);
    }
    Locks::Platform.apply(tx, &t.lock, &lock_scope(inv), inv.id, inv.expires, t.at)?;
    put_user_invitation(tx, inv)
}

fn idempotency(tx: &Transaction<'_>, scope: &str) -> StoreResult<Option<IdempotencyRecord>> {
    one(tx, "SELECT item FROM idempotency WHERE scope = ?1", [scope])
}

pub(super) fn put_idempotency(tx: &Transaction<'_>, record: &IdempotencyRecord) -> StoreResult<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO idempotency (scope, item) VALUES (?1, ?2)")
        .map_err(sql)?
        .execute(params![record.scope, json(record)?])
        .map_err(sql)?;
    Ok(())
}

pub(super) fn claim_idempotency(
    tx: &Transaction<'_>,
    record: &IdempotencyRecord,
    now: Timestamp,
) -> StoreResult<Option<IdempotencyRecord>> {
    match idempotency(tx, &record.scope)? {
        Some(existing) if !existing.replaceable(now) => Ok(Some(existing)),
        _ => put_idempotency(tx, record).map(|()| None),
    }
}

pub(super) fn answer_idempotency(tx: &Transaction<'_>, record: &IdempotencyRecord) -> StoreResult<()> {
    match idempotency(tx, &record.scope)? {
        Some(existing) if existing.claimed == record.claimed && existing.answer.is_none() => {
            put_idempotency(tx, record)
        }
        _ => Err(StoreError::Conflict),
    }
}

/// Drops the claim only if it is still `record`'s and unanswered: someone else's is not ours to drop.
pub(super) fn release_idempotency(tx: &Transaction<'_>, record: &IdempotencyRecord) -> StoreResult<()> {
    if idempotency(tx, &record.scope)?.is_some_and(|e| e.claimed == record.claimed && e.answer.is_none()) {
        tx.execute("DELETE FROM idempotency WHERE scope = ?1", [&record.scope]).map_err(sql)?;
    }
    Ok(())
}
