//! The `Store` contract: one suite, written once over `&dyn Store`, run against every adapter.
//!
//! Every `async fn` below takes an empty store and asserts one part of the contract. [`contract!`] turns each into
//! three tests, `memory::<name>` over `MemoryStore::new()`, `sqlite::<name>` over a `SqliteStore` on a file in a
//! fresh temporary folder and `dynamodb::<name>` over a fresh DynamoDB Local table, so the embedded stores the
//! local server and the in-process tests use cannot drift from the one that runs in AWS.
//!
//! State changes are decided by the domain (`Invitation::process`, `Invitation::delete`), exactly as the
//! operations do, and every refused change is followed by reading the state back to show that nothing was written.

use aws_sdk_dynamodb::types::AttributeValue;
use rsvp::domain::{
    AcceptFrom, Action, CLAIM_STALE_MINUTES, Claimed, Community, CommunityId, CommunityInput, DeliveryOutcome,
    DeliveryState, Email, Invitation, InvitationId, InvitationPolicy, MailItem, MailKind, MemberStatus, Membership,
    MembershipEffect, Principal, Role, StoredState, TenantId, Timestamp, Transition,
};
use rsvp::store::{Cursor, Page, PageRequest, Store, StoreError, StoreResult};
use rsvp_tests::{
    T0, admin, as_community_admin, as_recipient, community, email, first_page, invitation, page_after, principal,
    tenant,
};

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

contract!(
    communities_and_owner_memberships_round_trip,
    members_are_listed_by_tenant_ascending,
    a_tenants_communities_are_its_active_memberships_newest_first,
    one_live_invitation_per_community_and_recipient,
    community_invitations_are_listed_newest_first_without_deleted_ones,
    paging_walks_every_item_exactly_once,
    malformed_cursors_are_refused,
    accept_joins_the_tenant_and_releases_the_lock,
    a_stale_read_cannot_be_applied,
    of_two_concurrent_accepts_exactly_one_wins,
    accept_of_an_expired_invitation_conflicts,
    a_tenant_already_in_the_community_cannot_join_again,
    confirm_activates_the_waiting_member,
    decline_removes_the_waiting_member_or_frees_the_lock,
    resend_retakes_the_lock_unless_another_invitation_holds_it,
    delete_withdraws_an_invitation,
    remove_member_never_removes_the_owner,
    paired_reads_answer_as_the_single_reads_do,
    a_delivery_is_claimed_once_and_its_outcome_recorded_once,
    a_failed_or_stale_delivery_is_claimed_again_and_a_newer_one_wins,
    a_notice_unsent_when_the_next_is_owed_is_kept_and_each_is_claimed_and_recorded_once,
    the_sweep_finds_only_what_is_due_oldest_first_and_nothing_once_sent,
    the_communitys_counters_follow_its_invitations_and_tenants,
    a_community_is_updated_and_read_back_by_its_current_name,
    a_community_is_deleted_only_without_other_tenants_or_open_invitations,
    a_delete_racing_an_invite_leaves_no_half_deleted_community,
);

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// Asserts that `result` is an `Err` matching `pattern` (and the optional guard), showing what it was otherwise.
macro_rules! assert_fails {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern $(if $guard)?)),
        }
    };
}

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
async fn invite(store: &dyn Store, c: &Community, by: &Principal, recipient: &str, at: Timestamp) -> Invitation {
    let (inv, _) = invitation(c, recipient, by, at);
    store.create_invitation(&inv, at).await.expect("create_invitation");
    inv
}

/// The invitation as stored now.
async fn stored(store: &dyn Store, id: InvitationId) -> Invitation {
    store.get_invitation(id).await.expect("get_invitation").expect("the invitation is stored")
}

fn accept(c: &Community, read: &Invitation, guest: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Accept, as_recipient(guest), contact(), at, policy()).expect("the domain allows Accept")
}

fn confirm(c: &Community, read: &Invitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Confirm, as_community_admin(by), None, at, policy()).expect("the domain allows Confirm")
}

fn decline_as_admin(c: &Community, read: &Invitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Decline, as_community_admin(by), None, at, policy()).expect("the domain allows Decline")
}

fn decline_as_recipient(c: &Community, read: &Invitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Decline, as_recipient(by), None, at, policy()).expect("the domain allows Decline")
}

fn resend(c: &Community, read: &Invitation, by: &Principal, at: Timestamp) -> Transition {
    read.process(c, Action::Resend, as_community_admin(by), None, at, policy()).expect("the domain allows Resend")
}

