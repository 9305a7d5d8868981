//! What every table's code shares: errors, the JSON of items, pages walked along an index, cursors, locks.

use rusqlite::{OptionalExtension as _, Params, Transaction, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{Delivery, DeliveryState, Earlier, InvitationId, LockEffect, MailItem, TenantId, Timestamp};
use crate::store::{Cursor, Page, PageRequest, StoreError, StoreResult, order};

/// A SQLite failure as the store's kinds: the file busy (another process holds the write lock past the busy
/// timeout), unreadable or full is an outage the caller may retry (503); a damaged file or a statement SQLite
/// refuses is a fault of ours (500); a uniqueness constraint is a condition that did not hold.
pub(super) fn sql(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match error.sqlite_error_code() {
        Some(C::ConstraintViolation) => StoreError::Conflict,
        Some(
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::SystemIoFailure
            | C::DiskFull
            | C::CannotOpen
            | C::ReadOnly
            | C::OutOfMemory
            | C::FileLockingProtocolFailed
            | C::PermissionDenied,
        ) => StoreError::Unavailable(format!("sqlite: {error}")),
        _ => StoreError::Corrupt(format!("sqlite: {error}")),
    }
}

/// An item as its `item` column holds it.
pub(super) fn json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("unencodable item: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(item: &str) -> StoreResult<T> {
    serde_json::from_str(item).map_err(|e| StoreError::Corrupt(format!("undecodable item: {e}")))
}

/// The item of the one row `query` selects (its first column), if there is one.
pub(super) fn one<T: DeserializeOwned>(tx: &Transaction<'_>, query: &str, args: impl Params) -> StoreResult<Option<T>> {
    let item: Option<String> =
        tx.prepare_cached(query).map_err(sql)?.query_row(args, |r| r.get(0)).optional().map_err(sql)?;
    item.as_deref().map(decode).transpose()
}

/// Every item `query` selects (their first column), in its order.
pub(super) fn all<T: DeserializeOwned>(tx: &Transaction<'_>, query: &str, args: impl Params) -> StoreResult<Vec<T>> {
    let mut statement = tx.prepare_cached(query).map_err(sql)?;
    let items = statement.query_map(args, |r| r.get::<_, String>(0)).map_err(sql)?;
    items.map(|item| decode(&item.map_err(sql)?)).collect()
}

/// The bound of a keyset page: the cursor's sort value, or for the first page a value past every sort value in
/// the list's direction (`""` ascending, the highest character descending), so one statement with one index range
/// serves every page.
pub(super) fn bound(req: &PageRequest, descending: bool) -> String {
    match &req.after {
        Some(cursor) => cursor.sort.clone(),
        None if descending => char::MAX.to_string(),
        None => String::new(),
    }
}

/// One page of the items `query` selects in the list's order from [`bound`], stepping rows only until the page
/// and one more kept item are found (so a page costs O(skip + count), not the list's length). `keep` is a filter
/// on top of the index (the state filter of platform invitations), as DynamoDB's filter expression is.
pub(super) fn page<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    query: &str,
    args: impl Params,
    req: &PageRequest,
    sort_of: fn(&T) -> String,
    keep: impl Fn(&T) -> bool,
) -> StoreResult<Page<T>> {
    let (skip, count) = (req.skip as usize, req.count as usize);
    let mut statement = tx.prepare_cached(query).map_err(sql)?;
    let mut rows = statement.query(args).map_err(sql)?;
    let (mut passed, mut items, mut more) = (0usize, Vec::new(), false);
    while let Some(row) = rows.next().map_err(sql)? {
        let item: T = decode(row.get_ref(0).map_err(sql)?.as_str().map_err(|e| StoreError::Corrupt(e.to_string()))?)?;
        if !keep(&item) {
            continue;
        }
        if passed < skip {
            passed += 1;
        } else if items.len() < count {
            items.push(item);
        } else {
            more = true;
            break;
        }
    }
    let next = if more { items.last().map(|t| Cursor { sort: sort_of(t) }) } else { None };
    Ok(Page { items, next })
}

/// Refuses a members cursor that is not a tenant id, as the other stores do.
pub(super) fn check_member_cursor(req: &PageRequest) -> StoreResult<()> {
    match &req.after {
        Some(cursor) => TenantId::parse("cursor", &cursor.sort).map(|_| ()).map_err(|_| StoreError::InvalidCursor),
        None => Ok(()),
    }
}

