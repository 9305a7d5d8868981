//! The handshake's rules, each with an injected clock.

use super::*;
use crate::domain::lifetime::MAX_HISTORY;
use crate::domain::{CommunityInput, Role, UserId};
use InvitationPolicy as Policy;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn principal(tenant: &str, email: &str, roles: &[Role]) -> Principal {
    Principal {
        user: UserId::parse("sub", &format!("user-{tenant}")).unwrap(),
        tenant: TenantId::parse("tenant_id", tenant).unwrap(),
        email: Some(Email::parse(email).unwrap()),
        tenant_name: Some(format!("{tenant} Inc")),
        roles: roles.to_vec(),
    }
}

fn owner() -> Principal {
    principal("owner", "admin@owner.com", &[Role::TenantAdministrator])
}

fn invitee() -> Principal {
    principal("guest", "bob@guest.com", &[Role::TenantAdministrator])
}

fn community() -> Community {
    Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner().tenant, T0).0
}

fn invitation() -> (CommunityInvitation, Secret) {
    CommunityInvitation::create(&community(), Email::parse("bob@guest.com").unwrap(), &owner(), T0, Policy::default())
}

fn as_recipient(p: &Principal) -> Actor<'_> {
    Actor { principal: Some(p), is_recipient: true, is_community_admin: false }
}

fn as_admin(p: &Principal) -> Actor<'_> {
    Actor { principal: Some(p), is_recipient: false, is_community_admin: true }
}

fn contact() -> Option<Email> {
    Some(Email::parse("ops@guest.com").unwrap())
}

#[test]
fn every_change_moves_the_communitys_counters_as_it_opens_closes_joins_or_leaves() {
    let c = community();
    let p = Policy::default();
    let (inv, _) = invitation();
    assert!(inv.is_open());
    let counts = |t: &Transition| (t.counts.open_invitations, t.counts.members);
    let accepted = inv.process(&c, Action::Accept, as_recipient(&invitee()), contact(), T0, p).unwrap();
    assert_eq!(counts(&accepted), (0, 1));
    let MembershipEffect::Join(joining) = &accepted.membership else { panic!("Accept joins") };
    assert_eq!(joining.tenant_name.as_deref(), Some("guest Inc"));
    let confirmed = accepted.invitation.process(&c, Action::Confirm, as_admin(&owner()), None, T0, p).unwrap();
    assert_eq!(counts(&confirmed), (-1, 0));
    let declined = accepted.invitation.process(&c, Action::Decline, as_admin(&owner()), None, T0, p).unwrap();
    assert_eq!(counts(&declined), (-1, -1));
    let refused = inv.process(&c, Action::Decline, as_recipient(&invitee()), None, T0, p).unwrap();
    assert_eq!(counts(&refused), (-1, 0));
    let later = T0.plus_days(20);
    let resent = inv.process(&c, Action::Resend, as_admin(&owner()), None, later, p).unwrap();
    assert!(resent.counts.is_none());
    assert_eq!(counts(&inv.delete(&owner(), later).unwrap()), (-1, 0));
    assert_eq!(counts(&accepted.invitation.delete(&owner(), T0).unwrap()), (-1, -1));
    assert!(refused.invitation.delete(&owner(), T0).unwrap().counts.is_none());
}

/// Only Accept reads the community, so the store is asked for it only then; the rest decide the same without it.
#[test]
fn only_accept_needs_the_community() {
    let (inv, _) = invitation();
    let (c, p) = (community(), Policy::default());
    let none: Option<&Community> = None;
    let gone = inv.process(none, Action::Accept, as_recipient(&invitee()), contact(), T0, p).unwrap_err();
    assert!(matches!(gone, CommunityInvitationError::CommunityGone), "{gone:?}");
    assert!(Action::Accept.needs_community());
    let accepted = inv.process(&c, Action::Accept, as_recipient(&invitee()), contact(), T0, p).unwrap();
    for action in [Action::Confirm, Action::Decline] {
        assert!(!action.needs_community());
        let with = accepted.invitation.process(&c, action, as_admin(&owner()), None, T0, p).unwrap();
        let without = accepted.invitation.process(none, action, as_admin(&owner()), None, T0, p).unwrap();
        assert_eq!(with.invitation, without.invitation, "{action:?}");
        assert_eq!(format!("{:?}", with.membership), format!("{:?}", without.membership), "{action:?}");
    }
    let later = T0.plus_minutes(p.resend_cooldown_minutes);
    let resent = inv.process(none, Action::Resend, as_admin(&owner()), None, later, p).unwrap();
    assert!(resent.new_secret.is_some());
    assert!(!Action::Resend.needs_community() && !Action::Decline.needs_community());
}