fn delete(read: &Invitation, by: &Principal, at: Timestamp) -> Transition {
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
) -> Invitation {
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
    listed_invitations: Vec<Invitation>,
    invitations: Vec<Option<Invitation>>,
    memberships: Vec<Option<Membership>>,
    tenant_communities: Vec<Vec<Membership>>,
    accepted: Vec<Vec<Invitation>>,
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

fn ids(invitations: &[Invitation]) -> Vec<InvitationId> {
    invitations.iter().map(|i| i.id).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Communities and members
// ---------------------------------------------------------------------------------------------------------------

async fn communities_and_owner_memberships_round_trip(store: &dyn Store) {
    let owner = admin("owner");
    let (c, m) = new_community(store, &owner, "Shared Ops", T0).await;

    assert_eq!(store.get_community(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(store.get_membership(c.id, &owner.tenant).await.unwrap(), Some(m.clone()));
    assert!(m.is_owner && m.status == MemberStatus::Active);
    assert_eq!(store.get_membership(c.id, &tenant("stranger")).await.unwrap(), None);
    assert_eq!(store.get_community(CommunityId::new()).await.unwrap(), None);
    assert_eq!(store.get_membership(CommunityId::new(), &owner.tenant).await.unwrap(), None);
    assert_eq!(all(async |req| store.list_members(c.id, &req).await).await, std::slice::from_ref(&m));
    assert_eq!(
        all(async |req| store.list_tenant_communities(&owner.tenant, &req).await).await,
        std::slice::from_ref(&m)
    );

    // A community is created once: a second write with the same id is refused and changes nothing.
    let other = admin("other");
    let before = snapshot(store, c.id, &[], &[&owner.tenant, &other.tenant]).await;
    let (mut again, mut again_owner) = community(&other, "Impostor", T0.plus_minutes(1));
    again.id = c.id;
    again_owner.community_id = c.id;
    assert_fails!(store.create_community(&again, &again_owner).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[], &[&owner.tenant, &other.tenant]).await, before);
}

/// `get_membership_and_community`, `get_membership_and_invitation` and `get_community_with_members` answer exactly
/// what the single reads would, whichever item is missing.
async fn paired_reads_answer_as_the_single_reads_do(store: &dyn Store) {
    let owner = admin("owner");
    let stranger = tenant("stranger");
    let (c, m) = new_community(store, &owner, "Shared Ops", T0).await;
    let i = invite(store, &c, &owner, "bob@guest.example", T0).await;
    // The invitation is counted on the community.
    let c = Community { open_invitations: 1, ..c };
    let missing_community = CommunityId::new();
    let missing_invitation = InvitationId::new();

    assert_eq!(
        store.get_membership_and_community(c.id, &owner.tenant).await.unwrap(),
        (Some(m.clone()), Some(c.clone()))
    );
    assert_eq!(store.get_membership_and_community(c.id, &stranger).await.unwrap(), (None, Some(c.clone())));
    assert_eq!(store.get_membership_and_community(missing_community, &owner.tenant).await.unwrap(), (None, None));

    assert_eq!(
        store.get_membership_and_invitation(c.id, &owner.tenant, i.id).await.unwrap(),
        (Some(m.clone()), Some(stored(store, i.id).await))
    );
    assert_eq!(
        store.get_membership_and_invitation(c.id, &owner.tenant, missing_invitation).await.unwrap(),
        (Some(m), None)
    );
    assert_eq!(
        store.get_membership_and_invitation(c.id, &stranger, i.id).await.unwrap(),
        (None, Some(stored(store, i.id).await))
    );
    // The community with the first page of its tenants, as list_members pages them.
    let guest = admin("guest");
    join(store, &c, &owner, &guest, T0, true).await;
    let (found, page) = store.get_community_with_members(c.id, 1).await.unwrap();
    assert_eq!(found, store.get_community(c.id).await.unwrap());
    assert_eq!(found.map(|c| (c.open_invitations, c.members)), Some((1, 2)), "Bob's is open, the guest is in");
    assert_eq!(page, store.list_members(c.id, &first_page(1)).await.unwrap());
    let (_, page) = store.get_community_with_members(c.id, 10).await.unwrap();
    assert_eq!(page, store.list_members(c.id, &first_page(10)).await.unwrap());
    let (found, page) = store.get_community_with_members(missing_community, 10).await.unwrap();
    assert_eq!((found, page.items.len(), page.next), (None, 0, None));

    // The invitation is returned whatever community it belongs to: the caller checks.
    assert_eq!(
        store.get_membership_and_invitation(missing_community, &owner.tenant, i.id).await.unwrap(),
        (None, Some(stored(store, i.id).await))
    );
}

async fn members_are_listed_by_tenant_ascending(store: &dyn Store) {
    let owner = admin("owner");
    let (c, owner_membership) = new_community(store, &owner, "Ops", T0).await;
    // Joined in an order unlike the tenants' order; some confirmed, some still waiting.
    for (i, name) in ["t-5", "t-2", "t-9", "t-1", "a-0"].into_iter().enumerate() {
        join(store, &c, &owner, &admin(name), T0.plus_minutes(i as i64 + 1), i % 2 == 0).await;
    }
    // Another community's members stay out.
    let (other, _) = new_community(store, &admin("t-3"), "Elsewhere", T0).await;
    join(store, &other, &admin("t-3"), &admin("t-4"), T0, true).await;

    let members = all(async |req| store.list_members(c.id, &req).await).await;
    let tenants: Vec<&str> = members.iter().map(|m| m.tenant.as_str()).collect();
    assert_eq!(tenants, ["a-0", "owner", "t-1", "t-2", "t-5", "t-9"]);
    assert_eq!(members[1], owner_membership);
    let statuses: Vec<MemberStatus> = members.iter().map(|m| m.status).collect();
    use MemberStatus::{Active, AwaitingConfirmation as Waiting};
    assert_eq!(statuses, [Active, Active, Waiting, Waiting, Active, Active]);
    assert!(members.iter().all(|m| m.community_id == c.id && m.is_owner == (m.tenant == owner.tenant)));
}

async fn a_tenants_communities_are_its_active_memberships_newest_first(store: &dyn Store) {
    let guest = admin("guest");
    let (_, own_membership) = new_community(store, &guest, "Own", T0).await;
    let (owner1, owner2) = (admin("owner-1"), admin("owner-2"));
    let (c1, _) = new_community(store, &owner1, "One", T0).await;
    let (c2, _) = new_community(store, &owner2, "Two", T0).await;
    let communities = async || all(async |req| store.list_tenant_communities(&guest.tenant, &req).await).await;

    let inv1 = invite(store, &c1, &owner1, &admin_email("guest"), T0).await;
    let inv2 = invite(store, &c2, &owner2, &admin_email("guest"), T0).await;
    let accepted1 = accept(&c1, &inv1, &guest, T0.plus_minutes(10));
    let accepted2 = accept(&c2, &inv2, &guest, T0.plus_minutes(20));
    store.apply(&accepted1).await.unwrap();
    store.apply(&accepted2).await.unwrap();
    // Awaiting confirmation: members of the community, but not yet among the tenant's communities.
    assert_eq!(
        store.get_membership(c1.id, &guest.tenant).await.unwrap().map(|m| m.status),
        Some(MemberStatus::AwaitingConfirmation)
    );
    assert_eq!(communities().await, std::slice::from_ref(&own_membership));

    store.apply(&confirm(&c1, &accepted1.invitation, &owner1, T0.plus_minutes(30))).await.unwrap();
    let active1 = Membership { status: MemberStatus::Active, ..joining(&accepted1) };
    assert_eq!(communities().await, [active1.clone(), own_membership.clone()]);

    store.apply(&confirm(&c2, &accepted2.invitation, &owner2, T0.plus_minutes(40))).await.unwrap();
    let active2 = Membership { status: MemberStatus::Active, ..joining(&accepted2) };
    // Newest membership (by when it joined) first.
    assert_eq!(communities().await, [active2, active1, own_membership]);
    // Other tenants see only their own.
    assert_eq!(all(async |req| store.list_tenant_communities(&owner1.tenant, &req).await).await.len(), 1);
    assert_eq!(all(async |req| store.list_tenant_communities(&tenant("nobody"), &req).await).await, []);
}

// ---------------------------------------------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------------------------------------------

async fn one_live_invitation_per_community_and_recipient(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (elsewhere, _) = new_community(store, &owner, "Elsewhere", T0).await;
    let first = invite(store, &c, &owner, "Bob@Guest.example.com", T0).await;
    assert_eq!(stored(store, first.id).await, first);

    // The same recipient in any letter case, while the first is live: refused, naming the first; nothing written.
    let before = snapshot(store, c.id, &[first.id], &[]).await;
    assert_lock_held(store, &c, &owner, "bob@GUEST.example.com", T0.plus_minutes(1), first.id).await;
    assert_lock_held(store, &c, &owner, "BOB@guest.example.com", first.expires.plus_minutes(-1), first.id).await;
    let last_live_instant = Timestamp::from_millis(first.expires.millis() - 1);
    assert_lock_held(store, &c, &owner, "bob@guest.example.com", last_live_instant, first.id).await;
    // Writing the same invitation twice is a conflict.
    assert_fails!(store.create_invitation(&first, T0).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[first.id], &[]).await, before);

    // Another recipient, or the same recipient in another community, is independent.
    invite(store, &c, &owner, "carol@guest.example.com", T0.plus_minutes(2)).await;
    invite(store, &elsewhere, &owner, "bob@guest.example.com", T0.plus_minutes(2)).await;

    // Once the first has expired (judged by the `now` given), a new one takes the lock.
    let second = invite(store, &c, &owner, "bob@guest.example.com", first.expires).await;
    assert_lock_held(store, &c, &owner, "bob@guest.example.com", first.expires.plus_minutes(1), second.id).await;
    // The expired one is still stored and listed, as it was.
    assert_eq!(stored(store, first.id).await, first);
    let listed = all(async |req| store.list_community_invitations(c.id, &req).await).await;
    assert!(listed.contains(&first) && listed.contains(&second));
}

async fn community_invitations_are_listed_newest_first_without_deleted_ones(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (other, _) = new_community(store, &owner, "Other", T0).await;
    let a = invite(store, &c, &owner, "a@x.example.com", T0).await;
    let b = invite(store, &c, &owner, "b@x.example.com", T0.plus_minutes(1)).await;
    let d = invite(store, &c, &owner, "d@x.example.com", T0.plus_minutes(2)).await;
    let x = invite(store, &other, &owner, "a@x.example.com", T0.plus_minutes(3)).await;
    let list = async |id: CommunityId| all(async |req| store.list_community_invitations(id, &req).await).await;
    assert_eq!(list(c.id).await, [d.clone(), b.clone(), a.clone()]);

    let deleted = delete(&b, &owner, T0.plus_minutes(4));
    store.apply(&deleted).await.unwrap();
    assert_eq!(list(c.id).await, [d, a]);
    assert_eq!(list(other.id).await, [x]);
    // Deleted invitations stay stored for the record; callers decide what to show.
    let kept = stored(store, b.id).await;
    assert_eq!(kept.state, StoredState::Deleted);
    assert_eq!(kept, deleted.invitation);
    assert_eq!(list(CommunityId::new()).await, []);
}

// ---------------------------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------------------------

/// One of the store's four lists, its items reduced to what identifies them.
#[derive(Clone, Copy)]
enum Listing<'a> {
    Members(CommunityId),
    TenantCommunities(&'a TenantId),
    CommunityInvitations(CommunityId),
    Accepted(&'a TenantId),
}

async fn list(store: &dyn Store, listing: Listing<'_>, req: &PageRequest) -> StoreResult<Page<String>> {
    fn keep<T>(page: Page<T>, key: impl Fn(&T) -> String) -> Page<String> {
        Page { items: page.items.iter().map(key).collect(), next: page.next }
    }
    Ok(match listing {
        Listing::Members(c) => keep(store.list_members(c, req).await?, |m| m.tenant.to_string()),
        Listing::TenantCommunities(t) => {
            keep(store.list_tenant_communities(t, req).await?, |m| m.community_id.to_string())
        }
        Listing::CommunityInvitations(c) => keep(store.list_community_invitations(c, req).await?, |i| i.id.to_string()),
        Listing::Accepted(t) => keep(store.list_accepted_invitations(t, req).await?, |i| i.id.to_string()),
    })
}

/// Asserts that every way of paging through `listing` shows `expected` (in that order) exactly once.
async fn assert_pages(store: &dyn Store, listing: Listing<'_>, expected: &[String]) {
    let n = expected.len();
    assert_eq!(n, 7, "the paging walk is written for seven items");
    for count in 1..=n as u32 + 1 {
        let mut seen: Vec<String> = Vec::new();
        let mut req = first_page(count);
        loop {
            let page = list(store, listing, &req).await.expect("list");
            assert!(page.items.len() <= count as usize);
            seen.extend(page.items.iter().cloned());
            assert!(seen.len() <= n, "count {count}: more items than there are: {seen:?}");
            match page.next {
                Some(cursor) => {
                    assert_eq!(page.items.len(), count as usize, "count {count}: a page before the last is full");
                    req = page_after(&cursor, count);
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "count {count}: every item once, in order");
    }

    let page = |skip: u32, count: u32, after: Option<&Cursor>| PageRequest { skip, count, after: after.cloned() };
    let read = async |req: PageRequest| list(store, listing, &req).await.expect("list");
    let p = read(page(2, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[2..5], true));
    let p = read(page(4, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[4..7], false), "the last item ends the list");
    let p = read(page(5, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[5..], false));
    let p = read(page(7, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&[][..], false));
    let p = read(page(1_000, 3, None)).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&[][..], false));
    // `skip` counts from the cursor.
    let cursor = read(page(0, 3, None)).await.next.expect("more after the first three");
    let p = read(page(1, 2, Some(&cursor))).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[4..6], true));
    let p = read(page(2, 5, Some(&cursor))).await;
    assert_eq!((p.items.as_slice(), p.next.is_some()), (&expected[5..], false));
}

async fn paging_walks_every_item_exactly_once(store: &dyn Store) {
    let guest = admin("guest");
    // Seven communities invite the guest; issue and acceptance times tie in places, so ids break the ties.
    let minutes = [0, 1, 1, 2, 3, 3, 3];
    let mut accepted = Vec::new();
    for (i, m) in minutes.into_iter().enumerate() {
        let owner = admin(&format!("owner-{i}"));
        let (c, _) = new_community(store, &owner, &format!("Community {i}"), T0).await;
        let inv = invite(store, &c, &owner, &admin_email("guest"), T0.plus_minutes(m)).await;
        let t = accept(&c, &inv, &guest, T0.plus_minutes(10 + m));
        store.apply(&t).await.unwrap();
        accepted.push((c, owner, t));
    }
    // Newest first, ties by id, descending: what the zero-padded "time#id" sort value gives.
    let mut newest_first: Vec<(i64, String)> =
        accepted.iter().map(|(_, _, t)| (t.invitation.issued.millis(), t.invitation.id.to_string())).collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = newest_first.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::Accepted(&guest.tenant), &expected).await;

    for (c, owner, t) in &accepted {
        store.apply(&confirm(c, &t.invitation, owner, T0.plus_minutes(30))).await.unwrap();
    }
    let mut newest_first: Vec<(i64, String)> =
        accepted.iter().map(|(c, _, t)| (joining(t).joined.millis(), c.id.to_string())).collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = newest_first.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::TenantCommunities(&guest.tenant), &expected).await;

    // Seven members of one community (the owner and six guests), and seven of its invitations.
    let (c, owner, _) = &accepted[0];
    let mut tenants = vec![owner.tenant.to_string(), guest.tenant.to_string()];
    let mut invitations = vec![(accepted[0].2.invitation.issued.millis(), accepted[0].2.invitation.id.to_string())];
    for (i, name) in ["m-4", "m-1", "m-5", "m-3", "m-2"].into_iter().enumerate() {
        let inv = join(store, c, owner, &admin(name), T0.plus_minutes(minutes[i]), i % 2 == 0).await;
        tenants.push(name.to_owned());
        invitations.push((inv.issued.millis(), inv.id.to_string()));
    }
    tenants.sort();
    assert_pages(store, Listing::Members(c.id), &tenants).await;
    let pending = invite(store, c, owner, "pending@x.example.com", T0.plus_minutes(3)).await;
    invitations.push((pending.issued.millis(), pending.id.to_string()));
    invitations.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = invitations.into_iter().map(|(_, id)| id).collect();
    assert_pages(store, Listing::CommunityInvitations(c.id), &expected).await;
}

