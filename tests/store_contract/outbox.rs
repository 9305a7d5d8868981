//! `OutboxStore`: the mail owed for invitations. A delivery is claimed once and its outcome recorded once, a failed
//! or stale one is claimed again, a newer one wins, an unsent earlier notice is kept beside the latest, and the
//! sweep finds only what is due; the same for a platform invitation's delivery. What the mail service learns later
//! (delivered, bounced, a complaint) is kept on the sent delivery, for its message only. An invitation's expiry is
//! found once due and recorded once (its `expired` event), for waiting invitations only.

use rsvp::domain::fate::Fate;
use rsvp::domain::{
    CLAIM_STALE_MINUTES, Claimed, CommunityInvitation, DeliveryOutcome, DeliveryState, InvitationId, MailItem,
    MailKind, Timestamp,
};
use rsvp::store::{Store, StoreError, StoreResult};
use rsvp_tests::{T0, admin, invitation};

use crate::users::{self, new_invitation, sender};
use crate::{accept, admin_email, confirm, invite, new_community, resend, stored};

contract!(
    a_delivery_is_claimed_once_and_its_outcome_recorded_once,
    a_failed_or_stale_delivery_is_claimed_again_and_a_newer_one_wins,
    a_notice_unsent_when_the_next_is_owed_is_kept_and_each_is_claimed_and_recorded_once,
    the_sweep_finds_only_what_is_due_oldest_first_and_nothing_once_sent,
    a_platform_delivery_is_claimed_once,
    what_the_mail_service_learns_is_kept_for_the_message_sent_only_and_never_backwards,
    an_expiry_is_found_once_due_recorded_once_and_a_resend_makes_the_next_due,
);

