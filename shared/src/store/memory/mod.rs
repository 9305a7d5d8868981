//! The embedded store for the local server: everything in memory behind one lock, saved to a JSON file after each
//! change when a path is given, so a restart keeps what was created. It honours the same conditions as DynamoDB.
//!
//! This file holds the state, the store with its file and the helpers the ports share (keys, pages, cursor checks);
//! each port is implemented in the module of its aggregate (private): `communities` ([`CommunityStore`]),
//! `platform` ([`UserInvitationStore`] and [`IdempotencyStore`]), `outbox` ([`OutboxStore`], and the listener
//! that stands in for the DynamoDB stream) and `portal` ([`PortalStore`]).
//!
//! [`CommunityStore`]: super::CommunityStore
//! [`UserInvitationStore`]: super::UserInvitationStore
//! [`IdempotencyStore`]: super::IdempotencyStore
//! [`OutboxStore`]: super::OutboxStore
//! [`PortalStore`]: super::PortalStore

mod communities;
mod outbox;
mod platform;
mod portal;
mod suppressions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Cursor, Page, PageRequest, StoreError, StoreResult, order};
use crate::domain::collaboration::{
    Collaboration, CollaborationId, CollaborationInvitation, CollaborationInvitationId, Participant,
};
use crate::domain::fate::Suppression;
use crate::domain::{
    Community, CommunityId, CommunityInvitation, DailyCounter, IdempotencyRecord, InvitationId, MailItem, Membership,
    TenantId, Timestamp, UserInvitation, UserSettings,
};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct State {
    communities: BTreeMap<CommunityId, Community>,
    /// Keyed by (community, tenant).
    members: BTreeMap<String, Membership>,
    invitations: BTreeMap<InvitationId, CommunityInvitation>,
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
    /// (tenant, recipient hash) -> the address's suppression.
    #[serde(default)]
    suppressions: BTreeMap<String, Suppression>,
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

fn lock_key(invitation: &CommunityInvitation) -> String {
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

/// Everything a store file holds, item by item, with the composite keys as the file keys them: how
/// [`super::sqlite::SqliteStore`] imports a `store.json` left by an earlier version, read by this module's own
/// loader so the two can never disagree on the format.
#[cfg(feature = "sqlite")]
pub(crate) struct Contents {
    pub communities: Vec<Community>,
    pub members: Vec<Membership>,
    pub invitations: Vec<CommunityInvitation>,
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
