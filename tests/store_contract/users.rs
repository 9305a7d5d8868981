//! `UserInvitationStore`: a tenant's user settings, its daily counts, and its platform (user) invitations: one
//! pending per tenant and address, written in batches, listed, accepted once, and refused when stale or expired.
//! Its helpers serve the outbox's and the idempotency keys' contracts too.

use futures::future::join_all;
use rsvp::domain::{
    DailyCounter, InvitationId, Principal, RecipientHash, Role, Timestamp, UserInvitation, UserReadState, UserSettings,
};
use rsvp::store::{PageRequest, Store, StoreError, UserInvitationFilter, UserInvitationStore};
use rsvp_tests::{T0, email, principal, tenant};

use crate::all;

contract!(
    settings_are_saved_on_the_version_read,
    the_days_count_is_never_passed_by_concurrent_reservations,
    each_counter_kind_counts_apart,
    one_pending_invitation_per_tenant_and_address,
    fifty_invitations_are_written_in_one_request,
    user_invitations_are_listed_newest_first_by_sender_and_by_state,
    of_concurrent_accepts_exactly_one_wins_and_the_address_is_free_again,
    a_stale_or_expired_change_conflicts,
);

pub(crate) fn sender(name: &str) -> Principal {
    principal("acme", &format!("{name}@acme.example.com"), &[Role::TenantMember])
}

fn settings() -> UserSettings {
    UserSettings { invite_unregistered_users: true, ..UserSettings::default() }
}

pub(crate) fn new_invitation(by: &Principal, to: &str, at: Timestamp) -> UserInvitation {
    UserInvitation::create(by, email(to), Some("Join us".into()), at, &settings()).0
}

pub(crate) async fn stored(store: &dyn Store, id: InvitationId) -> UserInvitation {
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
