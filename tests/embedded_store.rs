//! The local server's SQLite store as a file on disk: what survives a `kill -9`, what an upgrade from `store.json`
//! brings along, and who may read the file. (What it answers is the store contract, `tests/store_contract/`.)

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rsvp::domain::{CommunityId, DailyCounter, InvitationId, UserSettings};
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp::store::{CommunityStore, PageRequest, StoreError, UserInvitationStore};
use rsvp_local::{SigningKey, TokenClaims};
use rsvp_tests::harness::child;
use rsvp_tests::{T0, TestApp, admin, community, invitation, temp_dir, tenant};
use serde_json::{Value, json};

const BASE: &str = "/api/v1-preview";
/// Set in the environment of the child process: the data folder it serves from.
const CHILD_DIR: &str = "RSVP_TEST_CRASH_SERVER_DIR";
/// The test that plays it, by the name the child runs.
const TEST_NAME: &str = "a_killed_server_keeps_every_write_it_answered_and_nothing_half_written";

/// A server over a SQLite file, in a child process, takes a storm of invitations from several tasks and is killed
/// with SIGKILL in the middle of it. Every invitation it answered 201 for is in the file afterwards, and nothing is
/// half-written: each invitation's write (the invitation, its recipient lock and the community's counter) is all
/// there or not at all, so the counter equals the invitations listed. The restarted server serves them all.
///
/// The child is this very test binary, running this test with [`CHILD_DIR`] set: it then plays the server
/// (`rsvp-local serve`'s store, app and HTTP server over `<dir>/rsvp.db`) until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_write_it_answered_and_nothing_half_written() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        return serve_until_killed(Path::new(&dir)).await;
    }
    let dir = temp_dir("rsvp-crash");
    let key = SigningKey::load_or_create(&dir).expect("the signing key");
    let owner = key.mint(&TokenClaims::new("tenant-owner", "admin@owner.example", &["TenantAdministrator"]));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");

    let (mut child, url) = child::spawn(TEST_NAME, CHILD_DIR, &dir).await;
    let body = json!({"Name": "Storm", "Description": "Invited in a hurry", "ContactEmail": "ops@owner.example"});
    let created = http.post(format!("{url}{BASE}/communities")).bearer_auth(&owner).json(&body).send().await;
    let created: Value = created.expect("the server answers").json().await.expect("a JSON body");
    let community = created["Id"].as_str().expect("a community id").to_owned();

    // Eight tasks invite distinct recipients as fast as the server answers, each noting what was answered 201.
    let storm: Vec<_> = (0..8)
        .map(|task| {
            let (http, url, owner, community) = (http.clone(), url.clone(), owner.clone(), community.clone());
            tokio::spawn(async move {
                let mut answered = Vec::new();
                for n in 0.. {
                    let body = json!({"InvitationRecipient": format!("r{task}-{n}@guest.example")});
                    let path = format!("{url}{BASE}/communities/{community}/invitations");
                    let Ok(response) = http.post(path).bearer_auth(&owner).json(&body).send().await else { break };
                    if response.status() != StatusCode::CREATED {
                        break;
                    }
                    let Ok(body) = response.json::<Value>().await else { break };
                    answered.push(body["Id"].as_str().expect("an invitation id").to_owned());
                }
                answered
            })
        })
        .collect();
    // Killed mid-storm: once enough has been written that a commit is surely in flight.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.kill().await.expect("SIGKILL the server");
    let mut answered = BTreeSet::new();
    for task in storm {
        answered.extend(task.await.expect("a storm task"));
    }
    assert!(answered.len() >= 20, "the storm got only {} answers before the kill", answered.len());

    // Read back from the file the killed process left.
    {
        let store = SqliteStore::open(&dir.join("rsvp.db")).expect("the store reopens after the kill");
        let id = CommunityId::parse("id", &community).expect("a community id");
        let stored = store.get_community(id).await.expect("readable").expect("the community is there");
        let mut listed = BTreeSet::new();
        let mut after = None;
        loop {
            let page = store
                .list_community_invitations(id, &PageRequest { skip: 0, count: 500, after: after.take() })
                .await
                .expect("the invitations list");
            listed.extend(page.items.iter().map(|i| i.id.to_string()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let missing: Vec<_> = answered.difference(&listed).collect();
        assert!(missing.is_empty(), "answered 201 but lost: {missing:?}");
        assert_eq!(stored.open_invitations as usize, listed.len(), "the counter moved with every invitation kept");
        println!("killed mid-storm: {} invitations answered 201, {} in the file", answered.len(), listed.len());
        for id in &listed {
            let invitation = store
                .get_invitation(InvitationId::parse("id", id).expect("an id"))
                .await
                .expect("readable")
                .expect("listed, so stored");
            // Its lock was written with it: the same recipient cannot be invited again.
            let (again, _) = rsvp_tests::invitation(&stored, invitation.recipient.as_str(), &admin("tenant-owner"), T0);
            let retry = store.create_invitation(&again, rsvp_tests::present()).await;
            assert!(
                matches!(retry, Err(StoreError::PendingInvitation(holder)) if holder == invitation.id),
                "{id}'s lock: {retry:?}"
            );
        }
    }

    // The server restarted over the same file serves every invitation it answered for.
    let (mut child, url) = child::spawn(TEST_NAME, CHILD_DIR, &dir).await;
    for id in &answered {
        let response = http
            .get(format!("{url}{BASE}/communities/{community}/invitations/{id}"))
            .bearer_auth(&owner)
            .send()
            .await
            .expect("the restarted server answers");
        assert_eq!(response.status(), StatusCode::OK, "invitation {id} after the restart");
    }
    child.kill().await.expect("SIGKILL the server");
    std::fs::remove_dir_all(&dir).expect("remove the data folder");
}

/// The child's part: what `rsvp-local serve` runs over `<dir>/rsvp.db` (no mailer), until SIGKILL.
async fn serve_until_killed(dir: &Path) {
    let store = Arc::new(SqliteStore::open(&dir.join("rsvp.db")).expect("open the store"));
    let key = SigningKey::load_or_create(dir).expect("the data folder's signing key");
    child::serve_until_killed(TestApp::builder().store(store).key(key).real_clock().no_public_url()).await;
}

/// A `store.json` left by the version before is imported once, whole, into the new file and renamed out of the
/// way; an import cut short between its commit and the rename is recognised and not repeated; a different file
/// holding an item the database already has is refused whole and left where it is.
#[tokio::test]
async fn a_store_json_of_an_earlier_version_is_imported_once() {
    let dir = temp_dir("rsvp-import");
    let json = dir.join("store.json");
    let owner = admin("acme");
    let (c, membership) = community(&owner, "Imported", T0);
    let (i, _) = invitation(&c, "bob@guest.example", &owner, T0);
    {
        let old = MemoryStore::open(&json).expect("the earlier version's store");
        old.create_community(&c, &membership).await.expect("community");
        old.create_invitation(&i, T0).await.expect("invitation");
        let settings = UserSettings { invite_unregistered_users: true, ..UserSettings::default() };
        old.put_user_settings(&tenant("acme"), &settings, None).await.expect("settings");
        old.reserve_count(&tenant("acme"), &DailyCounter::Emails, "2023-11-14", 3, 10, T0.plus_days(1))
            .await
            .expect("a count");
    }
    let before = std::fs::read(&json).expect("store.json");

    let store = SqliteStore::open(&dir.join("rsvp.db")).expect("the new store");
    let imported = store.import_memory_file(&json).expect("the import").expect("a file to import");
    // Community, owner membership, invitation, its lock, the settings and the day's count.
    assert_eq!(imported.items, 6);
    assert!(!json.exists(), "store.json is renamed once imported");
    assert_eq!(imported.renamed_to, dir.join("store.json.imported"));
    assert_eq!(std::fs::read(&imported.renamed_to).expect("kept"), before, "the old file is kept as it was");

    let stored = store.get_community(c.id).await.expect("read").expect("the community came along");
    assert_eq!((stored.name.as_str(), stored.open_invitations, stored.members), ("Imported", 1, 1));
    assert_eq!(store.get_membership(c.id, &owner.tenant).await.expect("read"), Some(membership.clone()));
    assert_eq!(store.get_invitation(i.id).await.expect("read"), Some(i.clone()));
    let (again, _) = invitation(&c, "bob@guest.example", &owner, T0);
    assert!(
        matches!(store.create_invitation(&again, T0).await, Err(StoreError::PendingInvitation(id)) if id == i.id),
        "the recipient's lock came along"
    );
    let (_, version) = store.get_user_settings(&tenant("acme")).await.expect("read").expect("settings came along");
    assert_eq!(version, 1);
    assert!(
        matches!(
            store.reserve_count(&tenant("acme"), &DailyCounter::Emails, "2023-11-14", 8, 10, T0.plus_days(1)).await,
            Err(StoreError::LimitReached { used: 3 })
        ),
        "the day's count came along"
    );
    assert_eq!(store.import_memory_file(&json).expect("nothing to import"), None, "imported once");

    // Cut short after the commit, before the rename: the same file is renamed now, not imported twice.
    std::fs::rename(&imported.renamed_to, &json).expect("put the file back");
    let again = store.import_memory_file(&json).expect("the repeated import").expect("a file");
    assert_eq!(again.items, 0, "recognised as imported");
    assert!(!json.exists());
    assert_eq!(store.get_community(c.id).await.expect("read").map(|c| c.open_invitations), Some(1));

    // Another store.json that holds the same community is refused whole and left in place.
    {
        let other = MemoryStore::open(&json).expect("another store file");
        other.create_community(&c, &membership).await.expect("community");
        let (c2, m2) = community(&owner, "Second", T0);
        other.create_community(&c2, &m2).await.expect("community");
    }
    let refused = store.import_memory_file(&json);
    assert!(matches!(refused, Err(StoreError::Corrupt(_))), "{refused:?}");
    assert!(json.exists(), "a refused file stays where it is");
    std::fs::remove_dir_all(&dir).expect("remove the folder");
}

/// The database holds every address and invitation of the data folder: it is its owner's alone, even over a file
/// an earlier run left readable by others, and so are SQLite's log files beside it.
#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_log_are_their_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("rsvp-mode");
    let file = dir.join("rsvp.db");
    std::fs::write(&file, b"").expect("an empty database, as an earlier run might leave it");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("loosen it");
    let store = SqliteStore::open(&file).expect("open");
    let owner = admin("acme");
    let (c, m) = community(&owner, "Private", T0);
    store.create_community(&c, &m).await.expect("a write, so the log exists");
    for name in ["rsvp.db", "rsvp.db-wal", "rsvp.db-shm"] {
        let mode = std::fs::metadata(dir.join(name)).expect(name).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is mode {mode:o}");
    }
    drop(store);
    std::fs::remove_dir_all(&dir).expect("remove the folder");
}

/// The local sweep's expiry step over the SQLite file: an unanswered invitation's expiry is found once due, recorded
/// once, and kept as its `community.invitation.expired` event for `events.jsonl` in the same transaction.
#[tokio::test]
async fn an_expiry_the_sweep_records_is_kept_once_as_its_event() {
    let dir = temp_dir("rsvp-expiry");
    let store = SqliteStore::open(&dir.join("rsvp.db")).expect("open");
    let owner = admin("owner");
    let (c, membership) = community(&owner, "Ops", T0);
    store.create_community(&c, &membership).await.unwrap();
    let (created, _) = invitation(&c, "bob@x.example", &owner, T0);
    store.create_invitation(&created, T0).await.unwrap();
    let limit = rsvp::mail::sweep::EXPIRY_LIMIT;
    let sweep = |at| rsvp::mail::sweep::record_expiries(&store, at, limit);
    assert_eq!(sweep(created.expires.plus_minutes(-1)).await.unwrap(), 0, "not before its time");
    assert_eq!(sweep(created.expires.plus_minutes(1)).await.unwrap(), 1);
    assert_eq!(sweep(created.expires.plus_minutes(2)).await.unwrap(), 0, "once");

    let events = store.pending_events(rsvp::store::sqlite::Outlet::File, 100).await.unwrap();
    let types: Vec<String> = events
        .iter()
        .map(|(_, e)| serde_json::from_str::<Value>(e).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["community.invitation.created", "community.invitation.expired"]);
}