#[test]
fn a_new_invitation_lasts_fourteen_days_and_reads_expired_after() {
    let (inv, secret) = invitation();
    assert_eq!(inv.expires, T0.plus_days(14));
    assert!(inv.secret_matches(&Secret::presented(secret.expose())));
    assert_eq!(inv.read_state(T0.plus_days(14).plus_minutes(-1)), ReadState::InvitationCreated);
    assert_eq!(inv.read_state(T0.plus_days(14)), ReadState::InvitationExpired);
}

#[test]
fn the_three_way_handshake() {
    let (inv, _) = invitation();
    let guest = invitee();
    let accepted =
        inv.process(&community(), Action::Accept, as_recipient(&guest), contact(), T0, Policy::default()).unwrap();
    assert!(accepted.notifies);
    assert_eq!(accepted.lock, LockEffect::Release);
    assert!(accepted.require_live);
    assert!(
        matches!(&accepted.membership, MembershipEffect::Join(m) if m.status == MemberStatus::AwaitingConfirmation && m.tenant == guest.tenant)
    );
    let inv = accepted.invitation;
    assert_eq!(inv.read_state(T0), ReadState::InvitationAccepted);
    assert_eq!(inv.invited_tenant.as_ref(), Some(&guest.tenant));
    assert_eq!(inv.accepted_tenant_name.as_deref(), Some("guest Inc"));
    // An accepted invitation does not expire while it waits for confirmation.
    assert_eq!(inv.read_state(T0.plus_days(30)), ReadState::InvitationAccepted);

    let admin = owner();
    let confirmed = inv
        .process(&community(), Action::Confirm, as_admin(&admin), None, T0.plus_days(30), Policy::default())
        .unwrap();
    assert_eq!(confirmed.membership, MembershipEffect::Activate { tenant: guest.tenant.clone() });
    assert_eq!(confirmed.invitation.read_state(T0), ReadState::InvitationCompleted);
    assert_eq!(confirmed.expected_version, 2);
    let actions: Vec<_> = confirmed.invitation.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["Create", "Accept", "Confirm"]);
}

#[test]
fn wrong_state_names_the_current_state() {
    let (inv, _) = invitation();
    let admin = owner();
    let err = inv.process(&community(), Action::Confirm, as_admin(&admin), None, T0, Policy::default()).unwrap_err();
    assert_eq!(err, CommunityInvitationError::WrongState { state: ReadState::InvitationCreated, action: "Confirm" });
    assert!(err.to_string().contains("InvitationCreated"));

    let guest = invitee();
    let expired = T0.plus_days(15);
    let err = inv
        .process(&community(), Action::Accept, as_recipient(&guest), contact(), expired, Policy::default())
        .unwrap_err();
    assert_eq!(err, CommunityInvitationError::WrongState { state: ReadState::InvitationExpired, action: "Accept" });
}