async fn malformed_cursors_are_refused(store: &dyn Store) {
    let guest = admin("guest");
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (other, _) = new_community(store, &owner, "Other", T0).await;
    // One item in each list: an Active membership, an invitation of `c`, an accepted invitation (to `other`).
    join(store, &c, &owner, &guest, T0, true).await;
    join(store, &other, &owner, &guest, T0, false).await;
    let uuid = InvitationId::new().to_string();
    let with = |sort: String| PageRequest { skip: 0, count: 5, after: Some(Cursor { sort }) };

    let time_ordered = [
        Listing::TenantCommunities(&guest.tenant),
        Listing::CommunityInvitations(c.id),
        Listing::Accepted(&guest.tenant),
    ];
    let bad_time_cursors = [
        String::new(),
        "garbage".to_owned(),
        "#".to_owned(),
        format!("{}#{uuid}", T0.millis()),         // not zero-padded to 15 digits
        format!("0{:015}#{uuid}", T0.millis()),    // 16 digits
        format!("{:015}", T0.millis()),            // no id
        format!("{:015}#", T0.millis()),           // empty id
        format!("{:015}#not-a-guid", T0.millis()), // id is not a GUID
        format!("00000000000000x#{uuid}"),         // not digits
        format!("-{:014}#{uuid}", T0.millis()),    // negative
        "guest".to_owned(),                        // a members cursor
    ];
    for listing in time_ordered {
        for sort in &bad_time_cursors {
            let result = list(store, listing, &with(sort.clone())).await;
            assert!(matches!(result, Err(StoreError::InvalidCursor)), "cursor {sort:?}: {result:?}");
        }
        // A well-formed position is accepted even if no item is there: it is only a place in the order.
        let page = list(store, listing, &with(format!("{:015}#{uuid}", 0))).await.expect("a well-formed cursor");
        assert_eq!(page, Page { items: vec![], next: None }, "nothing sorts before time zero");
        let page = list(store, listing, &with(format!("{:015}#{uuid}", 999_999_999_999_999_i64))).await;
        assert_eq!(page.expect("a well-formed cursor").items.len(), 1, "everything sorts before the far future");
    }

    let members = Listing::Members(c.id);
    let bad_tenant_cursors = [
        String::new(),
        "a#b".to_owned(),
        "has space".to_owned(),
        "x".repeat(65),
        format!("{:015}#{uuid}", T0.millis()),
    ];
    for sort in bad_tenant_cursors {
        assert_fails!(list(store, members, &with(sort)).await, StoreError::InvalidCursor);
    }
    // Any valid tenant id is a position: "h" sorts between "guest" and "owner".
    assert_eq!(
        list(store, members, &with("h".into())).await.expect("a valid tenant"),
        Page { items: vec!["owner".into()], next: None }
    );
    assert_eq!(
        list(store, members, &with("zzz".into())).await.expect("a valid tenant"),
        Page { items: vec![], next: None }
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------------------------

async fn accept_joins_the_tenant_and_releases_the_lock(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let inv = invite(store, &c, &owner, &admin_email("guest"), T0).await;

    let read = stored(store, inv.id).await;
    let t = accept(&c, &read, &guest, T0.plus_minutes(HOUR));
    store.apply(&t).await.expect("Accept applies");

    let now = stored(store, inv.id).await;
    assert_eq!(now, t.invitation);
    assert_eq!((now.state, now.version, now.invited_tenant.as_ref()), (StoredState::Accepted, 2, Some(&guest.tenant)));
    let membership = store.get_membership(c.id, &guest.tenant).await.unwrap().expect("the guest joined");
    assert_eq!(membership, joining(&t));
    assert_eq!((membership.status, membership.is_owner), (MemberStatus::AwaitingConfirmation, false));
    assert!(all(async |req| store.list_members(c.id, &req).await).await.contains(&membership));
    assert_eq!(all(async |req| store.list_tenant_communities(&guest.tenant, &req).await).await, []);
    assert_eq!(
        all(async |req| store.list_accepted_invitations(&guest.tenant, &req).await).await,
        std::slice::from_ref(&now)
    );
    // Still listed in the community (it is not deleted).
    assert_eq!(all(async |req| store.list_community_invitations(c.id, &req).await).await, [now]);
    // The lock is free again: a new invitation for the same recipient may be created.
    invite(store, &c, &owner, &admin_email("guest"), T0.plus_minutes(2 * HOUR)).await;
}

async fn a_stale_read_cannot_be_applied(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let read = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    let t = accept(&c, &read, &guest, T0.plus_minutes(1));
    store.apply(&t).await.expect("the first apply wins");

    let before = snapshot(store, c.id, &[read.id], &[&guest.tenant]).await;
    // The same change again, and other changes decided from the same (now stale) read, all conflict.
    assert_fails!(store.apply(&t).await, StoreError::Conflict);
    assert_fails!(
        store.apply(&decline_as_recipient(&c, &read, &guest, T0.plus_minutes(2))).await,
        StoreError::Conflict
    );
    assert_fails!(store.apply(&resend(&c, &read, &owner, T0.plus_minutes(20))).await, StoreError::Conflict);
    assert_fails!(store.apply(&delete(&read, &owner, T0.plus_minutes(2))).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[read.id], &[&guest.tenant]).await, before);

    // A change to an invitation that was never written conflicts too.
    let (ghost, _) = invitation(&c, "admin@ghost.example.com", &owner, T0);
    assert_fails!(store.apply(&accept(&c, &ghost, &admin("ghost"), T0)).await, StoreError::Conflict);
    assert_eq!(store.get_invitation(ghost.id).await.unwrap(), None);
    assert_eq!(store.get_membership(c.id, &tenant("ghost")).await.unwrap(), None);
}

async fn of_two_concurrent_accepts_exactly_one_wins(store: &dyn Store) {
    let owner = admin("owner");
    for round in 0..5 {
        let (c, _) = new_community(store, &owner, &format!("Race {round}"), T0).await;
        let read = invite(store, &c, &owner, "shared@guest.example.com", T0).await;
        // Two tenants' administrators share the recipient's mailbox; the last round races the same tenant twice.
        let first = admin_with("guest-a", "shared@guest.example.com");
        let second = admin_with(if round == 4 { "guest-a" } else { "guest-b" }, "shared@guest.example.com");
        let (t1, t2) = (accept(&c, &read, &first, T0.plus_minutes(1)), accept(&c, &read, &second, T0.plus_minutes(1)));

        let (r1, r2) = tokio::join!(store.apply(&t1), store.apply(&t2));
        let (winner, loser, lost) = match (r1, r2) {
            (Ok(()), Err(e)) => (&t1, &second, e),
            (Err(e), Ok(())) => (&t2, &first, e),
            other => panic!("round {round}: expected exactly one Ok, got {other:?}"),
        };
        assert!(
            matches!(lost, StoreError::Conflict | StoreError::AlreadyMember),
            "round {round}: the loser got {lost:?}"
        );

        assert_eq!(stored(store, read.id).await, winner.invitation);
        let winner_tenant = winner.invitation.invited_tenant.as_ref().expect("accepted by a tenant");
        assert_eq!(store.get_membership(c.id, winner_tenant).await.unwrap(), Some(joining(winner)));
        if &loser.tenant != winner_tenant {
            assert_eq!(store.get_membership(c.id, &loser.tenant).await.unwrap(), None, "round {round}");
        }
        let members = all(async |req| store.list_members(c.id, &req).await).await;
        assert_eq!(members.len(), 2, "round {round}: the owner and the winner");
    }
}

async fn accept_of_an_expired_invitation_conflicts(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let read = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    let before = snapshot(store, c.id, &[read.id], &[&guest.tenant]).await;

    // The store judges liveness at `at` from the stored expiry: at the expiry instant, or after it, the invitation
    // is no longer live, whatever the decision was based on.
    for at in [read.expires, read.expires.plus_minutes(DAY)] {
        let mut t = accept(&c, &read, &guest, read.expires.plus_minutes(-1));
        t.at = at;
        assert_fails!(store.apply(&t).await, StoreError::Conflict);
    }
    // Declining requires a live invitation too.
    let mut t = decline_as_recipient(&c, &read, &guest, T0);
    t.at = read.expires;
    assert_fails!(store.apply(&t).await, StoreError::Conflict);

    assert_eq!(snapshot(store, c.id, &[read.id], &[&guest.tenant]).await, before);
    assert_lock_held(store, &c, &owner, &admin_email("guest"), T0.plus_minutes(1), read.id).await;
}

async fn a_tenant_already_in_the_community_cannot_join_again(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let first = join(store, &c, &owner, &guest, T0, false).await;

    // Another administrator of the same tenant accepts a second invitation.
    let colleague = admin_with("guest", "colleague@guest.example.com");
    let second = invite(store, &c, &owner, "colleague@guest.example.com", T0.plus_minutes(HOUR)).await;
    let t = accept(&c, &second, &colleague, T0.plus_minutes(2 * HOUR));
    let before = snapshot(store, c.id, &[first.id, second.id], &[&guest.tenant]).await;
    assert_fails!(store.apply(&t).await, StoreError::AlreadyMember);
    assert_eq!(snapshot(store, c.id, &[first.id, second.id], &[&guest.tenant]).await, before);
    assert_lock_held(store, &c, &owner, "colleague@guest.example.com", T0.plus_minutes(3 * HOUR), second.id).await;

    // The owner's tenant is a member already, too.
    let insider = admin_with("owner", "insider@owner.example.com");
    let third = invite(store, &c, &owner, "insider@owner.example.com", T0).await;
    let before = snapshot(store, c.id, &[third.id], &[&owner.tenant]).await;
    assert_fails!(store.apply(&accept(&c, &third, &insider, T0.plus_minutes(1))).await, StoreError::AlreadyMember);
    assert_eq!(snapshot(store, c.id, &[third.id], &[&owner.tenant]).await, before);
}

async fn confirm_activates_the_waiting_member(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let accepted = join(store, &c, &owner, &guest, T0.plus_minutes(HOUR), false).await;
    let waiting = store.get_membership(c.id, &guest.tenant).await.unwrap().expect("waiting");

    // Confirmation does not depend on the invitation's expiry: accepted invitations wait as long as it takes.
    let t = confirm(&c, &accepted, &owner, accepted.expires.plus_minutes(DAY));
    store.apply(&t).await.expect("Confirm applies");
    let active = Membership { status: MemberStatus::Active, ..waiting };
    assert_eq!(store.get_membership(c.id, &guest.tenant).await.unwrap(), Some(active.clone()));
    assert_eq!(stored(store, accepted.id).await, t.invitation);
    assert_eq!(t.invitation.state, StoredState::Completed);
    assert_eq!(all(async |req| store.list_tenant_communities(&guest.tenant, &req).await).await, [active]);
    assert_eq!(all(async |req| store.list_accepted_invitations(&guest.tenant, &req).await).await, []);

    let before = snapshot(store, c.id, &[accepted.id], &[&guest.tenant]).await;
    assert_fails!(store.apply(&t).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[accepted.id], &[&guest.tenant]).await, before);

    // A waiting tenant cannot be removed behind its invitation's back (it would leave the invitation stuck in
    // Accepted): it leaves through Decline. Refusing changes nothing, and Confirm still works afterwards.
    let late = admin("late");
    let accepted = join(store, &c, &owner, &late, T0, false).await;
    let before = snapshot(store, c.id, &[accepted.id], &[&late.tenant]).await;
    assert_fails!(store.remove_member(c.id, &late.tenant).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[accepted.id], &[&late.tenant]).await, before);
    store.apply(&confirm(&c, &accepted, &owner, T0.plus_minutes(1))).await.expect("Confirm still applies");
}

