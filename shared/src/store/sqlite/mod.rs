//! The embedded store of the local server: one SQLite file (`rsvp.db` in the data folder), through `rusqlite` with
//! SQLite compiled in, behind the `sqlite` feature so the Lambda functions do not carry it.
//!
//! ## Design
//!
//! - **Rows are the domain items as JSON, beside the columns that key and order them.** Each table has the item's
//!   serde JSON in `item` and only the columns a lookup, a condition or a list needs (ids, the sort value of
//!   `store::order`, the few flags a partial index selects on). The items already round-trip through serde for
//!   DynamoDB and for `store.json`, so there is one encoding of each and nothing to keep in step column by column;
//!   a field added to a domain type needs no migration. What the SQL never looks into, it does not need to see.
//! - **One transaction per store call.** Writes run in `BEGIN IMMEDIATE`, so a read-check-write (a version check,
//!   a lock, a counter) holds the write lock from its first read and never races another writer, in this process
//!   or another over the same file; reads run in one deferred transaction, so paired reads see one point in time.
//!   A failed condition returns before the commit and the transaction rolls back: nothing is half-written.
//! - **The same conditions as the DynamoDB adapter**, as [`super::memory`] states them too: version checks, the
//!   pending locks (free, stale at the caller's time, or already the invitation's own), the community's counters,
//!   expiry decided from the timestamps the caller gives, never from the clock here.
//! - **Every list walks an index in its order** (`ORDER BY` the indexed sort column, a keyset bound from the
//!   cursor), stepping rows only until the page and one more are found: a page costs O(skip + page), not the size
//!   of the list. Cursors are the [`super::Cursor`] the other adapters make (`store::order` values), checked the
//!   same way, so a cursor is valid in every store alike.
//! - **Durability:** WAL with `synchronous=FULL`: a write answered is on disk, and a killed process leaves the
//!   last committed transaction and nothing after it. The file (and with it SQLite's `-wal` and `-shm` files, which
//!   take its mode) is readable by its owner only: it holds every address and invitation of the data folder.
//! - **Off the executor:** rusqlite is blocking, and a commit with `synchronous=FULL` waits for the disk. Each call
//!   runs on Tokio's blocking pool ([`tokio::task::spawn_blocking`]) over one connection behind a mutex, so a slow
//!   fsync never stalls the threads serving other requests. One connection is enough: SQLite has one writer at a
//!   time anyway, and a local server's reads take microseconds.
//!
//! ## Layout
//!
//! This file holds the store, its connection and the blocking-pool plumbing (`SqliteStore::write`,
//! `SqliteStore::read`) and the [`DeliveryFeed`] of the local mailer. Each port is implemented in the module of its
//! aggregate (private), as a thin impl over that module's functions: `communities` ([`CommunityStore`]), `platform`
//! ([`UserInvitationStore`] and [`IdempotencyStore`]), `outbox` ([`OutboxStore`]: the delivery writes of both
//! invitation kinds) and `portal` ([`PortalStore`]); `events` keeps the events each invitation write raises, in
//! that write's transaction, for the local publisher ([`SqliteStore::pending_events`]); `rows` has the row
//! helpers they share, `schema` the migrations, `import` the import of a `store.json` (which raises no events).
//!
//! Adding a store method: a function over a `&Transaction` in the module of its aggregate, a one-line call of it
//! through `SqliteStore::write` or `SqliteStore::read` in that module's impl of its port, and if it needs a table
//! or an index, one more entry at the end of `schema::MIGRATIONS` (never an edit of an applied one).
//!
//! [`CommunityStore`]: super::CommunityStore
//! [`UserInvitationStore`]: super::UserInvitationStore
//! [`IdempotencyStore`]: super::IdempotencyStore
//! [`OutboxStore`]: super::OutboxStore
//! [`PortalStore`]: super::PortalStore

