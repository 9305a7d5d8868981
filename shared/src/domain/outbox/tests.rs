//! The outbox's rules: owing, claiming, finishing and learning the fate of an invitation's emails.

use super::*;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn after(t: Timestamp) -> Timestamp {
    Timestamp::from_millis(t.millis() + 1)
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

#[test]
fn a_live_claim_is_held_and_a_dead_or_unfinished_one_is_owed() {
    let mut d = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], T0);
    assert!(d.owed(T0) && !d.held_by_a_live_sender(d.seq, T0));
    d.claim(T0);
    assert!(d.held_by_a_live_sender(d.seq, T0.plus_minutes(4)), "a sender four minutes in may still be sending");
    assert!(!d.owed(T0.plus_minutes(4)));
    assert!(!d.held_by_a_live_sender(d.seq + 1, T0), "another delivery's claim is not this one's");
    let later = T0.plus_minutes(CLAIM_STALE_MINUTES + 1);
    assert!(d.owed(later) && !d.held_by_a_live_sender(d.seq, later), "a sender gone that long died");
    d.finish(&DeliveryOutcome::Failed { reason: "down".into() }, T0);
    assert!(d.owed(T0), "a failure with tries left is retried");
    for _ in 1..MAX_DELIVERY_ATTEMPTS {
        d.claim(T0);
    }
    d.finish(&DeliveryOutcome::Failed { reason: "down".into() }, T0);
    assert!(!d.owed(T0), "after {MAX_DELIVERY_ATTEMPTS} tries it is left for an operator");
    d.claim(T0);
    d.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, T0);
    assert!(!d.owed(later), "a sent email is never owed again");
}

#[test]
fn a_delivery_is_claimed_once_until_it_fails_or_its_claim_goes_stale() {
    let mut d = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], T0);
    assert_eq!(d.seq, 1);
    assert!(d.claimable(1, T0));
    assert!(!d.claimable(2, T0), "another sequence number is another delivery");
    d.claim(T0);
    assert_eq!((d.state, d.attempts), (DeliveryState::Sending, 1));
    assert!(!d.claimable(1, T0.plus_minutes(CLAIM_STALE_MINUTES)));
    assert!(d.claimable(1, T0.plus_minutes(CLAIM_STALE_MINUTES + 1)), "a stale claim is retaken");
    d.finish(&DeliveryOutcome::Failed { reason: "no".into() }, T0);
    assert!(d.claimable(1, T0), "a failed delivery may be retried");
    d.claim(T0);
    d.sealed_secret = Some("sealed".into());
    d.finish(&DeliveryOutcome::Sent { message_id: "m-1".into() }, T0);
    assert_eq!((d.state, d.attempts, d.sealed_secret.as_deref()), (DeliveryState::Sent, 2, None));
    assert!(!d.claimable(1, T0.plus_days(1)), "a sent delivery is never sent again");
    assert_eq!(Delivery::pending(Some(&d), MailKind::Accepted, vec![], T0).seq, 2);
}

#[test]
fn only_a_delivery_that_waits_can_be_cancelled_and_then_it_is_never_claimed() {
    let mut waiting = Delivery::pending(None, MailKind::Invitation, vec![email("bob@guest.com")], T0);
    waiting.sealed_secret = Some("sealed".into());
    waiting.cancel();
    assert_eq!((waiting.state, waiting.sealed_secret.as_deref()), (DeliveryState::Cancelled, None));
    assert!(!waiting.claimable(1, T0.plus_days(1)));

    let mut sending = Delivery::pending(None, MailKind::Invitation, vec![], T0);
    sending.claim(T0);
    sending.cancel();
    assert_eq!(sending.state, DeliveryState::Sending, "a send in flight may already be out");
    sending.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, T0);
    sending.cancel();
    assert_eq!(sending.state, DeliveryState::Sent);
}

