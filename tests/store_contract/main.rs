//! The `Store` contract: one suite, written once over `&dyn Store`, run against every adapter.
//!
//! Every contract is an `async fn` that takes an empty store and asserts one part of the contract. [`contract!`]
//! turns each into three tests, `<module>::memory::<name>` over `MemoryStore::new()`, `<module>::sqlite::<name>`
//! over a `SqliteStore` on a file in a fresh temporary folder and `<module>::dynamodb::<name>` over a fresh DynamoDB
//! Local table, so the embedded stores the local server and the in-process tests use cannot drift from the one that
//! runs in AWS.
//!
//! State changes are decided by the domain (`CommunityInvitation::process`, `CommunityInvitation::delete`), exactly as
//! the operations do, and every refused change is followed by reading the state back to show that nothing was written.
//!
//! ## Layout
//!
//! This file is the harness: [`contract!`] and [`assert_fails!`] (defined above the modules, so they are in scope
//! in every one of them) and the helpers the community contracts share. Each module holds the contracts of one of
//! the store's ports (`rsvp::store`):
//!
//! | file | port | its contracts |
//! |---|---|---|
//! | `communities.rs` | `CommunityStore` | communities and memberships: paired reads, counters, update, delete |
//! | `invitations.rs` | `CommunityStore` | community invitations: the recipient lock, the list, every transition |
//! | `paging.rs` | `CommunityStore` | paging through its four lists, and cursors that are refused |
//! | `outbox.rs` | `OutboxStore` | claiming deliveries (community and platform), their outcomes, what the sweep finds, what the mail service learns later |
//! | `suppressions.rs` | `SuppressionStore` | the addresses a tenant's mail no longer goes to |
//! | `users.rs` | `UserInvitationStore` | tenant settings, the day's counts, platform (user) invitations |
//! | `idempotency.rs` | `IdempotencyStore` | idempotency keys |
//! | `portals.rs` | `PortalStore` | collaborations, their invitations and participants |
//!
//! Two tests read DynamoDB's items themselves and run against it alone:
//! `invitations::dynamodb_keeps_finished_invitations_for_the_audit_retention` (the TTL of finished invitations) and
//! `users::dynamodb_count_items_never_carry_the_address` (no address in the count items).

use rsvp::domain::{
    Action, Community, CommunityId, CommunityInvitation, Email, InvitationId, InvitationPolicy, Membership,
    MembershipEffect, Principal, Role, TenantId, Timestamp, Transition,
};
use rsvp::store::{Page, PageRequest, Store, StoreError, StoreResult};
use rsvp_tests::{as_community_admin, as_recipient, community, email, first_page, invitation, page_after, principal};

/// Runs each named contract function against all three stores.
macro_rules! contract {
    ($($test:ident),+ $(,)?) => {
        /// The contract against the embedded store of the local server.
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&rsvp::store::memory::MemoryStore::new()).await;
                }
            )+
        }

        /// The contract against the local server's SQLite store, one fresh file in a temporary folder per test.
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&*rsvp_tests::fresh_sqlite_store()).await;
                }
            )+
        }

        /// The contract against DynamoDB Local, one fresh table per test.
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&rsvp_tests::fresh_dynamo_store().await).await;
                }
            )+
        }
    };
}

/// Asserts that `result` is an `Err` matching `pattern` (and the optional guard), showing what it was otherwise.
macro_rules! assert_fails {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern $(if $guard)?)),
        }
    };
}

mod communities;
mod idempotency;
mod invitations;
mod outbox;
mod paging;
mod portals;
mod suppressions;
mod users;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const HOUR: i64 = 60;
const DAY: i64 = 24 * HOUR;

fn policy() -> InvitationPolicy {
    InvitationPolicy::default()
}

fn contact() -> Option<Email> {
    Some(email("ops@guest.example.com"))
}

/// `who`, a TenantAdministrator of `tenant_id`, signed in with the verified address `address`.
fn admin_with(tenant_id: &str, address: &str) -> Principal {
    principal(tenant_id, address, &[Role::TenantAdministrator])
}

/// The address [`rsvp_tests::admin`] gives the administrator of `tenant_id`.
fn admin_email(tenant_id: &str) -> String {
    format!("admin@{tenant_id}.example.com")
}

/// Writes a new community owned by `owner`'s tenant, created at `at`.
async fn new_community(store: &dyn Store, owner: &Principal, name: &str, at: Timestamp) -> (Community, Membership) {
    let (c, m) = community(owner, name, at);
    store.create_community(&c, &m).await.expect("create_community");
    (c, m)
}

/// Writes a new invitation to `c` for `recipient`, issued by `by` at `at`.
async fn invite(
    store: &dyn Store,
    c: &Community,
    by: &Principal,
    recipient: &str,
    at: Timestamp,
) -> CommunityInvitation {
    let (inv, _) = invitation(c, recipient, by, at);
    store.create_invitation(&inv, at).await.expect("create_invitation");
    inv
}

