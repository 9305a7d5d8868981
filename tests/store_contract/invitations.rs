//! `CommunityStore`: community invitations. One live invitation per community and recipient (its lock), the
//! community's list, every transition applied to them (Accept, Confirm, Decline, Resend, Delete) with its
//! membership and lock effects, and how long DynamoDB keeps a finished one.

use aws_sdk_dynamodb::types::AttributeValue;
use rsvp::domain::{CommunityId, InvitationId, MemberStatus, Membership, StoredState, Timestamp};
use rsvp::store::{Store, StoreError};
use rsvp_tests::{T0, admin, invitation, tenant};

use crate::{
    DAY, HOUR, accept, admin_email, admin_with, all, assert_lock_held, confirm, decline_as_admin, decline_as_recipient,
    delete, ids, invite, join, joining, new_community, resend, snapshot, stored,
};

contract!(
    one_live_invitation_per_community_and_recipient,
    community_invitations_are_listed_newest_first_without_deleted_ones,
    accept_joins_the_tenant_and_releases_the_lock,
    a_stale_read_cannot_be_applied,
    of_two_concurrent_accepts_exactly_one_wins,
    accept_of_an_expired_invitation_conflicts,
    a_tenant_already_in_the_community_cannot_join_again,
    confirm_activates_the_waiting_member,
    decline_removes_the_waiting_member_or_frees_the_lock,
    resend_retakes_the_lock_unless_another_invitation_holds_it,
    delete_withdraws_an_invitation,
);

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