mod communities;
mod events;
mod import;
mod outbox;
mod platform;
mod portal;
mod rows;
mod schema;
mod suppressions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::feed::{DeliveryFeed, Listener};
use super::{StoreError, StoreResult};
use crate::domain::{MailItem, Timestamp};
pub use events::Outlet;
pub use import::Imported;
use rows::sql;

/// The store over one SQLite file. Cheap to share: clones of the `Arc` it is used through share one connection.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
    listener: Mutex<Option<Listener>>,
    /// Bumped after every committed write, for the local publisher to look for new events.
    written: tokio::sync::watch::Sender<u64>,
}

impl SqliteStore {
    /// Opens (or creates, mode 0600) the database at `file` and brings its schema up to date.
    pub fn open(file: &Path) -> StoreResult<Self> {
        let conn = schema::open(file)?;
        let written = tokio::sync::watch::Sender::new(0);
        let inner = Inner { conn: Mutex::new(conn), path: file.to_owned(), listener: Mutex::new(None), written };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Imports a `store.json` left by an earlier version (the [`super::memory::MemoryStore`] format, read by its
    /// own loader) in one transaction, then renames it to `store.json.imported`, so an upgrade loses nothing and
    /// the file is read once. `None` if there is no such file. Blocking: call it at start, before serving.
    pub fn import_memory_file(&self, file: &Path) -> StoreResult<Option<Imported>> {
        import::import_file(&mut self.inner.lock(), file)
    }

    /// Runs `change` in one `BEGIN IMMEDIATE` transaction on the blocking pool, committing only if it succeeds.
    async fn write<T: Send + 'static>(
        &self,
        change: impl FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let out = self.run(TransactionBehavior::Immediate, change).await?;
        self.inner.written.send_modify(|n| *n = n.wrapping_add(1));
        Ok(out)
    }

    /// The oldest `limit` kept events `outlet` has not had: (sequence, the event's JSON, as `docs/events/`
    /// documents it), in the order they were raised.
    pub async fn pending_events(&self, outlet: Outlet, limit: u32) -> StoreResult<Vec<(i64, String)>> {
        self.run(TransactionBehavior::Deferred, move |tx| events::pending(tx, outlet, limit)).await
    }

    /// Records that `outlets` have event `seq`; an event every outlet has is forgotten. Not counted as a write: it
    /// raises nothing for the publisher to look at.
    pub async fn events_done(&self, outlets: &'static [Outlet], seq: i64) -> StoreResult<()> {
        self.run(TransactionBehavior::Immediate, move |tx| events::done(tx, outlets, seq)).await
    }

    /// Changes after every committed write: the local publisher waits on it for new events.
    pub fn writes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.written.subscribe()
    }

    /// Runs `read` in one (deferred) transaction, so that all it reads is of one point in time.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.run(TransactionBehavior::Deferred, read).await
    }

    async fn run<T: Send + 'static>(
        &self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.lock();
            let tx = conn.transaction_with_behavior(behavior).map_err(sql)?;
            let out = work(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the store task did not finish: {e}")))?
    }

    fn tell(&self, announced: impl IntoIterator<Item = (MailItem, u64)>) {
        let slot = self.inner.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(listener) = slot.as_ref() {
            for (item, seq) in announced {
                listener(item, seq);
            }
        }
    }
}

impl Inner {
    /// The connection. A panic inside a transaction poisons the mutex, but the transaction's drop has rolled it
    /// back by then, so the connection is as good as before: take it back rather than fail every later call.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl DeliveryFeed for SqliteStore {
    fn on_pending_delivery(&self, listener: Listener) {
        *self.inner.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(listener);
    }

    async fn announce_owed(&self, now: Timestamp) -> StoreResult<usize> {
        let owed = self.read(move |tx| outbox::owed(tx, now)).await?;
        let count = owed.len();
        self.tell(owed);
        Ok(count)
    }