async fn decline_removes_the_waiting_member_or_frees_the_lock(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;

    // A community admin declines an accepted invitation: the waiting tenant leaves.
    let accepted = join(store, &c, &owner, &guest, T0, false).await;
    let t = decline_as_admin(&c, &accepted, &owner, T0.plus_minutes(1));
    store.apply(&t).await.expect("Decline applies");
    assert_eq!(stored(store, accepted.id).await, t.invitation);
    assert_eq!(t.invitation.state, StoredState::Declined);
    assert_eq!(store.get_membership(c.id, &guest.tenant).await.unwrap(), None);
    assert_eq!(all(async |req| store.list_accepted_invitations(&guest.tenant, &req).await).await, []);
    assert_eq!(all(async |req| store.list_members(c.id, &req).await).await.len(), 1);
    assert_eq!(ids(&all(async |req| store.list_community_invitations(c.id, &req).await).await), [accepted.id]);
    let before = snapshot(store, c.id, &[accepted.id], &[&guest.tenant]).await;
    assert_fails!(store.apply(&t).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[accepted.id], &[&guest.tenant]).await, before);

    // The recipient declines a pending invitation: the lock is freed for a new one.
    let carol = admin_with("carol", "carol@x.example.com");
    let pending = invite(store, &c, &owner, "carol@x.example.com", T0).await;
    let t = decline_as_recipient(&c, &pending, &carol, T0.plus_minutes(1));
    store.apply(&t).await.expect("Decline applies");
    assert_eq!(stored(store, pending.id).await.state, StoredState::Declined);
    assert_eq!(store.get_membership(c.id, &carol.tenant).await.unwrap(), None);
    invite(store, &c, &owner, "carol@x.example.com", T0.plus_minutes(2)).await;
}

async fn resend_retakes_the_lock_unless_another_invitation_holds_it(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;

    // Resent after it expired: live again, with a new expiry, and holding the lock again.
    let inv = invite(store, &c, &owner, "bob@x.example.com", T0).await;
    let later = inv.expires.plus_minutes(DAY);
    let t = resend(&c, &inv, &owner, later);
    store.apply(&t).await.expect("Resend applies");
    let resent = stored(store, inv.id).await;
    assert_eq!(resent, t.invitation);
    assert_eq!((resent.expires, resent.version, resent.state), (later.plus_days(14), 2, StoredState::Created));
    assert_lock_held(store, &c, &owner, "bob@x.example.com", later.plus_minutes(1), inv.id).await;
    // Resent while live and still holding its own lock.
    let t = resend(&c, &resent, &owner, later.plus_minutes(HOUR));
    store.apply(&t).await.expect("Resend applies");
    assert_lock_held(store, &c, &owner, "bob@x.example.com", later.plus_minutes(2 * HOUR), inv.id).await;

    // Expired, and meanwhile another invitation for the same recipient took the lock: resending is refused,
    // naming the holder, and nothing changes.
    let old = invite(store, &c, &owner, "carol@x.example.com", T0).await;
    let newer = invite(store, &c, &owner, "Carol@X.example.com", old.expires).await;
    let before = snapshot(store, c.id, &[old.id, newer.id], &[]).await;
    let t = resend(&c, &old, &owner, old.expires.plus_minutes(HOUR));
    assert_fails!(store.apply(&t).await, StoreError::PendingInvitation(id) if id == newer.id);
    assert_eq!(snapshot(store, c.id, &[old.id, newer.id], &[]).await, before);
    assert_lock_held(store, &c, &owner, "carol@x.example.com", old.expires.plus_minutes(2 * HOUR), newer.id).await;
}

async fn delete_withdraws_an_invitation(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;

    // A live invitation: withdrawn, unlisted, and its lock freed.
    let live = invite(store, &c, &owner, "bob@x.example.com", T0).await;
    let t = delete(&live, &owner, T0.plus_minutes(1));
    store.apply(&t).await.expect("Delete applies");
    assert_eq!(stored(store, live.id).await, t.invitation);
    assert!(t.invitation.is_deleted());
    assert_eq!(all(async |req| store.list_community_invitations(c.id, &req).await).await, []);
    let replacement = invite(store, &c, &owner, "bob@x.example.com", T0.plus_minutes(2)).await;
    let before = snapshot(store, c.id, &[live.id, replacement.id], &[]).await;
    assert_fails!(store.apply(&t).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[live.id, replacement.id], &[]).await, before);

    // An expired invitation whose lock another invitation took: deleting it leaves that lock alone.
    let expired = invite(store, &c, &owner, "carol@x.example.com", T0).await;
    let holder = invite(store, &c, &owner, "carol@x.example.com", expired.expires).await;
    store.apply(&delete(&expired, &owner, expired.expires.plus_minutes(1))).await.expect("Delete applies");
    assert!(stored(store, expired.id).await.is_deleted());
    assert_lock_held(store, &c, &owner, "carol@x.example.com", expired.expires.plus_minutes(2), holder.id).await;

    // An accepted invitation: the waiting tenant leaves with it.
    let accepted = join(store, &c, &owner, &guest, T0, false).await;
    store.apply(&delete(&accepted, &owner, T0.plus_minutes(1))).await.expect("Delete applies");
    assert!(stored(store, accepted.id).await.is_deleted());
    assert_eq!(store.get_membership(c.id, &guest.tenant).await.unwrap(), None);
    assert_eq!(all(async |req| store.list_accepted_invitations(&guest.tenant, &req).await).await, []);
    assert_eq!(
        ids(&all(async |req| store.list_community_invitations(c.id, &req).await).await),
        [holder.id, replacement.id]
    );
}

/// Claims a community invitation's delivery, as the consumer does.
async fn claim(store: &dyn Store, id: InvitationId, seq: u64, at: Timestamp) -> StoreResult<Option<Invitation>> {
    Ok(store.claim_delivery(MailItem::Community(id), seq, at).await?.map(|claimed| match claimed {
        Claimed::Community(invitation) => invitation,
        Claimed::Platform(other) => panic!("a community claim answered with platform invitation {}", other.id),
    }))
}

async fn a_delivery_is_claimed_once_and_its_outcome_recorded_once(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (mut inv, _) = invitation(&c, "bob@x.example.com", &owner, T0);
    inv.attach_link("https://x.example/invite/1".into(), "sealed".into());
    store.create_invitation(&inv, T0).await.expect("create");
    let pending = stored(store, inv.id).await.delivery.expect("the invitation email is owed");
    assert_eq!((pending.seq, pending.state, pending.attempts), (1, DeliveryState::Pending, 0));
    assert_eq!(pending.sealed_secret.as_deref(), Some("sealed"));

    assert_eq!(claim(store, inv.id, 2, T0).await.unwrap(), None, "no such delivery");
    assert_eq!(claim(store, InvitationId::new(), 1, T0).await.unwrap(), None, "no such invitation");
    let claimed = claim(store, inv.id, 1, T0).await.unwrap().expect("the first claim wins");
    let d = claimed.delivery.clone().unwrap();
    assert_eq!((d.state, d.attempts, d.claimed), (DeliveryState::Sending, 1, Some(T0)));
    assert_eq!(claimed.version, inv.version + 1, "a claim is a change: stale reads of the invitation conflict");
    assert_eq!(stored(store, inv.id).await, claimed);
    assert_eq!(claim(store, inv.id, 1, T0.plus_minutes(1)).await.unwrap(), None, "a live claim holds");

    let sent = DeliveryOutcome::Sent { message_id: "m-1".into() };
    assert_fails!(store.finish_delivery(MailItem::Community(inv.id), 2, &sent, T0).await, StoreError::Conflict);
    store.finish_delivery(MailItem::Community(inv.id), 1, &sent, T0.plus_minutes(1)).await.expect("record sent");
    let done = stored(store, inv.id).await;
    let d = done.delivery.clone().unwrap();
    assert_eq!(
        (d.state, d.message_id.as_deref(), d.sent),
        (DeliveryState::Sent, Some("m-1"), Some(T0.plus_minutes(1)))
    );
    assert_eq!(d.sealed_secret, None, "the sealed secret goes once sent");
    assert_eq!(done.version, inv.version + 2);
    assert_fails!(store.finish_delivery(MailItem::Community(inv.id), 1, &sent, T0).await, StoreError::Conflict);
    assert_eq!(claim(store, inv.id, 1, T0.plus_days(1)).await.unwrap(), None, "sent is sent");
    assert_eq!(stored(store, inv.id).await, done);
}

async fn a_failed_or_stale_delivery_is_claimed_again_and_a_newer_one_wins(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let inv = invite(store, &c, &owner, "bob@x.example.com", T0).await;
    claim(store, inv.id, 1, T0).await.unwrap().expect("claimed");
    let failed = DeliveryOutcome::Failed { reason: "MessageRejected: not verified".into() };
    store.finish_delivery(MailItem::Community(inv.id), 1, &failed, T0).await.expect("record failed");
    let d = stored(store, inv.id).await.delivery.unwrap();
    assert_eq!(
        (d.state, d.failure.as_deref(), d.attempts),
        (DeliveryState::Failed, Some("MessageRejected: not verified"), 1)
    );

    // A retry claims the failed delivery again; a claim whose sender died is retaken once stale, not before.
    claim(store, inv.id, 1, T0.plus_minutes(1)).await.unwrap().expect("a failed delivery is retried");
    let fresh = T0.plus_minutes(1 + CLAIM_STALE_MINUTES);
    assert_eq!(claim(store, inv.id, 1, fresh).await.unwrap(), None);
    let retaken = claim(store, inv.id, 1, fresh.plus_minutes(1)).await.unwrap().expect("stale claim retaken");
    assert_eq!(retaken.delivery.unwrap().attempts, 3);

    // Resend owes a newer delivery: the old one's outcome can no longer land on it.
    let read = stored(store, inv.id).await;
    store.apply(&resend(&c, &read, &owner, T0.plus_days(1))).await.expect("Resend applies");
    let d = stored(store, inv.id).await.delivery.unwrap();
    assert_eq!((d.seq, d.state, d.attempts), (2, DeliveryState::Pending, 0));
    assert_fails!(store.finish_delivery(MailItem::Community(inv.id), 1, &failed, T0).await, StoreError::Conflict);
    assert_eq!(claim(store, inv.id, 1, T0.plus_days(2)).await.unwrap(), None);
    assert!(claim(store, inv.id, 2, T0.plus_days(1)).await.unwrap().is_some());
}

