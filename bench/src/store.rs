//! `rsvp-store-bench`: the local server's two embedded stores side by side, as a data folder grows. For 1,000 and
//! 10,000 invitations of one community it prints the median time of creating one more invitation and of reading
//! a 20-item page from the middle of the list, for `MemoryStore` over `store.json` (what `rsvp-local` used before)
//! and `SqliteStore` over `rsvp.db` (what it uses now).
//!
//! ```sh
//! cargo run --release -p rsvp-bench --bin rsvp-store-bench
//! ```
//!
//! Each size starts from the same data: the `store.json` an earlier version would have written for it, which the
//! memory store opens and the SQLite store imports (the upgrade path, timed too). It needs no DynamoDB and takes
//! about a minute, most of it the memory store rewriting its whole file on every create.

#[path = "stats.rs"]
#[allow(dead_code)]
mod stats;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rsvp::domain::{
    Community, CommunityInput, Email, Invitation, InvitationPolicy, Membership, Principal, Role, TenantId, Timestamp,
    UserId,
};
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp::store::{Cursor, PageRequest, Store};
use serde_json::{Value, json};

const START: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const PAGE: u32 = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("rsvp-store-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir)?;
    let owner = Principal {
        user: UserId::parse("sub", "ada")?,
        tenant: TenantId::parse("tenant", "tenant-owner")?,
        email: Some(Email::parse("ada@owner.example")?),
        tenant_name: None,
        roles: vec![Role::TenantAdministrator],
    };
    let mut rows = Vec::new();
    for size in [1_000usize, 10_000] {
        let folder = dir.join(size.to_string());
        std::fs::create_dir(&folder)?;
        let (community, membership, invitations) = data(&owner, size)?;
        let json = folder.join("store.json");
        std::fs::write(&json, store_file(&community, &membership, &invitations)?)?;
        std::fs::copy(&json, folder.join("memory.json"))?;
        let memory = MemoryStore::open(&folder.join("memory.json"))?;
        let sqlite = SqliteStore::open(&folder.join("rsvp.db"))?;
        let began = Instant::now();
        sqlite.import_memory_file(&json)?;
        let import = began.elapsed();
        // The memory store rewrites its whole file per create: fewer samples where each takes seconds.
        let memory_samples = if size > 1_000 { 7 } else { 21 };
        let middle = cursor(&invitations[size / 2]);
        let memory_create = creates(&memory, &community, &owner, memory_samples).await?;
        let sqlite_create = creates(&sqlite, &community, &owner, 101).await?;
        let memory_page = pages(&memory, &community, &middle, memory_samples).await?;
        let sqlite_page = pages(&sqlite, &community, &middle, 101).await?;
        rows.push(format!(
            "| {size} | create one invitation | {} | {} | {} |",
            median(&memory_create),
            median(&sqlite_create),
            stats::ratio(med(&memory_create), med(&sqlite_create)),
        ));
        rows.push(format!(
            "| {size} | a {PAGE}-item page from the middle | {} | {} | {} |",
            median(&memory_page),
            median(&sqlite_page),
            stats::ratio(med(&memory_page), med(&sqlite_page)),
        ));
        rows.push(format!("| {size} | import of store.json (once, at upgrade) | | {} ms | |", stats::ms(import)));
    }
    println!("Embedded stores, one community; median ms (samples)\n");
    println!("| invitations | operation | MemoryStore (store.json) | SqliteStore (rsvp.db) | memory / sqlite |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A community and `size` invitations of it, one a millisecond apart, each to its own recipient.
fn data(owner: &Principal, size: usize) -> Result<Data, Box<dyn std::error::Error>> {
    let input = CommunityInput::new("Bench", Some("Many invitations"), None)?;
    let (mut community, membership) = Community::create(input, owner.tenant.clone(), START);
    let invitations: Vec<Invitation> = (0..size)
        .map(|n| {
            let at = Timestamp::from_millis(START.millis() + n as i64);
            let to = Email::parse(&format!("guest{n}@guest.example"))?;
            Ok(Invitation::create(&community, to, owner, at, InvitationPolicy::default()).0)
        })
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    community.open_invitations = u32::try_from(size)?;
    Ok((community, membership, invitations))
}

type Data = (Community, Membership, Vec<Invitation>);

/// The `store.json` an earlier version keeps for this data: the community, its owner, the invitations and their
/// recipient locks.
fn store_file(
    community: &Community,
    owner: &Membership,
    invitations: &[Invitation],
) -> Result<Vec<u8>, serde_json::Error> {
    let mut members = BTreeMap::new();
    members.insert(format!("{}/{}", community.id, community.owner), serde_json::to_value(owner)?);
    let mut items = BTreeMap::new();
    let mut locks = BTreeMap::new();
    for i in invitations {
        items.insert(i.id.to_string(), serde_json::to_value(i)?);
        let lock = json!({"invitation": i.id.to_string(), "expires": i.expires.millis()});
        locks.insert(format!("{}/{}", i.community_id, i.recipient.key()), lock);
    }
    let state: Value = json!({
        "communities": {community.id.to_string(): community},
        "members": members,
        "invitations": items,
        "locks": locks,
    });
    serde_json::to_vec(&state)
}

/// The cursor the stores give after `invitation` (newest first: the page after it is older ones).
fn cursor(invitation: &Invitation) -> Cursor {
    Cursor { sort: format!("{:015}#{}", invitation.issued.millis(), invitation.id) }
}

async fn creates(
    store: &dyn Store,
    community: &Community,
    owner: &Principal,
    samples: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let to = Email::parse(&format!("new-{}@guest.example", uuid::Uuid::new_v4().simple()))?;
        let (invitation, _) = Invitation::create(community, to, owner, START, InvitationPolicy::default());
        let began = Instant::now();
        store.create_invitation(&invitation, START).await?;
        times.push(began.elapsed());
    }
    Ok(times)
}

async fn pages(
    store: &dyn Store,
    community: &Community,
    after: &Cursor,
    samples: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let req = PageRequest { skip: 0, count: PAGE, after: Some(after.clone()) };
        let began = Instant::now();
        let page = store.list_community_invitations(community.id, &req).await?;
        times.push(began.elapsed());
        assert_eq!(page.items.len(), PAGE as usize, "a full page");
    }
    Ok(times)
}

fn med(samples: &[Duration]) -> Duration {
    stats::percentile(samples, 50.0).unwrap_or_default()
}

fn median(samples: &[Duration]) -> String {
    format!("{} ({})", stats::ms(med(samples)), samples.len())
}
