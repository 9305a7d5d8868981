//! A tenant's settings, day counts and platform invitations ([`UserInvitationStore`]), and idempotency keys
//! ([`IdempotencyStore`]).

use async_trait::async_trait;

use super::{Lock, MemoryStore, check_time_cursor, day_key, page, sorted, user_lock_key};
use crate::domain::{
    DailyCounter, IdempotencyRecord, InvitationId, LockEffect, TenantId, Timestamp, UserInvitation, UserSettings,
    UserTransition,
};
use crate::store::{IdempotencyStore, UserInvitationStore};
use crate::store::{Page, PageRequest, StoreError, StoreResult, UserInvitationFilter, order};

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