/// Accept, then Confirm before the Accepted notice was sent: the invitation keeps that notice beside the Confirmed
/// one (the latest), and each is claimed, sent and recorded on its own, once.
async fn a_notice_unsent_when_the_next_is_owed_is_kept_and_each_is_claimed_and_recorded_once(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let inv = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    store.apply(&accept(&c, &inv, &guest, T0)).await.expect("Accept applies");
    let accepted = stored(store, inv.id).await;
    store.apply(&confirm(&c, &accepted, &owner, T0.plus_minutes(1))).await.expect("Confirm applies");
    let confirmed = stored(store, inv.id).await;
    let latest = confirmed.delivery.clone().expect("the Confirmed notice");
    assert_eq!((latest.seq, latest.kind, latest.state), (3, MailKind::Confirmed, DeliveryState::Pending));
    let earlier: Vec<_> = confirmed.earlier_deliveries.values().map(|d| (d.seq, d.kind, d.state)).collect();
    assert_eq!(earlier, [(2, MailKind::Accepted, DeliveryState::Pending)], "the Accepted notice still waits");

    assert_eq!(claim(store, inv.id, 1, T0).await.unwrap(), None, "the unsent invitation email went with Accept");
    let claimed = claim(store, inv.id, 2, T0.plus_minutes(1)).await.unwrap().expect("the earlier notice is claimed");
    assert_eq!(claimed.earlier_deliveries["2"].state, DeliveryState::Sending);
    assert_eq!(claimed.delivery.as_ref().map(|d| d.state), Some(DeliveryState::Pending), "the latest is untouched");
    assert_eq!(claim(store, inv.id, 2, T0.plus_minutes(2)).await.unwrap(), None, "claimed once");
    claim(store, inv.id, 3, T0.plus_minutes(2)).await.unwrap().expect("the latest is claimed on its own");
    let sent = |id: &str| DeliveryOutcome::Sent { message_id: id.into() };
    store.finish_delivery(MailItem::Community(inv.id), 2, &sent("m-2"), T0.plus_minutes(2)).await.expect("recorded");
    assert_fails!(
        store.finish_delivery(MailItem::Community(inv.id), 2, &sent("m-2"), T0.plus_minutes(2)).await,
        StoreError::Conflict
    );
    store.finish_delivery(MailItem::Community(inv.id), 3, &sent("m-3"), T0.plus_minutes(2)).await.expect("recorded");
    let done = stored(store, inv.id).await;
    assert!(done.earlier_deliveries.is_empty(), "a sent earlier notice is done with");
    let d = done.delivery.expect("the latest stays, to be shown");
    assert_eq!((d.seq, d.state, d.message_id.as_deref()), (3, DeliveryState::Sent, Some("m-3")));
    assert_eq!(done.version, confirmed.version + 4, "two claims and two outcomes, each a change");
    assert_eq!(claim(store, inv.id, 2, T0.plus_days(1)).await.unwrap(), None, "sent is sent");
}

/// What the sweep is given: a delivery once the stream has had its turn, a claim once its sender is dead, a failure
/// with tries left; oldest due first, at most `limit` invitations; never a live claim, and nothing once sent.
async fn the_sweep_finds_only_what_is_due_oldest_first_and_nothing_once_sent(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let first = invite(store, &c, &owner, "bob@x.example.com", T0).await;
    let second = invite(store, &c, &owner, "ann@x.example.com", T0.plus_minutes(1)).await;
    let stale = CLAIM_STALE_MINUTES;
    let (one, two) = (MailItem::Community(first.id), MailItem::Community(second.id));
    assert!(store.owed_deliveries(T0.plus_minutes(stale), 10).await.unwrap().is_empty(), "the stream's turn");
    assert_eq!(store.owed_deliveries(T0.plus_minutes(stale + 1), 10).await.unwrap(), [(one, 1)]);
    assert_eq!(store.owed_deliveries(T0.plus_minutes(stale + 2), 10).await.unwrap(), [(one, 1), (two, 1)]);
    assert_eq!(store.owed_deliveries(T0.plus_minutes(stale + 2), 1).await.unwrap(), [(one, 1)], "oldest first");

    // A sender claims the first at +10 and dies: it is its own for CLAIM_STALE_MINUTES, then the sweep's again.
    let at = T0.plus_minutes(10);
    claim(store, first.id, 1, at).await.unwrap().expect("claimed");
    assert_eq!(store.owed_deliveries(at.plus_minutes(1), 10).await.unwrap(), [(two, 1)], "a live claim is left");
    assert_eq!(store.owed_deliveries(at.plus_minutes(stale + 1), 10).await.unwrap(), [(two, 1), (one, 1)]);
    // A failure with tries left is the sweep's once the stream's retries had their turn.
    let failed = DeliveryOutcome::Failed { reason: "throttled".into() };
    store.finish_delivery(one, 1, &failed, at.plus_minutes(1)).await.expect("recorded failed");
    assert_eq!(store.owed_deliveries(at.plus_minutes(stale + 1), 10).await.unwrap(), [(two, 1), (one, 1)]);
    // Sent, and the index forgets it.
    claim(store, second.id, 1, at).await.unwrap().expect("claimed");
    let sent = DeliveryOutcome::Sent { message_id: "m".into() };
    store.finish_delivery(two, 1, &sent, at).await.expect("recorded sent");
    assert_eq!(store.owed_deliveries(at.plus_days(1), 10).await.unwrap(), [(one, 1)]);

    // An Accepted notice left unsent by Confirm is found beside the latest.
    let guest = admin("guest");
    let later = at.plus_minutes(1);
    let third = invite(store, &c, &owner, &admin_email("guest"), later).await;
    store.apply(&accept(&c, &third, &guest, later)).await.expect("Accept applies");
    store.apply(&confirm(&c, &stored(store, third.id).await, &owner, later)).await.expect("Confirm applies");
    let three = MailItem::Community(third.id);
    let due = store.owed_deliveries(later.plus_minutes(stale + 1), 10).await.unwrap();
    assert_eq!(due, [(one, 1), (three, 2), (three, 3)], "both notices, the older first");
}

async fn remove_member_never_removes_the_owner(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, owner_membership) = new_community(store, &owner, "Ops", T0).await;
    join(store, &c, &owner, &guest, T0, true).await;

    let before = snapshot(store, c.id, &[], &[&owner.tenant, &guest.tenant]).await;
    assert_fails!(store.remove_member(c.id, &owner.tenant).await, StoreError::Conflict);
    assert_fails!(store.remove_member(c.id, &tenant("stranger")).await, StoreError::Conflict);
    assert_fails!(store.remove_member(CommunityId::new(), &guest.tenant).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[], &[&owner.tenant, &guest.tenant]).await, before);

    store.remove_member(c.id, &guest.tenant).await.expect("remove a member");
    assert_eq!(store.get_membership(c.id, &guest.tenant).await.unwrap(), None);
    assert_eq!(all(async |req| store.list_members(c.id, &req).await).await, [owner_membership]);
    assert_eq!(all(async |req| store.list_tenant_communities(&guest.tenant, &req).await).await, []);
    assert_fails!(store.remove_member(c.id, &guest.tenant).await, StoreError::Conflict);
}

/// The community's counters as stored: (open invitations, tenants).
async fn counters(store: &dyn Store, c: CommunityId) -> (u32, u32) {
    let stored = store.get_community(c).await.expect("get_community").expect("the community is stored");
    (stored.open_invitations, stored.members)
}

async fn the_communitys_counters_follow_its_invitations_and_tenants(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    assert_eq!(counters(store, c.id).await, (0, 1), "the owner is its first tenant");

    let inv = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    assert_eq!(counters(store, c.id).await, (1, 1));
    let accepted = accept(&c, &inv, &guest, T0);
    store.apply(&accepted).await.expect("apply Accept");
    assert_eq!(counters(store, c.id).await, (1, 2), "Accepted is still open, and the tenant is in");
    // A refused change moves nothing: the same Accept again is stale.
    assert_fails!(store.apply(&accepted).await, StoreError::Conflict);
    assert_eq!(counters(store, c.id).await, (1, 2));
    store.apply(&confirm(&c, &accepted.invitation, &owner, T0)).await.expect("apply Confirm");
    assert_eq!(counters(store, c.id).await, (0, 2));
    store.remove_member(c.id, &guest.tenant).await.expect("remove the guest");
    assert_eq!(counters(store, c.id).await, (0, 1));

    let third = admin_with("third", "ops@third.example.com");
    let declined = invite(store, &c, &owner, "ops@third.example.com", T0).await;
    store.apply(&decline_as_recipient(&c, &declined, &third, T0)).await.expect("apply Decline");
    let withdrawn = invite(store, &c, &owner, "someone@else.example.com", T0).await;
    assert_eq!(counters(store, c.id).await, (1, 1));
    store.apply(&delete(&withdrawn, &owner, T0)).await.expect("apply Delete");
    assert_eq!(counters(store, c.id).await, (0, 1));
    // An accepted invitation declined by the community: closed, and its waiting tenant gone.
    let again = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    let accepted = accept(&c, &again, &guest, T0);
    store.apply(&accepted).await.expect("apply Accept");
    store.apply(&decline_as_admin(&c, &accepted.invitation, &owner, T0)).await.expect("apply Decline");
    assert_eq!(counters(store, c.id).await, (0, 1));
}