/// The invitation as stored now.
async fn stored(store: &dyn Store, id: InvitationId) -> CommunityInvitation {
    store.get_invitation(id).await.expect("get_invitation").expect("the invitation is stored")
}

fn accept(c: &Community, read: &CommunityInvitation, guest: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Accept, as_recipient(guest), contact(), at, policy()).expect("the domain allows Accept")
}

fn confirm(c: &Community, read: &CommunityInvitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Confirm, as_community_admin(by), None, at, policy()).expect("the domain allows Confirm")
}

fn decline_as_admin(c: &Community, read: &CommunityInvitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Decline, as_community_admin(by), None, at, policy()).expect("the domain allows Decline")
}

fn decline_as_recipient(c: &Community, read: &CommunityInvitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Decline, as_recipient(by), None, at, policy()).expect("the domain allows Decline")
}

fn resend(c: &Community, read: &CommunityInvitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Resend, as_community_admin(by), None, at, policy()).expect("the domain allows Resend")
}

fn delete(read: &CommunityInvitation, by: &Principal, at: Timestamp) -> Transition {
    read.delete(by, at).expect("the domain allows Delete")
}

/// The membership an Accept transition writes.
fn joining(t: &Transition) -> Membership {
    match &t.membership {
        MembershipEffect::Join(m) => (**m).clone(),
        other => panic!("expected a Join, got {other:?}"),
    }
}

/// Invites `guest` (at its own address) to `c`, lets it accept at `at`, and confirms it too if `confirmed`.
/// Returns the invitation as stored at the end.
async fn join(
    store: &dyn Store,
    c: &Community,
    owner: &Principal,
    guest: &Principal,
    at: Timestamp,
    confirmed: bool,
) -> CommunityInvitation {
    let address = guest.email.as_ref().expect("the guest has a verified address").to_string();
    let inv = invite(store, c, owner, &address, at).await;
    let accepted = accept(c, &inv, guest, at);
    store.apply(&accepted).await.expect("apply Accept");
    if !confirmed {
        return accepted.invitation;
    }
    let completed = confirm(c, &accepted.invitation, owner, at);
    store.apply(&completed).await.expect("apply Confirm");
    completed.invitation
}

/// Asserts that `holder` holds the (community, recipient) lock at `now`: a new invitation for the same recipient
/// is refused naming it, and that refused invitation is not stored.
async fn assert_lock_held(
    store: &dyn Store,
    c: &Community,
    by: &Principal,
    recipient: &str,
    now: Timestamp,
    holder: InvitationId,
) {
    let (probe, _) = invitation(c, recipient, by, now);
    assert_fails!(store.create_invitation(&probe, now).await, StoreError::PendingInvitation(id) if id == holder);
    assert_eq!(
        store.get_invitation(probe.id).await.expect("get_invitation"),
        None,
        "a refused invitation is not stored"
    );
}

/// Reads every page of a list, asserting the pages chain up to a last one with no cursor.
async fn all<T>(list: impl AsyncFn(PageRequest) -> StoreResult<Page<T>>) -> Vec<T> {
    let mut items = Vec::new();
    let mut req = first_page(50);
    loop {
        let page = list(req).await.expect("list");
        items.extend(page.items);
        match page.next {
            Some(cursor) => req = page_after(&cursor, 50),
            None => return items,
        }
        assert!(items.len() < 10_000, "the pages never end");
    }
}

/// Everything the store shows about one community and a few invitations and tenants: equal snapshots before and
/// after a refused change prove it wrote nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    community: Option<Community>,
    members: Vec<Membership>,
    listed_invitations: Vec<CommunityInvitation>,
    invitations: Vec<Option<CommunityInvitation>>,
    memberships: Vec<Option<Membership>>,
    tenant_communities: Vec<Vec<Membership>>,
    accepted: Vec<Vec<CommunityInvitation>>,
}

async fn snapshot(store: &dyn Store, c: CommunityId, invitations: &[InvitationId], tenants: &[&TenantId]) -> Snapshot {
    let mut snap = Snapshot {
        community: store.get_community(c).await.expect("get_community"),
        members: all(async |req| store.list_members(c, &req).await).await,
        listed_invitations: all(async |req| store.list_community_invitations(c, &req).await).await,
        invitations: Vec::new(),
        memberships: Vec::new(),
        tenant_communities: Vec::new(),
        accepted: Vec::new(),
    };
    for id in invitations {
        snap.invitations.push(store.get_invitation(*id).await.expect("get_invitation"));
    }
    for t in tenants {
        snap.memberships.push(store.get_membership(c, t).await.expect("get_membership"));
        snap.tenant_communities.push(all(async |req| store.list_tenant_communities(t, &req).await).await);
        snap.accepted.push(all(async |req| store.list_accepted_invitations(t, &req).await).await);
    }
    snap
}

fn ids(invitations: &[CommunityInvitation]) -> Vec<InvitationId> {
    invitations.iter().map(|i| i.id).collect()
}