/// Claims a community invitation's delivery, as the consumer does.
async fn claim(
    store: &dyn Store,
    id: InvitationId,
    seq: u64,
    at: Timestamp,
) -> StoreResult<Option<CommunityInvitation>> {
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
    let kept: Vec<_> = done.earlier_deliveries.values().map(|d| (d.seq, d.state)).collect();
    assert_eq!(kept, [(2, DeliveryState::Sent)], "a sent earlier notice stays, for its fate; it owes nothing");
    assert!(store.owed_deliveries(T0.plus_days(1), 10).await.unwrap().is_empty(), "nothing left to send");
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

async fn a_platform_delivery_is_claimed_once(store: &dyn Store) {
    let mut inv = new_invitation(&sender("mia"), "jane@x.example.com", T0);
    inv.attach_link("https://x.example/invite/1".into(), "sealed".into());
    store.create_user_invitations(std::slice::from_ref(&inv), T0).await.unwrap();
    let item = MailItem::Platform(inv.id);
    assert_eq!(store.claim_delivery(MailItem::Community(inv.id), 1, T0).await.unwrap(), None, "not a community one");
    let Some(Claimed::Platform(claimed)) = store.claim_delivery(item, 1, T0).await.unwrap() else {
        panic!("the first claim wins");
    };
    assert_eq!(claimed.delivery.as_ref().map(|d| d.state), Some(DeliveryState::Sending));
    assert_eq!(store.claim_delivery(item, 1, T0).await.unwrap(), None, "a live claim holds");
    store.finish_delivery(item, 1, &DeliveryOutcome::Sent { message_id: "m-1".into() }, T0).await.unwrap();
    let d = users::stored(store, inv.id).await.delivery.unwrap();
    assert_eq!((d.state, d.sealed_secret, d.message_id.as_deref()), (DeliveryState::Sent, None, Some("m-1")));
}

async fn what_the_mail_service_learns_is_kept_for_the_message_sent_only_and_never_backwards(store: &dyn Store) {
    let owner = admin("owner");
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let (inv, _) = invitation(&c, "bob@x.example.com", &owner, T0);
    store.create_invitation(&inv, T0).await.expect("create");
    let item = MailItem::Community(inv.id);
    let delivered = Fate::Delivered { at: T0 };
    assert!(store.learn_fate(item, 1, "m-1", &delivered).await.unwrap().is_none(), "nothing was sent yet");
    claim(store, inv.id, 1, T0).await.unwrap().expect("claimed");
    store.finish_delivery(item, 1, &DeliveryOutcome::Sent { message_id: "m-1".into() }, T0).await.unwrap();
    let sent = stored(store, inv.id).await;

    assert!(store.learn_fate(item, 1, "m-forged", &delivered).await.unwrap().is_none(), "another message's notice");
    assert!(store.learn_fate(item, 2, "m-1", &delivered).await.unwrap().is_none(), "no such delivery");
    assert!(store.learn_fate(MailItem::Community(InvitationId::new()), 1, "m-1", &delivered).await.unwrap().is_none());
    assert_eq!(stored(store, inv.id).await, sent, "nothing was written");

    let learned = store.learn_fate(item, 1, "m-1", &delivered).await.unwrap().expect("learned");
    assert_eq!(Claimed::Community(stored(store, inv.id).await), learned, "the invitation as written");
    assert!(store.learn_fate(item, 1, "m-1", &delivered).await.unwrap().is_none(), "the same notice twice");
    let bounce = Fate::Bounced { at: T0, permanent: true, bounce_type: "Permanent".into(), diagnostic: None };
    assert!(store.learn_fate(item, 1, "m-1", &bounce).await.unwrap().is_some());
    let delay = Fate::Delayed { at: T0, reason: "MailboxFull".into() };
    assert!(store.learn_fate(item, 1, "m-1", &delay).await.unwrap().is_none(), "never backwards");
    let kept = stored(store, inv.id).await;
    let d = kept.delivery.clone().unwrap();
    assert_eq!((d.state, d.fate), (DeliveryState::Sent, Some(bounce)));
    assert_eq!(kept.version, sent.version + 2, "each fate learned is a change");
}

async fn an_expiry_is_found_once_due_recorded_once_and_a_resend_makes_the_next_due(store: &dyn Store) {
    let (owner, guest) = (admin("owner"), admin("guest"));
    let (c, _) = new_community(store, &owner, "Ops", T0).await;
    let bob = invite(store, &c, &owner, "bob@x.example.com", T0).await;
    let one = MailItem::Community(bob.id);
    // Its email sent, it owes nothing: only its expiry keeps it in the sweep's view.
    claim(store, bob.id, 1, T0).await.unwrap().expect("claimed");
    store.finish_delivery(one, 1, &DeliveryOutcome::Sent { message_id: "m".into() }, T0).await.unwrap();
    // An answered invitation never expires.
    let answered = invite(store, &c, &owner, &admin_email("guest"), T0).await;
    store.apply(&accept(&c, &answered, &guest, T0)).await.expect("Accept applies");
    let jane = new_invitation(&sender("mia"), "jane@x.example.com", T0.plus_minutes(1));
    store.create_user_invitations(std::slice::from_ref(&jane), T0).await.unwrap();
    let two = MailItem::Platform(jane.id);

    let before = Timestamp::from_millis(bob.expires.millis().min(jane.expires.millis()) - 1);
    assert!(store.expiries_due(before, 10).await.unwrap().is_empty(), "nothing before its time");
    let after = Timestamp::from_millis(bob.expires.millis().max(jane.expires.millis())).plus_minutes(1);
    let mut wanted = vec![(bob.expires, one), (jane.expires, two)];
    wanted.sort_by_key(|(at, item)| (*at, item.id()));
    let wanted: Vec<MailItem> = wanted.into_iter().map(|(_, item)| item).collect();
    assert_eq!(store.expiries_due(after, 10).await.unwrap(), wanted, "both kinds, longest due first");
    assert_eq!(store.expiries_due(after, 1).await.unwrap(), wanted[..1], "at most the limit");

    let Some(Claimed::Community(expired)) = store.record_expiry(one, after).await.unwrap() else {
        panic!("the expiry is recorded");
    };
    let last = expired.history.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.at, expired.version),
        ("Expire", bob.expires, stored(store, bob.id).await.version)
    );
    assert_eq!(store.record_expiry(one, after).await.unwrap(), None, "once");
    assert!(matches!(store.record_expiry(two, after).await.unwrap(), Some(Claimed::Platform(_))));
    assert!(store.expiries_due(after.plus_days(30), 10).await.unwrap().is_empty(), "recorded ones leave");

    // A Resend gives a new link and expiry: its running out is due in turn.
    let resent = resend(&c, &stored(store, bob.id).await, &owner, after);
    store.apply(&resent).await.expect("Resend applies");
    let next = resent.invitation.expires;
    assert!(store.expiries_due(next.plus_minutes(-1), 10).await.unwrap().is_empty());
    assert_eq!(store.expiries_due(next.plus_minutes(1), 10).await.unwrap(), [one]);
}