async fn a_community_is_updated_and_read_back_by_its_current_name(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    join(store, &c, &owner, &guest, T0, true).await;
    let input = CommunityInput::new("Renamed", Some("Now with more"), Some(email("new@owner.example.com"))).unwrap();
    store.update_community(&c.updated(input)).await.expect("update_community");

    let read = store.get_community(c.id).await.unwrap().expect("still there");
    assert_eq!((read.name.as_str(), read.description.as_str()), ("Renamed", "Now with more"));
    assert_eq!(read.contact_email, Some(email("new@owner.example.com")));
    assert_eq!((read.id, &read.owner, read.created), (c.id, &c.owner, c.created));
    assert_eq!((read.open_invitations, read.members), (0, 2), "an update leaves the counters alone");
    assert_eq!(read.accept_from, AcceptFrom::Recipient, "the strict rule unless the owner chose otherwise");
    // The acceptance rule is saved too, and can be made strict again.
    for rule in [AcceptFrom::RecipientDomain, AcceptFrom::Recipient] {
        let input = CommunityInput::new("Renamed", Some("Now with more"), read.contact_email.clone()).unwrap();
        store.update_community(&read.updated(input.accepting_from(rule))).await.expect("update_community");
        let again = store.get_community(c.id).await.unwrap().expect("still there");
        assert_eq!((again.accept_from, again.name.as_str()), (rule, "Renamed"));
    }
    let read = store.get_community(c.id).await.unwrap().expect("still there");
    let missing = CommunityId::new();
    assert_eq!(store.get_communities(&[missing, c.id]).await.unwrap(), std::slice::from_ref(&read));
    assert_eq!(store.get_communities(&[]).await.unwrap(), []);

    // An update of a community that is not there writes nothing.
    let mut ghost = c.clone();
    ghost.id = missing;
    assert_fails!(store.update_community(&ghost).await, StoreError::Conflict);
    assert_eq!(store.get_community(missing).await.unwrap(), None);
}

async fn a_community_is_deleted_only_without_other_tenants_or_open_invitations(store: &dyn Store) {
    let owner = admin("owner");
    let guest = admin("guest");
    let (c, owner_membership) = new_community(store, &owner, "Ops", T0).await;

    // An open invitation (even an expired one, which Resend revives) keeps it.
    let inv = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    let before = snapshot(store, c.id, &[inv.id], &[&owner.tenant]).await;
    assert_fails!(store.delete_community(&c).await, StoreError::Conflict);
    assert_eq!(snapshot(store, c.id, &[inv.id], &[&owner.tenant]).await, before);

    // A waiting tenant keeps it, and so does an Active one.
    let accepted = accept(&c, &inv, &guest, T0);
    store.apply(&accepted).await.unwrap();
    assert_fails!(store.delete_community(&c).await, StoreError::Conflict);
    store.apply(&confirm(&c, &accepted.invitation, &owner, T0)).await.unwrap();
    assert_fails!(store.delete_community(&c).await, StoreError::Conflict);
    assert_eq!(store.get_membership(c.id, &owner.tenant).await.unwrap(), Some(owner_membership));

    store.remove_member(c.id, &guest.tenant).await.unwrap();
    store.delete_community(&c).await.expect("nothing keeps it now");
    assert_eq!(store.get_community(c.id).await.unwrap(), None);
    assert_eq!(store.get_membership(c.id, &owner.tenant).await.unwrap(), None);
    assert_eq!(all(async |req| store.list_members(c.id, &req).await).await, []);
    assert_eq!(store.get_communities(&[c.id]).await.unwrap(), []);
    assert_fails!(store.delete_community(&c).await, StoreError::Conflict);

    // Nothing more is written into it: no invitation, no update.
    let (late, _) = invitation(&c, "late@guest.example.com", &owner, T0);
    assert_fails!(store.create_invitation(&late, T0).await, StoreError::Conflict);
    assert_eq!(store.get_invitation(late.id).await.unwrap(), None);
    assert_fails!(store.update_community(&c).await, StoreError::Conflict);
    assert_eq!(store.get_community(c.id).await.unwrap(), None);
    // Its finished invitation stays for audit.
    assert_eq!(stored(store, inv.id).await.state, StoredState::Completed);
}