#[test]
fn an_unsent_notice_survives_the_next_one_and_each_is_claimed_and_finished_once() {
    let (mut latest, mut earlier) = (None, Earlier::new());
    let mut outbox = Outbox { latest: &mut latest, earlier: &mut earlier };
    outbox.owe(MailKind::Invitation, vec![email("bob@guest.com")], T0);
    // Accept before the invitation email went out: its link is dead now, so it is dropped, not kept.
    outbox.owe(MailKind::Accepted, vec![email("admin@owner.com")], T0);
    assert!(outbox.earlier.is_empty(), "an unsent invitation email is not kept");
    // Confirm before the Accepted notice went out: the notice waits beside the new latest delivery.
    outbox.owe(MailKind::Confirmed, vec![email("bob@guest.com")], T0.plus_minutes(1));
    assert_eq!(outbox.latest.as_ref().map(|d| (d.seq, d.kind)), Some((3, MailKind::Confirmed)));
    assert_eq!(outbox.earlier.keys().collect::<Vec<_>>(), ["2"]);
    assert!(outbox.claim(2, T0.plus_minutes(1)) && !outbox.claim(2, T0.plus_minutes(1)), "claimed once");
    assert!(outbox.claim(3, T0.plus_minutes(1)));
    let sent = DeliveryOutcome::Sent { message_id: "m".into() };
    assert!(outbox.finish(2, &sent, T0.plus_minutes(1)));
    let kept = outbox.earlier.get("2").map(|d| (d.state, d.message_id.as_deref()));
    assert_eq!(kept, Some((DeliveryState::Sent, Some("m"))), "a sent earlier notice stays, for its fate");
    assert!(!outbox.finish(2, &sent, T0.plus_minutes(1)), "and finished once");
    assert!(outbox.finish(3, &sent, T0.plus_minutes(1)));
    assert_eq!(outbox.latest.as_ref().map(|d| d.state), Some(DeliveryState::Sent), "the latest stays to be shown");
    assert!(!outbox.claim(3, T0.plus_days(1)));
}

#[test]
fn a_notice_being_sent_or_failed_is_kept_and_the_earlier_ones_are_bounded() {
    let (mut latest, mut earlier) = (None, Earlier::new());
    let mut outbox = Outbox { latest: &mut latest, earlier: &mut earlier };
    outbox.owe(MailKind::Accepted, vec![email("a@owner.com")], T0);
    assert!(outbox.claim(1, T0));
    outbox.owe(MailKind::Confirmed, vec![email("b@guest.com")], T0);
    assert_eq!(outbox.earlier["1"].state, DeliveryState::Sending, "its sender's outcome still lands on it");
    assert!(outbox.finish(1, &DeliveryOutcome::Failed { reason: "down".into() }, T0));
    assert_eq!(outbox.earlier["1"].state, DeliveryState::Failed, "a failed notice waits for its retry");
    for _ in 0..10 {
        outbox.owe(MailKind::Confirmed, vec![email("b@guest.com")], T0);
    }
    assert_eq!(outbox.earlier.len(), MAX_EARLIER_DELIVERIES);
    let kept: Vec<u64> =
        outbox.earlier.values().map(|d| d.seq).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    assert_eq!(kept, [8, 9, 10, 11], "the oldest go first");
}

#[test]
fn the_sweep_takes_a_delivery_only_once_the_stream_had_its_turn_or_its_sender_died() {
    let mut d = Delivery::pending(None, MailKind::Accepted, vec![email("a@owner.com")], T0);
    let stale = T0.plus_minutes(CLAIM_STALE_MINUTES);
    assert_eq!(d.sweep_due(), Some(stale));
    assert!(!d.is_due(stale) && d.is_due(after(stale)), "pending: the stream's for a while");
    d.claim(T0.plus_minutes(1));
    assert!(!d.is_due(stale.plus_minutes(1)) && d.is_due(after(stale.plus_minutes(1))));
    assert!(d.claimable(d.seq, after(stale.plus_minutes(1))), "what is due is claimable");
    assert!(!d.claimable(d.seq, stale.plus_minutes(1)), "and not before");
    d.finish(&DeliveryOutcome::Failed { reason: "down".into() }, T0);
    assert_eq!(d.sweep_due(), Some(stale.plus_minutes(1)), "a failure is retried after its claim");
    d.attempts = MAX_DELIVERY_ATTEMPTS;
    assert_eq!(d.sweep_due(), None, "a delivery out of tries is left for an operator");
    d.owed_since = None;
    d.state = DeliveryState::Pending;
    assert!(d.is_due(T0), "one stored before owed_since existed is due at once");
    d.claim(T0);
    d.finish(&DeliveryOutcome::Sent { message_id: "m".into() }, T0);
    assert_eq!(d.sweep_due(), None);
}

#[test]
fn recipients_are_not_repeated() {
    let to = recipients([Some(email("Ops@owner.com")), None, Some(email("ops@owner.com")), Some(email("a@b.com"))]);
    assert_eq!(to, vec![email("Ops@owner.com"), email("a@b.com")]);
}
