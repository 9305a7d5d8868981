//! The upgrade from `store.json`: what an earlier version's [`MemoryStore`] saved is read by its own loader and
//! written here in one transaction, recorded by the SHA-256 of the file's bytes, and the file is then renamed to
//! `store.json.imported` (kept, not deleted: it is the user's data). A crash between the commit and the rename
//! finds the record at the next start and only renames; a different `store.json` put there later is imported too,
//! and refused whole if it holds an item the database already has, rather than overwrite newer data.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};
use sha2::{Digest as _, Sha256};

use super::rows::{Locks, sql};
use super::{communities, platform, portal};
use crate::store::memory::MemoryStore;
use crate::store::{StoreError, StoreResult};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Items written (communities, memberships, invitations, locks, counts, records...); 0 when the file had been
    /// imported before and was only renamed now.
    pub items: usize,
    /// Where the imported file now is.
    pub renamed_to: PathBuf,
}

pub(super) fn import_file(conn: &mut Connection, file: &Path) -> StoreResult<Option<Imported>> {
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("importing {}: {e}", file.display()));
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unavailable(e)),
    };
    let key = format!("imported store.json sha256:{:x}", Sha256::digest(&bytes));
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
    let done: Option<String> =
        tx.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| r.get(0)).optional().map_err(sql)?;
    let items = match done {
        Some(_) => 0,
        None => {
            let store = MemoryStore::open(file)
                .map_err(|e| StoreError::Corrupt(format!("{} does not read as a store file: {e}", file.display())))?;
            let items = write_all(&tx, &store).map_err(|e| match e {
                StoreError::Conflict => StoreError::Corrupt(format!(
                    "{} holds an item the database already has: move one of them away",
                    file.display()
                )),
                other => other,
            })?;
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![key, items.to_string()])
                .map_err(sql)?;
            items
        }
    };
    tx.commit().map_err(sql)?;
    let mut renamed_to = file.as_os_str().to_owned();
    renamed_to.push(".imported");
    let renamed_to = PathBuf::from(renamed_to);
    std::fs::rename(file, &renamed_to).map_err(unavailable)?;
    Ok(Some(Imported { items, renamed_to }))
}

/// Writes every item of `store` with plain inserts: an item that exists already fails the import whole.
fn write_all(tx: &Transaction<'_>, store: &MemoryStore) -> StoreResult<usize> {
    let c = store.contents()?;
    let exists = |table: &str, column: &str, value: &str| -> StoreResult<bool> {
        let query = format!("SELECT 1 FROM {table} WHERE {column} = ?1");
        tx.query_row(&query, [value], |_| Ok(())).optional().map(|f| f.is_some()).map_err(sql)
    };
    let fresh = |taken: bool| if taken { Err(StoreError::Conflict) } else { Ok(()) };
    let mut items = 0;
    for community in &c.communities {
        fresh(exists("communities", "id", &community.id.to_string())?)?;
        communities::put(tx, community)?;
    }
    for m in &c.members {
        fresh(communities::membership(tx, m.community_id, &m.tenant)?.is_some())?;
        communities::put_membership(tx, m)?;
    }
    for i in &c.invitations {
        fresh(exists("invitations", "id", &i.id.to_string())?)?;
        communities::write_invitation(tx, i)?;
    }
    for (scope, id, expires) in &c.locks {
        fresh(Locks::Community.holder(tx, scope)?.is_some())?;
        Locks::Community.put(tx, scope, *id, *expires)?;
    }
    for (tenant, settings, version) in &c.user_settings {
        fresh(exists("user_settings", "tenant", tenant)?)?;
        platform::put_settings_row(tx, tenant, settings, *version)?;
    }
    for (scope, used) in &c.day_counts {
        fresh(exists("day_counts", "scope", scope)?)?;
        platform::put_day_count(tx, scope, *used, None)?;
    }
    for i in &c.user_invitations {
        fresh(exists("user_invitations", "id", &i.id.to_string())?)?;
        platform::write_user_invitation(tx, i)?;
    }
    for (scope, id, expires) in &c.user_locks {
        fresh(Locks::Platform.holder(tx, scope)?.is_some())?;
        Locks::Platform.put(tx, scope, *id, *expires)?;
    }
    for record in &c.idempotency {
        fresh(exists("idempotency", "scope", &record.scope)?)?;
        platform::put_idempotency(tx, record)?;
    }
    for collaboration in &c.collaborations {
        fresh(exists("collaborations", "id", &collaboration.id.to_string())?)?;
        portal::put(tx, collaboration)?;
    }
    for i in &c.collaboration_invitations {
        fresh(exists("collaboration_invitations", "id", &i.id.to_string())?)?;
        portal::put_invitation(tx, i)?;
    }
    for p in &c.participants {
        fresh(portal::participants(tx, p.collaboration_id)?.iter().any(|q| q.portal.id == p.portal.id))?;
        portal::put_participant(tx, p)?;
    }
    items += c.communities.len() + c.members.len() + c.invitations.len() + c.locks.len();
    items += c.user_settings.len() + c.day_counts.len() + c.user_invitations.len() + c.user_locks.len();
    items += c.idempotency.len() + c.collaborations.len() + c.collaboration_invitations.len() + c.participants.len();
    Ok(items)
}