async fn a_delete_racing_an_invite_leaves_no_half_deleted_community(store: &dyn Store) {
    let owner = admin("owner");
    for round in 0..6 {
        let (c, _) = new_community(store, &owner, &format!("Race {round}"), T0).await;
        let (inv, _) = invitation(&c, "bob@guest.example.com", &owner, T0);
        let (deleted, invited) = tokio::join!(store.delete_community(&c), store.create_invitation(&inv, T0));
        let community = store.get_community(c.id).await.unwrap();
        let invitation = store.get_invitation(inv.id).await.unwrap();
        match (deleted, invited) {
            (Ok(()), Err(StoreError::Conflict)) => {
                assert_eq!((community, invitation), (None, None), "deleted first: the invitation was not written");
            }
            (Err(StoreError::Conflict), Ok(())) => {
                assert_eq!(community.map(|c| c.open_invitations), Some(1), "invited first: the community stays");
                assert!(invitation.is_some());
            }
            other => panic!("round {round}: exactly one must win, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Platform invitations, tenant settings, the day's count and idempotency keys
// ---------------------------------------------------------------------------------------------------------------

mod platform {
    use futures::future::join_all;
    use rsvp::domain::{
        Claimed, DailyCounter, DeliveryOutcome, DeliveryState, IDEMPOTENCY_CLAIM_STALE_SECONDS, IdempotencyRecord,
        InvitationId, MailItem, Principal, RecipientHash, Role, StoredAnswer, Timestamp, UserInvitation, UserReadState,
        UserSettings,
    };
    use rsvp::store::{PageRequest, Store, StoreError, UserInvitationFilter, UserInvitationStore};
    use rsvp_tests::{T0, email, principal, tenant};

    use super::all;

    // `contract!` and `assert_fails!` of the file's top serve here too: they are in scope below their definition.

    contract!(
        settings_are_saved_on_the_version_read,
        the_days_count_is_never_passed_by_concurrent_reservations,
        each_counter_kind_counts_apart,
        one_pending_invitation_per_tenant_and_address,
        fifty_invitations_are_written_in_one_request,
        user_invitations_are_listed_newest_first_by_sender_and_by_state,
        of_concurrent_accepts_exactly_one_wins_and_the_address_is_free_again,
        a_stale_or_expired_change_conflicts,
        an_idempotency_key_is_claimed_once_answered_once_and_replayable,
        a_platform_delivery_is_claimed_once,
    );

    fn sender(name: &str) -> Principal {
        principal("acme", &format!("{name}@acme.example.com"), &[Role::TenantMember])
    }

    fn settings() -> UserSettings {
        UserSettings { invite_unregistered_users: true, ..UserSettings::default() }
    }

    fn new_invitation(by: &Principal, to: &str, at: Timestamp) -> UserInvitation {
        UserInvitation::create(by, email(to), Some("Join us".into()), at, &settings()).0
    }

    async fn stored(store: &dyn Store, id: InvitationId) -> UserInvitation {
        store.get_user_invitation(id).await.unwrap().expect("stored")
    }

    async fn listed(store: &dyn Store, filter: UserInvitationFilter) -> Vec<InvitationId> {
        let acme = tenant("acme");
        let items = all(async |req: PageRequest| store.list_user_invitations(&acme, &filter, &req).await).await;
        items.iter().map(|i| i.id).collect()
    }

    async fn settings_are_saved_on_the_version_read(store: &dyn Store) {
        let acme = tenant("acme");
        assert_eq!(store.get_user_settings(&acme).await.unwrap(), None, "never saved: the defaults hold");
        let mut s = settings();
        s.allowed_email_domains = vec!["acme.example.com".into()];
        store.put_user_settings(&acme, &s, None).await.expect("first save");
        assert_eq!(store.get_user_settings(&acme).await.unwrap(), Some((s.clone(), 1)));
        let other = UserSettings::default();
        assert_fails!(store.put_user_settings(&acme, &other, None).await, StoreError::Conflict);
        assert_fails!(store.put_user_settings(&acme, &other, Some(2)).await, StoreError::Conflict);
        store.put_user_settings(&acme, &other, Some(1)).await.expect("save on the version read");
        assert_eq!(store.get_user_settings(&acme).await.unwrap(), Some((other, 2)));
        assert_eq!(store.get_user_settings(&tenant("globex")).await.unwrap(), None, "settings are per tenant");
    }

    async fn the_days_count_is_never_passed_by_concurrent_reservations(store: &dyn Store) {
        let acme = tenant("acme");
        let until = T0.plus_days(2);
        let emails = DailyCounter::Emails;
        // 20 requests of 3 race for a limit of 50: exactly 16 fit (48), whatever the interleaving.
        let results = join_all((0..20).map(|_| store.reserve_count(&acme, &emails, "2023-11-14", 3, 50, until))).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 16, "{results:?}");
        for r in results.iter().filter(|r| r.is_err()) {
            assert!(matches!(r, Err(StoreError::LimitReached { used }) if *used >= 48), "{r:?}");
        }
        assert_fails!(
            store.reserve_count(&acme, &emails, "2023-11-14", 3, 50, until).await,
            StoreError::LimitReached { used: 48 }
        );
        store.reserve_count(&acme, &emails, "2023-11-14", 2, 50, until).await.expect("the last two fit");
        assert_fails!(
            store.reserve_count(&acme, &emails, "2023-11-14", 1, 50, until).await,
            StoreError::LimitReached { used: 50 }
        );
        assert_fails!(
            store.reserve_count(&acme, &emails, "2023-11-15", 51, 50, until).await,
            StoreError::LimitReached { used: 0 }
        );
        store.reserve_count(&acme, &emails, "2023-11-15", 50, 50, until).await.expect("another day counts anew");
        store.reserve_count(&tenant("globex"), &emails, "2023-11-14", 50, 50, until).await.expect("another tenant");
        store.release_count(&acme, &emails, "2023-11-14", 5).await.expect("give back");
        store.reserve_count(&acme, &emails, "2023-11-14", 5, 50, until).await.expect("what was given back is free");
        assert_fails!(
            store.reserve_count(&acme, &emails, "2023-11-14", 1, 50, until).await,
            StoreError::LimitReached { .. }
        );
    }

    /// Each kind of count is its own: an address's count is apart from the tenant's, from another address's (its
    /// hash ignores case only) and from another tenant's; giving back what was never counted changes nothing.
    async fn each_counter_kind_counts_apart(store: &dyn Store) {
        let (acme, globex) = (tenant("acme"), tenant("globex"));
        let until = T0.plus_days(2);
        let day = "2023-11-14";
        let jane = DailyCounter::Recipient(RecipientHash::of(&email("jane@partner.example")));
        let jane_upper = DailyCounter::Recipient(RecipientHash::of(&email("JANE@Partner.example")));
        let raj = DailyCounter::Recipient(RecipientHash::of(&email("raj@partner.example")));
        // 10 racing sends to one address against a cap of 3: exactly 3 counted.
        let results = join_all((0..10).map(|_| store.reserve_count(&acme, &jane, day, 1, 3, until))).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "{results:?}");
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::LimitReached { .. }))));
        assert_fails!(
            store.reserve_count(&acme, &jane_upper, day, 1, 3, until).await,
            StoreError::LimitReached { used: 3 }
        );
        store.reserve_count(&acme, &raj, day, 1, 3, until).await.expect("another address counts apart");
        store.reserve_count(&globex, &jane, day, 1, 3, until).await.expect("another tenant counts apart");
        store.reserve_count(&acme, &DailyCounter::Emails, day, 3, 3, until).await.expect("the tenant's count apart");
        store.reserve_count(&acme, &jane, "2023-11-15", 1, 3, until).await.expect("another day counts anew");
        store.release_count(&acme, &jane, day, 1).await.expect("give one back");
        store.reserve_count(&acme, &jane, day, 1, 3, until).await.expect("what was given back is free");
        let never = DailyCounter::Recipient(RecipientHash::of(&email("never@partner.example")));
        store.release_count(&acme, &never, day, 1).await.expect("giving back nothing is no error");
        store.reserve_count(&acme, &never, day, 3, 3, until).await.expect("and counts nothing below zero");
    }

    /// A leaked table names no recipient through its counts: every key and attribute of the count items DynamoDB
    /// holds after counting emails to an address is searched for the address, in any case.
    #[tokio::test]
    async fn dynamodb_count_items_never_carry_the_address() {
        let store = rsvp_tests::fresh_dynamo_store().await;
        let acme = tenant("acme");
        let jane = DailyCounter::Recipient(RecipientHash::of(&email("Jane.Mead@Partner.example")));
        store.reserve_count(&acme, &jane, "2023-11-14", 1, 3, T0.plus_days(2)).await.expect("counted");
        store.reserve_count(&acme, &DailyCounter::Emails, "2023-11-14", 1, 3, T0.plus_days(2)).await.expect("counted");
        let items = rsvp_tests::dynamodb()
            .await
            .scan()
            .table_name(store.table_name())
            .send()
            .await
            .expect("a scan of the test's own table")
            .items
            .unwrap_or_default();
        assert_eq!(items.len(), 2, "{items:?}");
        let text = format!("{items:?}").to_lowercase();
        assert!(text.contains("recipientcount#2023-11-14#"), "{text}");
        for needle in ["jane", "mead", "partner.example"] {
            assert!(!text.contains(needle), "a count item carries {needle:?}: {text}");
        }
    }

    async fn one_pending_invitation_per_tenant_and_address(store: &dyn Store) {
        let mia = sender("mia");
        let first = new_invitation(&mia, "jane@x.example.com", T0);
        store.create_user_invitations(std::slice::from_ref(&first), T0).await.expect("create");
        // A batch with one address already pending is refused whole, naming that address.
        let batch =
            [new_invitation(&mia, "new@x.example.com", T0), new_invitation(&sender("tom"), "JANE@x.example.com", T0)];
        match store.create_user_invitations(&batch, T0).await {
            Err(StoreError::PendingRecipients(held)) => assert_eq!(held, [email("JANE@x.example.com")]),
            other => panic!("expected PendingRecipients, got {other:?}"),
        }
        for i in &batch {
            assert_eq!(store.get_user_invitation(i.id).await.unwrap(), None, "nothing of the batch was written");
        }
        let globex = principal("globex", "ann@globex.example.com", &[Role::TenantMember]);
        store
            .create_user_invitations(&[new_invitation(&globex, "jane@x.example.com", T0)], T0)
            .await
            .expect("another tenant may invite the same address");
        // Once the first has expired, the address may be invited again.
        let later = first.expires;
        store
            .create_user_invitations(&[new_invitation(&mia, "jane@x.example.com", later)], later)
            .await
            .expect("an expired invitation no longer holds the address");
    }

    async fn fifty_invitations_are_written_in_one_request(store: &dyn Store) {
        let mia = sender("mia");
        let batch: Vec<_> = (0..50).map(|i| new_invitation(&mia, &format!("u{i}@x.example.com"), T0)).collect();
        store.create_user_invitations(&batch, T0).await.expect("50 invitations and their 50 locks");
        let filter = UserInvitationFilter { inviter: None, state: None, now: T0 };
        assert_eq!(listed(store, filter).await.len(), 50);
    }

    async fn user_invitations_are_listed_newest_first_by_sender_and_by_state(store: &dyn Store) {
        let (mia, tom) = (sender("mia"), sender("tom"));
        let mut ids = Vec::new();
        for (n, by) in [&mia, &tom, &mia, &tom, &mia].into_iter().enumerate() {
            let at = T0.plus_minutes(n as i64);
            let i = new_invitation(by, &format!("p{n}@x.example.com"), at);
            store.create_user_invitations(std::slice::from_ref(&i), at).await.unwrap();
            ids.push(i.id);
        }
        let globex = principal("globex", "ann@globex.example.com", &[Role::TenantMember]);
        store.create_user_invitations(&[new_invitation(&globex, "p9@x.example.com", T0)], T0).await.unwrap();
        let accepted = stored(store, ids[1]).await.accept("Pat".into(), "Two".into(), T0.plus_minutes(10)).unwrap();
        store.apply_user_invitation(&accepted).await.unwrap();

        let now = T0.plus_minutes(10);
        let all_of = |inviter: Option<&Principal>, state| UserInvitationFilter {
            inviter: inviter.map(|p| p.user.clone()),
            state,
            now,
        };
        let newest_first: Vec<_> = ids.iter().rev().copied().collect();
        assert_eq!(listed(store, all_of(None, None)).await, newest_first, "the tenant's, not another's");
        assert_eq!(listed(store, all_of(Some(&mia), None)).await, [ids[4], ids[2], ids[0]]);
        assert_eq!(listed(store, all_of(None, Some(UserReadState::Accepted))).await, [ids[1]]);
        assert_eq!(listed(store, all_of(Some(&tom), Some(UserReadState::Pending))).await, [ids[3]]);
        let expired = UserInvitationFilter { inviter: None, state: Some(UserReadState::Expired), now: T0.plus_days(8) };
        assert_eq!(listed(store, expired).await, [ids[4], ids[3], ids[2], ids[0]], "expiry is derived from the time");
    }

    async fn of_concurrent_accepts_exactly_one_wins_and_the_address_is_free_again(store: &dyn Store) {
        let mia = sender("mia");
        let read = new_invitation(&mia, "jane@x.example.com", T0);
        store.create_user_invitations(std::slice::from_ref(&read), T0).await.unwrap();
        let at = T0.plus_minutes(1);
        let tries: Vec<_> = (0..10).map(|n| read.accept(format!("Jane{n}"), "Mead".into(), at).unwrap()).collect();
        let results = join_all(tries.iter().map(|t| store.apply_user_invitation(t))).await;
        let winners: Vec<_> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(n, _)| n).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(StoreError::Conflict))));
        assert_eq!(stored(store, read.id).await, tries[winners[0]].invitation);
        // Accepting released the address: it may be invited again.
        store.create_user_invitations(&[new_invitation(&mia, "jane@x.example.com", at)], at).await.expect("free");
    }

    async fn a_stale_or_expired_change_conflicts(store: &dyn Store) {
        let mia = sender("mia");
        let read = new_invitation(&mia, "jane@x.example.com", T0);
        store.create_user_invitations(std::slice::from_ref(&read), T0).await.unwrap();
        let revoked = read.revoke(&mia, T0).unwrap();
        store.apply_user_invitation(&revoked).await.unwrap();
        assert_fails!(
            store.apply_user_invitation(&read.accept("J".into(), "M".into(), T0).unwrap()).await,
            StoreError::Conflict
        );
        assert_eq!(stored(store, read.id).await, revoked.invitation, "the stale accept changed nothing");

        let other = new_invitation(&mia, "ann@x.example.com", T0);
        store.create_user_invitations(std::slice::from_ref(&other), T0).await.unwrap();
        // Decided just before expiry, written after: the store refuses it.
        let mut late = other.accept("A".into(), "B".into(), other.expires.plus_minutes(-1)).unwrap();
        late.at = other.expires;
        assert_fails!(store.apply_user_invitation(&late).await, StoreError::Conflict);
        // Resend retakes the address unless a newer invitation holds it.
        let newer = new_invitation(&mia, "ann@x.example.com", other.expires);
        store.create_user_invitations(std::slice::from_ref(&newer), other.expires).await.unwrap();
        let resent = other.resend(&mia, other.expires.plus_minutes(1), &settings()).unwrap();
        assert_fails!(store.apply_user_invitation(&resent).await, StoreError::PendingInvitation(id) if id == newer.id);
        assert_eq!(stored(store, other.id).await, other);
    }

    async fn an_idempotency_key_is_claimed_once_answered_once_and_replayable(store: &dyn Store) {
        let mia = sender("mia");
        let claim =
            IdempotencyRecord::claim(&mia, "invite_users", "key-1", "/api/users/invitations", b"{}", T0).unwrap();
        assert_eq!(store.claim_idempotency(&claim, T0).await.unwrap(), None, "a fresh key is ours");
        assert_eq!(store.claim_idempotency(&claim, T0).await.unwrap(), Some(claim.clone()), "held while in flight");
        let answered = IdempotencyRecord {
            answer: Some(StoredAnswer { status: 200, body: "[\"a@x.example.com\"]".into(), sealed_for: None }),
            ..claim.clone()
        };
        store.answer_idempotency(&answered).await.expect("answer");
        assert_fails!(store.answer_idempotency(&answered).await, StoreError::Conflict);
        store.release_idempotency(&claim).await.expect("releasing an answered key does nothing");
        let later = T0.plus_minutes(60);
        assert_eq!(store.claim_idempotency(&claim, later).await.unwrap(), Some(answered.clone()), "replays");

        // A claim that got no answer is released, or taken over once its request must have died.
        let other = IdempotencyRecord::claim(&mia, "invite_users", "key-2", "/p", b"{}", T0).unwrap();
        assert_eq!(store.claim_idempotency(&other, T0).await.unwrap(), None);
        store.release_idempotency(&other).await.unwrap();
        assert_eq!(store.claim_idempotency(&other, T0).await.unwrap(), None, "released: free again");
        let takeover = IdempotencyRecord::claim(
            &mia,
            "invite_users",
            "key-2",
            "/p",
            b"{}",
            T0.plus_seconds(IDEMPOTENCY_CLAIM_STALE_SECONDS),
        )
        .unwrap();
        assert_eq!(
            store.claim_idempotency(&takeover, takeover.claimed).await.unwrap(),
            None,
            "a dead claim is taken over"
        );
        assert_fails!(
            store.answer_idempotency(&IdempotencyRecord { answer: answered.answer.clone(), ..other }).await,
            StoreError::Conflict
        );
        // A day later the answer no longer replays.
        let next_day = T0.plus_days(1);
        let again = IdempotencyRecord::claim(&mia, "invite_users", "key-1", "/p", b"{}", next_day).unwrap();
        assert_eq!(store.claim_idempotency(&again, next_day).await.unwrap(), None);
    }

    async fn a_platform_delivery_is_claimed_once(store: &dyn Store) {
        let mut inv = new_invitation(&sender("mia"), "jane@x.example.com", T0);
        inv.attach_link("https://x.example/invite/1".into(), "sealed".into());
        store.create_user_invitations(std::slice::from_ref(&inv), T0).await.unwrap();
        let item = MailItem::Platform(inv.id);
        assert_eq!(
            store.claim_delivery(MailItem::Community(inv.id), 1, T0).await.unwrap(),
            None,
            "not a community one"
        );
        let Some(Claimed::Platform(claimed)) = store.claim_delivery(item, 1, T0).await.unwrap() else {
            panic!("the first claim wins");
        };
        assert_eq!(claimed.delivery.as_ref().map(|d| d.state), Some(DeliveryState::Sending));
        assert_eq!(store.claim_delivery(item, 1, T0).await.unwrap(), None, "a live claim holds");
        store.finish_delivery(item, 1, &DeliveryOutcome::Sent { message_id: "m-1".into() }, T0).await.unwrap();
        let d = stored(store, inv.id).await.delivery.unwrap();
        assert_eq!((d.state, d.sealed_secret, d.message_id.as_deref()), (DeliveryState::Sent, None, Some("m-1")));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Portal collaborations
// ---------------------------------------------------------------------------------------------------------------

mod portal {
    use rsvp::domain::collaboration::{
        AccessMode, Collaboration, CollaborationId, CollaborationInvitation, Contact, InvitationStatus, Participant,
        Portal, PortalId, PortalUrl, Side, Workspace,
    };
    use rsvp::store::{Store, StoreError};
    use rsvp_tests::T0;

    contract!(
        collaborations_are_saved_on_the_version_read_and_listed,
        an_invitation_is_imported_once_with_its_participant,
        a_guest_joins_once_and_leaves_with_what_it_knew,
    );

    fn portal(id: &str, url: &str) -> Portal {
        Portal {
            id: PortalId::parse("id", id).unwrap(),
            url: PortalUrl::parse("url", url, false).unwrap(),
            name: id.into(),
        }
    }

    fn contact() -> Contact {
        Contact::parse("Ada", "Admin", "ada@host.example").unwrap()
    }

    fn hosted(name: &str, at: rsvp::domain::Timestamp) -> Collaboration {
        let workspace = Workspace::create("Maps", None).unwrap();
        Collaboration::create(portal("host", "https://host.example"), name, None, workspace, contact(), at).unwrap()
    }

    fn participant(c: &Collaboration, id: &str, side: Side) -> Participant {
        Participant {
            collaboration_id: c.id,
            portal: portal(id, &format!("https://{id}.example")),
            side,
            public_key: "key".into(),
            contact: contact(),
            access: vec![(c.workspaces[0].id, AccessMode::Send)],
            invitation_id: rsvp::domain::collaboration::CollaborationInvitationId::new(),
            joined: T0,
            sealed_nonce: None,
        }
    }

    fn invitation(c: &Collaboration) -> CollaborationInvitation {
        let access = vec![(c.workspaces[0].id, AccessMode::Send)];
        let guest = PortalUrl::parse("url", "https://guest.example", false).unwrap();
        let (request, nonce) = CollaborationInvitation::request(c, guest, &access, "key".into(), T0, 24).unwrap();
        CollaborationInvitation::issued(request, access, "sig".into(), &nonce, "sealed".into())
    }

    async fn collaborations_are_saved_on_the_version_read_and_listed(store: &dyn Store) {
        let first = hosted("First", T0);
        let second = hosted("Second", T0.plus_minutes(1));
        store.put_collaboration(&first, None).await.expect("create");
        assert_fails!(store.put_collaboration(&first, None).await, StoreError::Conflict);
        store.put_collaboration(&second, None).await.expect("create");
        let grown = first.add_workspace(Workspace::create("Layers", None).unwrap(), T0).unwrap();
        store.put_collaboration(&grown, Some(1)).await.expect("update on the version read");
        assert_fails!(store.put_collaboration(&grown, Some(1)).await, StoreError::Conflict);
        assert_eq!(store.get_collaboration(first.id).await.unwrap(), Some(grown.clone()));
        assert_eq!(store.get_collaboration(CollaborationId::new()).await.unwrap(), None);
        let listed: Vec<_> = store.list_collaborations().await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(listed, [first.id, second.id], "oldest first");
    }

    async fn an_invitation_is_imported_once_with_its_participant(store: &dyn Store) {
        let c = hosted("Ops", T0);
        store.put_collaboration(&c, None).await.unwrap();
        let inv = invitation(&c);
        store.create_collaboration_invitation(&inv).await.expect("create");
        assert_fails!(store.create_collaboration_invitation(&inv).await, StoreError::Conflict);
        assert_eq!(store.get_collaboration_invitation(c.id, inv.id).await.unwrap(), Some(inv.clone()));
        assert_eq!(store.get_collaboration_invitation(CollaborationId::new(), inv.id).await.unwrap(), None);

        let mut imported = inv.clone();
        imported.status = InvitationStatus::Imported;
        imported.version += 1;
        let guest = participant(&c, "guest", Side::Guest);
        // Two racing imports of one response: one wins, the other changes nothing.
        let (a, b) = tokio::join!(
            store.update_collaboration_invitation(&imported, inv.version, Some(&guest)),
            store.update_collaboration_invitation(&imported, inv.version, Some(&guest)),
        );
        assert!(a.is_ok() != b.is_ok(), "exactly one import: {a:?} {b:?}");
        assert_eq!(store.list_participants(c.id).await.unwrap(), std::slice::from_ref(&guest));
        assert_eq!(store.list_collaboration_invitations(c.id).await.unwrap(), std::slice::from_ref(&imported));
        assert_fails!(store.update_collaboration_invitation(&imported, inv.version, None).await, StoreError::Conflict);

        store.remove_participant(c.id, &guest.portal.id).await.expect("remove");
        assert_fails!(store.remove_participant(c.id, &guest.portal.id).await, StoreError::Conflict);
        assert!(store.list_participants(c.id).await.unwrap().is_empty());
    }

    async fn a_guest_joins_once_and_leaves_with_what_it_knew(store: &dyn Store) {
        let mut joined = hosted("Ops", T0);
        joined.side = Side::Guest;
        let host = participant(&joined, "host", Side::Host);
        store.join_collaboration(&joined, &host).await.expect("join");
        assert_fails!(store.join_collaboration(&joined, &host).await, StoreError::Conflict);
        assert_eq!(store.list_participants(joined.id).await.unwrap(), std::slice::from_ref(&host));
        store.leave_collaboration(&joined, std::slice::from_ref(&host)).await.expect("leave");
        assert_eq!(store.get_collaboration(joined.id).await.unwrap(), None);
        assert!(store.list_participants(joined.id).await.unwrap().is_empty());
        assert_fails!(store.leave_collaboration(&joined, &[host]).await, StoreError::Conflict);
    }
}

/// DynamoDB deletes what carries a past `ttl`: the record of an invitation that ended unaccepted carries its end
/// plus the audit retention (a year unless set; none when kept for ever), an accepted one none at all. (The
/// embedded store deletes nothing.)
#[tokio::test]
async fn dynamodb_keeps_finished_invitations_for_the_audit_retention() {
    use rsvp::store::CommunityStore;
    use rsvp::store::dynamodb::{DynamoStore, Retention};
    let client = rsvp_tests::dynamodb().await;
    let year = rsvp_tests::fresh_dynamo_store().await;
    let table = year.table_name().to_owned();
    let forever = DynamoStore::new(client.clone(), table.clone()).with_retention(Retention::Forever);
    let ttl = async |id: InvitationId| -> Option<i64> {
        let item = client
            .get_item()
            .table_name(&table)
            .key("PK", AttributeValue::S(format!("INVITATION#{id}")))
            .key("SK", AttributeValue::S("#INVITATION".into()))
            .send()
            .await
            .expect("get_item")
            .item
            .expect("the invitation's item");
        item.get("ttl").map(|v| v.as_n().expect("a number").parse().expect("epoch seconds"))
    };
    let now = rsvp_tests::present();
    let (owner, guest) = (admin("owner"), admin("guest"));
    let (c, _) = new_community(&year, &owner, "Audit", now).await;

    let pending = invite(&year, &c, &owner, "pending@x.example.com", now).await;
    assert_eq!(ttl(pending.id).await, Some(pending.expires.plus_days(365).epoch_seconds()));
    let withdrawn = invite(&year, &c, &owner, "bob@x.example.com", now).await;
    let ended = now.plus_minutes(5);
    year.apply(&delete(&withdrawn, &owner, ended)).await.expect("Delete applies");
    assert_eq!(ttl(withdrawn.id).await, Some(ended.plus_days(365).epoch_seconds()), "a year after it ended");
    let carol = admin("carol");
    let declined = invite(&year, &c, &owner, &admin_email("carol"), now).await;
    year.apply(&decline_as_recipient(&c, &declined, &carol, ended)).await.expect("Decline applies");
    assert_eq!(ttl(declined.id).await, Some(ended.plus_days(365).epoch_seconds()));
    let accepted = join(&year, &c, &owner, &guest, now, true).await;
    assert_eq!(ttl(accepted.id).await, None, "the record of a membership stays");

    let kept = invite(&forever, &c, &owner, "dave@x.example.com", now).await;
    assert_eq!(ttl(kept.id).await, None);
    forever.apply(&delete(&kept, &owner, ended)).await.expect("Delete applies");
    assert_eq!(ttl(kept.id).await, None, "kept for ever");

    assert_eq!(Retention::parse_days("0"), Ok(Retention::Forever));
    assert_eq!(Retention::parse_days("90"), Ok(Retention::Days(90)));
    assert!(Retention::parse_days("-1").is_err() && Retention::parse_days("a year").is_err());
}