    async fn fail_interrupted_sends(&self, now: Timestamp) -> StoreResult<usize> {
        self.write(move |tx| outbox::fail_interrupted_sends(tx, now)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written before migration 4 (expiring) is brought forward with every waiting invitation's expiry due to
    /// be recorded, and an answered one's not: an upgrade raises the `expired` events the old version never wrote.
    #[tokio::test]
    async fn an_older_file_gains_the_expiry_of_its_waiting_invitations() {
        use crate::domain::{Community, CommunityInput, CommunityInvitation, Email, InvitationPolicy, Principal, Role};
        use crate::domain::{TenantId, UserId};
        use crate::store::OutboxStore;
        let dir = std::env::temp_dir().join(format!("rsvp-sqlite-v3-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("rsvp.db");
        let t0 = Timestamp::from_millis(1_700_000_000_000);
        let owner = Principal {
            user: UserId::parse("sub", "u").unwrap(),
            tenant: TenantId::parse("tenant_id", "owner").unwrap(),
            email: Some(Email::parse("admin@owner.example").unwrap()),
            tenant_name: None,
            roles: vec![Role::TenantAdministrator],
        };
        let community = Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner.tenant.clone(), t0).0;
        let invite = |to: &str| {
            CommunityInvitation::create(&community, Email::parse(to).unwrap(), &owner, t0, InvitationPolicy::default())
                .0
        };
        let (waiting, mut answered) = (invite("bob@guest.example"), invite("ann@guest.example"));
        answered.state = crate::domain::StoredState::Declined;
        {
            // The file as version 3 left it: its schema, and rows without the `expiring` column.
            let conn = rusqlite::Connection::open(&file).unwrap();
            for migration in &schema::MIGRATIONS[..3] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            for i in [&waiting, &answered] {
                conn.execute(
                    "INSERT INTO invitations (id, community, sort, listed, accepted_by, owed, item) VALUES (?1, ?2, ?3, 1, NULL, 0, ?4)",
                    rusqlite::params![i.id.to_string(), i.community_id.to_string(), crate::store::order::invitation(i), serde_json::to_string(i).unwrap()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&file).unwrap();
        let due = store.expiries_due(waiting.expires.plus_minutes(1), 10).await.unwrap();
        assert_eq!(due, [crate::domain::MailItem::Community(waiting.id)], "the waiting one only");
        assert!(store.expiries_due(waiting.expires.plus_minutes(-1), 10).await.unwrap().is_empty(), "at its own time");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every list walks an index in its order: no statement scans a table without one or sorts in a temporary
    /// B-tree, so a page costs O(page) however long the list (the figures: `rsvp-store-bench`, the embedded-store
    /// section of BENCHMARKS.md).
    #[test]
    fn every_list_reads_along_an_index_in_its_order() {
        let dir = std::env::temp_dir().join(format!("rsvp-sqlite-plan-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("rsvp.db")).unwrap();
        let conn = store.inner.lock();
        let lists = [
            (communities::MEMBERS, 2),
            (communities::TENANT_COMMUNITIES, 2),
            (communities::COMMUNITY_INVITATIONS, 2),
            (communities::ACCEPTED_INVITATIONS, 2),
            (communities::OWED, 0),
            (communities::EXPIRING, 2),
            (platform::USER_INVITATIONS, 2),
            (platform::USER_INVITATIONS_BY_SENDER, 3),
            (platform::OWED, 0),
            (platform::EXPIRING, 2),
            (portal::COLLABORATIONS, 1),
            (portal::INVITATIONS, 2),
            (portal::PARTICIPANTS, 2),
            (events::UNWRITTEN, 1),
            (events::UNHOOKED, 1),
        ];
        for (query, args) in lists {
            let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {query}")).unwrap();
            let values: Vec<String> = (0..args).map(|_| "x".to_owned()).collect();
            let steps: Vec<String> = plan
                .query_map(rusqlite::params_from_iter(values.iter()), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(!steps.is_empty(), "{query}");
            for step in &steps {
                assert!(!step.contains("TEMP B-TREE"), "{query} sorts: {steps:?}");
                assert!(step.contains("USING") && step.contains("INDEX"), "{query} does not use an index: {steps:?}");
            }
        }
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