/// Refuses a time-ordered cursor that is not `order::by_time` of an id of the listed kind, as the other stores do.
pub(super) fn check_time_cursor<T, E>(
    req: &PageRequest,
    parse_id: fn(&'static str, &str) -> Result<T, E>,
) -> StoreResult<()> {
    let Some(cursor) = &req.after else { return Ok(()) };
    let (_, id) = order::parse_time_id(&cursor.sort).ok_or(StoreError::InvalidCursor)?;
    parse_id("cursor", id).map(|_| ()).map_err(|_| StoreError::InvalidCursor)
}

/// The delivery to announce for `item` once its write is kept, if it is pending (the stream filter's rule).
pub(super) fn pending(item: MailItem, delivery: &Option<Delivery>) -> Option<(MailItem, u64)> {
    delivery.as_ref().filter(|d| d.state == DeliveryState::Pending).map(|d| (item, d.seq))
}

/// The `owed` column: a delivery that is neither sent nor cancelled, which the sweep reads to decide with
/// [`Delivery::owed`] (whether a failure has tries left or a claim went stale depends on the sweep's time).
/// Earlier deliveries still kept count too: an unsent notice a newer email took the place of.
pub(super) fn owed_column(delivery: &Option<Delivery>, earlier: &Earlier) -> bool {
    delivery
        .iter()
        .chain(earlier.values())
        .any(|d| matches!(d.state, DeliveryState::Pending | DeliveryState::Sending | DeliveryState::Failed))
}

/// One of the two lock tables: the (community, recipient) locks or the (tenant, recipient) ones.
#[derive(Clone, Copy)]
pub(super) enum Locks {
    Community,
    Platform,
}

impl Locks {
    fn holder_sql(self) -> &'static str {
        match self {
            Self::Community => "SELECT invitation, expires FROM locks WHERE scope = ?1",
            Self::Platform => "SELECT invitation, expires FROM user_locks WHERE scope = ?1",
        }
    }

    fn put_sql(self) -> &'static str {
        match self {
            Self::Community => "INSERT OR REPLACE INTO locks (scope, invitation, expires) VALUES (?1, ?2, ?3)",
            Self::Platform => "INSERT OR REPLACE INTO user_locks (scope, invitation, expires) VALUES (?1, ?2, ?3)",
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Self::Community => "DELETE FROM locks WHERE scope = ?1",
            Self::Platform => "DELETE FROM user_locks WHERE scope = ?1",
        }
    }

    /// Applies a decided change's lock effect on `scope` for invitation `id` (expiring at `expires`) at `at`.
    pub(super) fn apply(
        self,
        tx: &Transaction<'_>,
        effect: &LockEffect,
        scope: &str,
        id: InvitationId,
        expires: Timestamp,
        at: Timestamp,
    ) -> StoreResult<()> {
        match effect {
            LockEffect::None => Ok(()),
            LockEffect::Take => self.take(tx, scope, id, expires, at),
            LockEffect::Release => self.release(tx, scope, id),
        }
    }

    /// The invitation holding `scope` and until when, if any.
    pub(super) fn holder(self, tx: &Transaction<'_>, scope: &str) -> StoreResult<Option<(InvitationId, Timestamp)>> {
        let row: Option<(String, i64)> = tx
            .prepare_cached(self.holder_sql())
            .map_err(sql)?
            .query_row([scope], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(sql)?;
        row.map(|(id, expires)| {
            let id = InvitationId::parse("lock", &id).map_err(|e| StoreError::Corrupt(format!("lock {scope}: {e}")))?;
            Ok((id, Timestamp::from_millis(expires)))
        })
        .transpose()
    }

    /// The live invitation other than `id` that holds `scope` at `now`, if one does.
    pub(super) fn held_by_other(
        self,
        tx: &Transaction<'_>,
        scope: &str,
        id: InvitationId,
        now: Timestamp,
    ) -> StoreResult<Option<InvitationId>> {
        Ok(self.holder(tx, scope)?.filter(|(holder, expires)| *holder != id && *expires > now).map(|(h, _)| h))
    }

    /// Holds `scope` for `id` until `expires`: only if it is free, stale at `now`, or already `id`'s
    /// ([`StoreError::PendingInvitation`] names the holder otherwise).
    pub(super) fn take(
        self,
        tx: &Transaction<'_>,
        scope: &str,
        id: InvitationId,
        expires: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        if let Some(holder) = self.held_by_other(tx, scope, id, now)? {
            return Err(StoreError::PendingInvitation(holder));
        }
        self.put(tx, scope, id, expires)
    }

    /// Writes the lock without a condition (a checked take, or an import).
    pub(super) fn put(
        self,
        tx: &Transaction<'_>,
        scope: &str,
        id: InvitationId,
        expires: Timestamp,
    ) -> StoreResult<()> {
        tx.prepare_cached(self.put_sql())
            .map_err(sql)?
            .execute(params![scope, id.to_string(), expires.millis()])
            .map_err(sql)?;
        Ok(())
    }

    /// Gives `scope` up; [`StoreError::Conflict`] unless `id` holds it.
    pub(super) fn release(self, tx: &Transaction<'_>, scope: &str, id: InvitationId) -> StoreResult<()> {
        match self.holder(tx, scope)? {
            Some((holder, _)) if holder == id => {
                tx.prepare_cached(self.delete_sql()).map_err(sql)?.execute([scope]).map_err(sql)?;
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}