#[test]
fn only_the_right_people_may_act() {
    let (inv, _) = invitation();
    let admin = owner();
    let member = principal("guest", "bob@guest.com", &[Role::TenantMember]);
    let p = Policy::default();
    assert!(matches!(
        inv.process(&community(), Action::Accept, as_admin(&admin), contact(), T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
    assert!(matches!(
        inv.process(&community(), Action::Accept, as_recipient(&member), contact(), T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
    assert!(matches!(
        inv.process(&community(), Action::Decline, as_admin(&admin), None, T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
    let guest = invitee();
    assert_eq!(
        inv.process(&community(), Action::Accept, as_recipient(&guest), None, T0, p).unwrap_err(),
        CommunityInvitationError::ContactEmailRequired
    );
    let accepted =
        inv.process(&community(), Action::Accept, as_recipient(&guest), contact(), T0, p).unwrap().invitation;
    assert!(matches!(
        accepted.process(&community(), Action::Confirm, as_recipient(&guest), None, T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
}

#[test]
fn only_the_recipients_verified_address_accepts_and_a_refusal_does_not_name_it() {
    let (inv, _) = invitation();
    let p = Policy::default();
    // A stranger's administrator holding the link (so a "recipient" by the secret), under a name of its choice.
    let mut stranger = principal("t2", "eve@t2.com", &[Role::TenantAdministrator]);
    stranger.tenant_name = Some("t2 Guest Corp".into());
    let Err(CommunityInvitationError::NotPermitted(why)) =
        inv.process(&community(), Action::Accept, as_recipient(&stranger), contact(), T0, p)
    else {
        panic!("a stranger's address cannot accept")
    };
    assert!(why.contains("another address") && !why.contains("bob@guest.com"), "{why}");
    // The recipient's address unverified is no address at all.
    let mut unverified = invitee();
    unverified.email = None;
    let Err(CommunityInvitationError::NotPermitted(why)) =
        inv.process(&community(), Action::Accept, as_recipient(&unverified), contact(), T0, p)
    else {
        panic!("an unverified address cannot accept")
    };
    assert!(why.contains("verified"), "{why}");
    // A colleague at the recipient's domain only when the invitation says so.
    let colleague = principal("guest", "it@guest.com", &[Role::TenantAdministrator]);
    assert!(matches!(
        inv.process(&community(), Action::Accept, as_recipient(&colleague), contact(), T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
    let mut domain_wide = inv.clone();
    domain_wide.accept_from = AcceptFrom::RecipientDomain;
    let accepted =
        domain_wide.process(&community(), Action::Accept, as_recipient(&colleague), contact(), T0, p).unwrap();
    let accepted = accepted.invitation;
    assert_eq!(accepted.accepted_user_email, colleague.email);
    assert_eq!(accepted.invited_tenant.as_ref(), Some(&colleague.tenant));
    let Err(CommunityInvitationError::NotPermitted(why)) =
        domain_wide.process(&community(), Action::Accept, as_recipient(&stranger), contact(), T0, p)
    else {
        panic!("another domain cannot accept")
    };
    assert!(why.contains("domain") && !why.contains("guest.com"), "{why}");
    // The stranger may still decline with the link.
    assert!(inv.process(&community(), Action::Decline, as_recipient(&stranger), None, T0, p).is_ok());
}

#[test]
fn an_invitation_takes_its_communitys_acceptance_rule_when_it_is_sent() {
    let mut c = community();
    assert_eq!(invitation().0.accept_from, AcceptFrom::Recipient);
    c.accept_from = AcceptFrom::RecipientDomain;
    let (inv, _) =
        CommunityInvitation::create(&c, Email::parse("bob@guest.com").unwrap(), &owner(), T0, Policy::default());
    assert_eq!(inv.accept_from, AcceptFrom::RecipientDomain);
    // Stored before the rule existed: the strict one.
    let mut old = serde_json::to_value(invitation().0).unwrap();
    old.as_object_mut().unwrap().remove("accept_from");
    assert_eq!(serde_json::from_value::<CommunityInvitation>(old).unwrap().accept_from, AcceptFrom::Recipient);
}

#[test]
fn declining_an_accepted_invitation_removes_the_waiting_tenant() {
    let (inv, _) = invitation();
    let guest = invitee();
    let accepted = inv
        .process(&community(), Action::Accept, as_recipient(&guest), contact(), T0, Policy::default())
        .unwrap()
        .invitation;
    let admin = owner();
    let declined =
        accepted.process(&community(), Action::Decline, as_admin(&admin), None, T0, Policy::default()).unwrap();
    assert_eq!(declined.membership, MembershipEffect::Remove { tenant: guest.tenant });
    assert_eq!(declined.invitation.read_state(T0), ReadState::InvitationDeclined);
    assert!(!declined.notifies);
}

#[test]
fn resend_renews_the_secret_and_expiry_at_most_once_per_cooldown() {
    let (inv, old) = invitation();
    let admin = owner();
    let p = Policy::default();
    let err = inv.process(&community(), Action::Resend, as_admin(&admin), None, T0.plus_minutes(9), p).unwrap_err();
    assert_eq!(err, CommunityInvitationError::ResendTooSoon { cooldown_minutes: 10, retry_after_seconds: 60 });

    let later = T0.plus_days(20);
    let resent = inv.process(&community(), Action::Resend, as_admin(&admin), None, later, p).unwrap();
    assert_eq!(resent.lock, LockEffect::Take);
    let secret = resent.new_secret.expect("a new secret");
    let inv = resent.invitation;
    assert_eq!(inv.read_state(later), ReadState::InvitationCreated);
    assert_eq!(inv.expires, later.plus_days(14));
    assert!(inv.secret_matches(&secret));
    assert!(!inv.secret_matches(&Secret::presented(old.expose())));
}

#[test]
fn delete_releases_only_a_lock_it_still_holds() {
    let (inv, _) = invitation();
    let admin = owner();
    assert_eq!(inv.delete(&admin, T0).unwrap().lock, LockEffect::Release);
    assert_eq!(inv.delete(&admin, T0.plus_days(15)).unwrap().lock, LockEffect::None);
    assert!(inv.delete(&admin, T0).unwrap().invitation.is_deleted());
    let guest = invitee();
    let done = inv
        .process(&community(), Action::Accept, as_recipient(&guest), contact(), T0, Policy::default())
        .unwrap()
        .invitation
        .process(&community(), Action::Confirm, as_admin(&admin), None, T0, Policy::default())
        .unwrap()
        .invitation;
    assert!(matches!(done.delete(&admin, T0), Err(CommunityInvitationError::WrongState { .. })));
}

#[test]
fn a_link_holder_may_decline_a_pending_invitation_and_nothing_else() {
    let (inv, _) = invitation();
    let p = Policy::default();
    let declined = inv.process(&community(), Action::Decline, Actor::link_holder(), None, T0, p).unwrap();
    assert_eq!(declined.invitation.read_state(T0), ReadState::InvitationDeclined);
    assert_eq!(declined.lock, LockEffect::Release);
    assert!(declined.require_live);
    let line = declined.invitation.history.last().unwrap();
    assert_eq!((line.action.as_str(), line.by_link_holder()), ("Decline", true));
    assert_eq!((&line.user, &line.tenant), (&None, &None));
    assert!(!inv.history[0].by_link_holder(), "signed-in changes name their user");

    // Accepting joins a tenant: the link alone is not enough.
    assert!(matches!(
        inv.process(&community(), Action::Accept, Actor::link_holder(), contact(), T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
    for action in [Action::Confirm, Action::Resend] {
        assert!(matches!(
            inv.process(&community(), action, Actor::link_holder(), None, T0.plus_days(1), p),
            Err(CommunityInvitationError::NotPermitted(_) | CommunityInvitationError::WrongState { .. })
        ));
    }
    // Past its expiry or once accepted, the link can no longer decline.
    let expired = inv.process(&community(), Action::Decline, Actor::link_holder(), None, T0.plus_days(14), p);
    assert!(matches!(expired, Err(CommunityInvitationError::WrongState { state: ReadState::InvitationExpired, .. })));
    let guest = invitee();
    let accepted =
        inv.process(&community(), Action::Accept, as_recipient(&guest), contact(), T0, p).unwrap().invitation;
    assert!(matches!(
        accepted.process(&community(), Action::Decline, Actor::link_holder(), None, T0, p),
        Err(CommunityInvitationError::NotPermitted(_))
    ));
}

#[test]
fn each_notifying_change_owes_one_email_to_the_right_people() {
    use crate::domain::{DeliveryState, MailKind};
    let (inv, _) = invitation();
    let first = inv.delivery.clone().expect("the invitation email");
    assert_eq!((first.seq, first.kind, first.state), (1, MailKind::Invitation, DeliveryState::Pending));
    assert_eq!(first.to, vec![Email::parse("bob@guest.com").unwrap()]);
    assert_eq!(inv.inviter_email, Some(Email::parse("admin@owner.com").unwrap()));
    let mut with_contact = community();
    with_contact.contact_email = Some(Email::parse("ops@owner.com").unwrap());
    let guest = invitee();
    let accepted = inv
        .process(&with_contact, Action::Accept, as_recipient(&guest), contact(), T0, Policy::default())
        .unwrap()
        .invitation;
    let d = accepted.delivery.clone().unwrap();
    assert_eq!((d.seq, d.kind), (2, MailKind::Accepted));
    assert_eq!(d.to, vec![Email::parse("admin@owner.com").unwrap(), Email::parse("ops@owner.com").unwrap()]);
    let admin = owner();
    let confirmed =
        accepted.process(&community(), Action::Confirm, as_admin(&admin), None, T0, Policy::default()).unwrap();
    let d = confirmed.invitation.delivery.unwrap();
    assert_eq!((d.seq, d.kind), (3, MailKind::Confirmed));
    assert_eq!(d.to, vec![Email::parse("bob@guest.com").unwrap(), Email::parse("ops@guest.com").unwrap()]);
    let declined = inv.process(&community(), Action::Decline, as_recipient(&guest), None, T0, Policy::default());
    let waiting = declined.unwrap().invitation.delivery.unwrap();
    assert_eq!(waiting.seq, 1, "a decline owes no email");
    assert_eq!(waiting.state, DeliveryState::Cancelled, "and the unsent invitation email is withdrawn");
    let deleted = inv.delete(&owner(), T0).unwrap().invitation.delivery.unwrap();
    assert_eq!(deleted.state, DeliveryState::Cancelled);
    // Once it went out, it stays sent whatever happens to the invitation.
    let mut sent = inv.clone();
    if let Some(d) = sent.delivery.as_mut() {
        d.claim(T0);
        d.finish(&crate::domain::DeliveryOutcome::Sent { message_id: "m".into() }, T0);
    }
    let after = sent.process(&community(), Action::Decline, as_recipient(&guest), None, T0, Policy::default());
    assert_eq!(after.unwrap().invitation.delivery.unwrap().state, DeliveryState::Sent);
}

#[test]
fn history_is_bounded() {
    let (mut inv, _) = invitation();
    let admin = owner();
    for i in 0..150 {
        inv.push_history(T0.plus_minutes(i), "Resend", Some(&admin));
    }
    assert_eq!(inv.history.len(), MAX_HISTORY);
    assert_eq!(inv.history[0].action, "Create");
}
