//! `CommunityStore`: communities and their memberships, the paired reads, the community's counters, its update
//! and its delete.

use rsvp::domain::{
    AcceptFrom, Community, CommunityId, CommunityInput, InvitationId, MemberStatus, Membership, StoredState,
};
use rsvp::store::{Store, StoreError};
use rsvp_tests::{T0, admin, community, email, first_page, invitation, tenant};

use crate::{
    accept, admin_email, admin_with, all, confirm, decline_as_admin, decline_as_recipient, delete, invite, join,
    joining, new_community, snapshot, stored,
};

contract!(
    communities_and_owner_memberships_round_trip,
    members_are_listed_by_tenant_ascending,
    a_tenants_communities_are_its_active_memberships_newest_first,
    remove_member_never_removes_the_owner,
    paired_reads_answer_as_the_single_reads_do,
    the_communitys_counters_follow_its_invitations_and_tenants,
    a_community_is_updated_and_read_back_by_its_current_name,
    a_community_is_deleted_only_without_other_tenants_or_open_invitations,
    a_delete_racing_an_invite_leaves_no_half_deleted_community,
);

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
