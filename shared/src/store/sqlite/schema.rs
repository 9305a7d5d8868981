//! The database file: opened with the settings every connection needs, its schema brought up to date.
//!
//! The schema is a list of migrations applied in order and counted in `PRAGMA user_version`, each in the
//! transaction that records it: a file made by any earlier version is brought forward at open, and a migration is
//! never applied twice or half. Add a table or an index as a new entry at the end; never edit an applied one.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::rows::sql;
use crate::store::{StoreError, StoreResult};

/// Each entry is one version of the schema. See the module doc of [`super`] for why items are JSON in `item`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: everything the `Store` trait had when this adapter was written.
    "
    CREATE TABLE communities (id TEXT PRIMARY KEY, item TEXT NOT NULL);
    -- active_sort: order::membership_of_tenant while Active, else NULL (the tenant's list shows Active only).
    CREATE TABLE memberships (
        community TEXT NOT NULL, tenant TEXT NOT NULL, active_sort TEXT, item TEXT NOT NULL,
        PRIMARY KEY (community, tenant));
    CREATE INDEX memberships_of_tenant ON memberships (tenant, active_sort) WHERE active_sort IS NOT NULL;
    -- listed: not deleted (the community's list); accepted_by: the invited tenant while Accepted;
    -- owed: a delivery not yet sent or cancelled (what the sweep reads).
    CREATE TABLE invitations (
        id TEXT PRIMARY KEY, community TEXT NOT NULL, sort TEXT NOT NULL, listed INTEGER NOT NULL,
        accepted_by TEXT, owed INTEGER NOT NULL, item TEXT NOT NULL);
    CREATE INDEX invitations_of_community ON invitations (community, sort) WHERE listed = 1;
    CREATE INDEX invitations_accepted_by ON invitations (accepted_by, sort) WHERE accepted_by IS NOT NULL;
    CREATE INDEX invitations_owed ON invitations (id) WHERE owed = 1;
    -- scope: <community>/<recipient key>, as store.json keys it.
    CREATE TABLE locks (scope TEXT PRIMARY KEY, invitation TEXT NOT NULL, expires INTEGER NOT NULL);
    CREATE TABLE user_settings (tenant TEXT PRIMARY KEY, version INTEGER NOT NULL, item TEXT NOT NULL);
    -- scope: <tenant>/<UTC day>; until: when the count may go (the caller's time, kept for a later sweep).
    CREATE TABLE day_counts (scope TEXT PRIMARY KEY, used INTEGER NOT NULL, until INTEGER);
    CREATE TABLE user_invitations (
        id TEXT PRIMARY KEY, tenant TEXT NOT NULL, inviter TEXT NOT NULL, sort TEXT NOT NULL,
        owed INTEGER NOT NULL, item TEXT NOT NULL);
    CREATE INDEX user_invitations_of_tenant ON user_invitations (tenant, sort);
    CREATE INDEX user_invitations_by_sender ON user_invitations (tenant, inviter, sort);
    CREATE INDEX user_invitations_owed ON user_invitations (id) WHERE owed = 1;
    -- scope: <tenant>/<recipient key>.
    CREATE TABLE user_locks (scope TEXT PRIMARY KEY, invitation TEXT NOT NULL, expires INTEGER NOT NULL);
    CREATE TABLE idempotency (scope TEXT PRIMARY KEY, item TEXT NOT NULL);
    CREATE TABLE collaborations (id TEXT PRIMARY KEY, created INTEGER NOT NULL, item TEXT NOT NULL);
    CREATE INDEX collaborations_by_age ON collaborations (created, id);
    CREATE TABLE collaboration_invitations (
        id TEXT PRIMARY KEY, collaboration TEXT NOT NULL, created INTEGER NOT NULL, item TEXT NOT NULL);
    CREATE INDEX collaboration_invitations_by_age ON collaboration_invitations (collaboration, created, id);
    CREATE TABLE participants (
        collaboration TEXT NOT NULL, portal TEXT NOT NULL, joined INTEGER NOT NULL, item TEXT NOT NULL,
        PRIMARY KEY (collaboration, portal));
    CREATE INDEX participants_by_age ON participants (collaboration, joined, portal);
    -- What was done once to this file: e.g. the import of a store.json, by the SHA-256 of its bytes.
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ",
    // 2: the events each write raises, until the local publisher has handed each to its file and its webhook.
    "
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, item TEXT NOT NULL,
        written INTEGER NOT NULL DEFAULT 0, hooked INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX events_unwritten ON events (seq) WHERE written = 0;
    CREATE INDEX events_unhooked ON events (seq) WHERE hooked = 0;
    ",
    // 3: the addresses each tenant's mail no longer goes to; scope: <tenant>/<recipient hash>.
    "
    CREATE TABLE suppressions (scope TEXT PRIMARY KEY, item TEXT NOT NULL);
    ",
    // 4: expiring: when an invitation waiting for an answer expires, until its expiry is recorded (the sweep's
    // read, as `owed`). Every waiting invitation written before had none recorded: it takes its expiry.
    "
    ALTER TABLE invitations ADD COLUMN expiring INTEGER;
    ALTER TABLE user_invitations ADD COLUMN expiring INTEGER;
    UPDATE invitations SET expiring = json_extract(item, '$.expires') WHERE json_extract(item, '$.state') = 'Created';
    UPDATE user_invitations SET expiring = json_extract(item, '$.expires')
        WHERE json_extract(item, '$.state') = 'Pending';
    CREATE INDEX invitations_expiring ON invitations (expiring) WHERE expiring IS NOT NULL;
    CREATE INDEX user_invitations_expiring ON user_invitations (expiring) WHERE expiring IS NOT NULL;
    ",
];

/// How long a call waits for another process's write lock on the same file before it is `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens `file`, creating it readable by its owner only, with WAL and `synchronous=FULL`, and migrates it.
pub(super) fn open(file: &Path) -> StoreResult<Connection> {
    let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("opening {}: {e}", file.display()));
    private_file(file).map_err(unavailable)?;
    let mut conn = Connection::open(file).map_err(sql)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    // WAL: a commit appends to the log, readers never block the writer; FULL: the log is synced at every commit,
    // so a write answered survives a crash or a power cut, not only a killed process.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!("{} does not take WAL mode (it is {mode})", file.display())));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(sql)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Creates `file` with mode 0600 if it is missing, and narrows the mode of one an earlier run left looser: SQLite
/// creates its `-wal` and `-shm` files with the database file's mode, so they are private too.
fn private_file(file: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let handle = options.open(file)?;
    #[cfg(unix)]
    handle.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    drop(handle);
    Ok(())
}

/// Applies the migrations the file has not had yet, each with its version in one transaction, reading the version
/// inside it: two processes opening one file at once apply each migration once.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql)?;
        let applied = usize::try_from(version).map_err(|_| StoreError::Corrupt(format!("schema version {version}")))?;
        let Some(migration) = MIGRATIONS.get(applied) else {
            if applied > MIGRATIONS.len() {
                return Err(StoreError::Corrupt(format!(
                    "the database has schema version {applied}, newer than this build's {}: a later version of \
                     rsvp wrote it",
                    MIGRATIONS.len()
                )));
            }
            return Ok(());
        };
        tx.execute_batch(migration).map_err(sql)?;
        tx.pragma_update(None, "user_version", version + 1).map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
}
