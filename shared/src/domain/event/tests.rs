//! Which events each change raises, and their wire form.

use super::*;
use crate::domain::Lifetime as _;
use crate::domain::{
    Action, Actor, Claimed, Community, CommunityInput, DeliveryOutcome, Email, InvitationPolicy, Principal, Role,
    UserSettings,
};

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn principal(tenant: &str, email: &str) -> Principal {
    Principal {
        user: UserId::parse("sub", &format!("user-{tenant}")).unwrap(),
        tenant: TenantId::parse("tenant_id", tenant).unwrap(),
        email: Some(Email::parse(email).unwrap()),
        tenant_name: Some(format!("{tenant} Inc")),
        roles: vec![Role::TenantAdministrator],
    }
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// Claims and sends delivery `seq` of `inv` (as the consumer does), with the events each write raises.
fn send(
    inv: &CommunityInvitation,
    seq: u64,
    outcome: DeliveryOutcome,
    at: Timestamp,
) -> (CommunityInvitation, Vec<Event>) {
    let mut claimed = Claimed::Community(inv.clone());
    assert!(claimed.claim(seq, at));
    let Claimed::Community(sending) = claimed.clone() else { unreachable!() };
    let mut events = of_invitation(Some(inv), &sending);
    assert!(claimed.finish(seq, &outcome, at));
    let Claimed::Community(done) = claimed else { unreachable!() };
    events.extend(of_invitation(Some(&sending), &done));
    (done, events)
}

#[test]
fn a_handshake_raises_each_action_and_each_email_once_with_ids_stable_under_replay() {
    let (owner, guest) = (principal("owner", "admin@owner.com"), principal("guest", "bob@guest.com"));
    let community = Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner.tenant.clone(), T0).0;
    let policy = InvitationPolicy::default();
    let (created, secret) =
        CommunityInvitation::create(&community, Email::parse("bob@guest.com").unwrap(), &owner, T0, policy);
    let mut all = of_invitation(None, &created);
    assert_eq!(types(&all), ["community.invitation.created"]);
    assert_eq!(all[0].actor, Some(EventActor { user: owner.user.clone(), tenant: owner.tenant.clone() }));
    assert_eq!(all[0].state, "InvitationCreated");
    assert_eq!(all[0].tenant, owner.tenant.as_str());

    let sent = Timestamp::from_millis(T0.millis() + 1_000);
    let (delivered, events) = send(&created, 1, DeliveryOutcome::Sent { message_id: "m-1".into() }, sent);
    assert_eq!(types(&events), ["email.sent"], "the claim raises nothing, the outcome one event");
    assert_eq!(events[0].data["messageId"], "m-1");
    assert_eq!(events[0].time, sent.to_rfc3339());
    all.extend(events);

    let recipient = Actor { principal: Some(&guest), is_recipient: true, is_community_admin: false };
    let contact = Some(Email::parse("ops@guest.com").unwrap());
    let accepted = delivered.process(&community, Action::Accept, recipient, contact, sent, policy).unwrap();
    let events = of_invitation(Some(&delivered), &accepted.invitation);
    assert_eq!(types(&events), ["community.invitation.accepted"]);
    assert_eq!(events[0].data["invitedTenant"], "guest");
    assert_eq!(events[0].data["contactEmail"], "ops@guest.com");
    assert_eq!(events[0].actor.as_ref().map(|a| a.tenant.clone()), Some(guest.tenant.clone()));
    all.extend(events);

    let admin = Actor { principal: Some(&owner), is_recipient: false, is_community_admin: true };
    let confirmed = accepted.invitation.process(None, Action::Confirm, admin, None, sent, policy).unwrap();
    let events = of_invitation(Some(&accepted.invitation), &confirmed.invitation);
    assert_eq!(types(&events), ["community.invitation.confirmed"]);
    assert_eq!(events[0].state, "InvitationCompleted");
    all.extend(events);

    // The same changes seen again raise the same events, ids included; every event has its own id.
    let replayed = of_invitation(Some(&accepted.invitation), &confirmed.invitation);
    assert_eq!(replayed, all[3..]);
    let mut ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len());

    // Nothing secret reaches an event: not the secret, its hash, the sealed secret or the landing link.
    let text = serde_json::to_string(&all).unwrap();
    let hash = serde_json::to_value(&created.secret_hash).unwrap();
    for secret in [secret.expose(), hash.as_str().unwrap(), "/invite/", "token"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

/// Confirm before the Accepted notice went out: that notice waits beside the Confirmed one, and sending it
/// later still raises its `email.sent` (it was lost once, when a sent earlier notice was dropped at once).
#[test]
fn a_notice_sent_after_the_next_was_owed_still_raises_its_email_sent() {
    let (owner, guest) = (principal("owner", "admin@owner.com"), principal("guest", "bob@guest.com"));
    let community = Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner.tenant.clone(), T0).0;
    let policy = InvitationPolicy::default();
    let (created, _) =
        CommunityInvitation::create(&community, Email::parse("bob@guest.com").unwrap(), &owner, T0, policy);
    let (sent, _) = send(&created, 1, DeliveryOutcome::Sent { message_id: "m-1".into() }, T0);
    let recipient = Actor { principal: Some(&guest), is_recipient: true, is_community_admin: false };
    let contact = Some(Email::parse("ops@guest.com").unwrap());
    let accepted = sent.process(&community, Action::Accept, recipient, contact, T0, policy).unwrap().invitation;
    let admin = Actor { principal: Some(&owner), is_recipient: false, is_community_admin: true };
    let confirmed = accepted.process(None, Action::Confirm, admin, None, T0, policy).unwrap().invitation;
    let (_, events) = send(&confirmed, 2, DeliveryOutcome::Sent { message_id: "m-2".into() }, T0);
    assert_eq!(types(&events), ["email.sent"]);
    assert_eq!(
        (events[0].data["kind"].clone(), events[0].data["messageId"].clone()),
        (json!("Accepted"), json!("m-2"))
    );
}

#[test]
fn every_failed_attempt_raises_its_own_event_and_a_link_holder_is_no_actor() {
    let owner = principal("owner", "admin@owner.com");
    let community = Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner.tenant.clone(), T0).0;
    let policy = InvitationPolicy::default();
    let (created, _) =
        CommunityInvitation::create(&community, Email::parse("bob@guest.com").unwrap(), &owner, T0, policy);
    let failed = || DeliveryOutcome::Failed { reason: "MessageRejected: Email address is not verified.".into() };
    let (once, first) = send(&created, 1, failed(), T0);
    let (_, second) = send(&once, 1, failed(), T0);
    assert_eq!(types(&first), ["email.failed"]);
    assert_eq!(types(&second), ["email.failed"]);
    assert_ne!(first[0].id, second[0].id);
    assert_eq!(first[0].data["reason"], "MessageRejected: Email address is not verified.");
    assert_eq!((first[0].data["attempts"].clone(), second[0].data["attempts"].clone()), (json!(1), json!(2)));

    let declined = created.process(None, Action::Decline, Actor::link_holder(), None, T0, policy).unwrap();
    let events = of_invitation(Some(&created), &declined.invitation);
    assert_eq!(types(&events), ["community.invitation.declined"]);
    assert_eq!(events[0].actor, None);
    assert!(!serde_json::to_string(&events).unwrap().contains("actor"));
}

#[test]
fn a_platform_sign_up_raises_created_then_accepted_with_the_names_given() {
    let inviter = principal("acme", "admin@acme.com");
    let settings = UserSettings::default();
    let jane = Email::parse("jane@example.com").unwrap();
    let (created, _) = UserInvitation::create(&inviter, jane, Some("Hi".into()), T0, &settings);
    let events = of_user_invitation(None, &created);
    assert_eq!(types(&events), ["user.invitation.created"]);
    assert_eq!(events[0].state, "Pending");
    assert_eq!(events[0].data["inviter"], "user-acme");
    let accepted = created.accept("Jane".into(), "Mead".into(), T0).unwrap();
    let events = of_user_invitation(Some(&created), &accepted.invitation);
    assert_eq!(types(&events), ["user.invitation.accepted"]);
    assert_eq!((events[0].data["firstName"].clone(), events[0].actor.clone()), (json!("Jane"), None));
    assert!(!serde_json::to_string(&events).unwrap().contains("Hi"), "the message is the email's, not the event's");
}

/// Every type raised by a real flow, checked against its schema in docs/events/ (with the envelope and the data
/// schemas it refers to), and every schema file there is a type's or one of those.
#[test]
fn every_type_has_a_schema_and_every_event_matches_it() {
    let owner = principal("owner", "admin@owner.com");
    let guest = principal("guest", "bob@guest.com");
    let community = Community::create(CommunityInput::new("Ops", None, None).unwrap(), owner.tenant.clone(), T0).0;
    let policy = InvitationPolicy::default();
    let bob = || Email::parse("bob@guest.com").unwrap();
    let admin = Actor { principal: Some(&owner), is_recipient: false, is_community_admin: true };
    let recipient = Actor { principal: Some(&guest), is_recipient: true, is_community_admin: false };
    let later = T0.plus_days(1);
    let mut events = Vec::new();

    let (mut created, _) = CommunityInvitation::create(&community, bob(), &owner, T0, policy);
    created.options.metadata = crate::domain::Metadata::parse(json!({"plan": "pro", "seats": 3})).unwrap();
    created.options.roles = vec!["Contributor".into()];
    events.extend(of_invitation(None, &created));
    assert_eq!(events[0].data["metadata"], json!({"plan": "pro", "seats": 3}), "the product's data, as given");
    let (sent, e) = send(&created, 1, DeliveryOutcome::Sent { message_id: "m".into() }, T0);
    events.extend(e);
    let hard =
        Fate::Bounced { at: T0, permanent: true, bounce_type: "Permanent".into(), diagnostic: Some("550".into()) };
    let complaint = Fate::Complained { at: T0, feedback: Some("abuse".into()) };
    for fate in [Fate::Delivered { at: T0 }, hard, complaint] {
        let mut learned = Claimed::Community(sent.clone());
        assert!(learned.learn(1, "m", fate));
        let Claimed::Community(learned) = learned else { unreachable!() };
        events.extend(of_invitation(Some(&sent), &learned));
    }
    let (_, e) = send(&created, 1, DeliveryOutcome::Failed { reason: "throttled".into() }, T0);
    events.extend(e);
    let resent = sent.process(None, Action::Resend, admin, None, later, policy).unwrap().invitation;
    events.extend(of_invitation(Some(&sent), &resent));
    let contact = Some(Email::parse("ops@guest.com").unwrap());
    let accepted = sent.process(&community, Action::Accept, recipient, contact, T0, policy).unwrap().invitation;
    events.extend(of_invitation(Some(&sent), &accepted));
    let confirmed = accepted.process(None, Action::Confirm, admin, None, T0, policy).unwrap().invitation;
    events.extend(of_invitation(Some(&accepted), &confirmed));
    let declined = accepted.process(None, Action::Decline, admin, None, T0, policy).unwrap().invitation;
    events.extend(of_invitation(Some(&accepted), &declined));
    let deleted = sent.delete(&owner, T0).unwrap().invitation;
    events.extend(of_invitation(Some(&sent), &deleted));
    let expired = sent.expire(sent.expires).expect("due at its expiry");
    assert!(expired.expire(later.plus_days(30)).is_none(), "recorded once");
    events.extend(of_invitation(Some(&sent), &expired));

    let settings = UserSettings::default();
    let (mut user, _) = UserInvitation::create(&owner, bob(), None, T0, &settings);
    user.options.metadata = crate::domain::Metadata::parse(json!({"team": "ops"})).unwrap();
    user.options.roles = vec!["TenantMember".into()];
    events.extend(of_user_invitation(None, &user));
    for next in [
        user.accept("Bob".into(), "Guest".into(), T0).unwrap().invitation,
        user.decline(T0).unwrap().invitation,
        user.revoke(&owner, T0).unwrap().invitation,
        user.verify(T0).unwrap().unwrap().invitation,
        user.expire(user.expires).expect("due at its expiry"),
        user.resend(&owner, later, &settings).unwrap().invitation,
    ] {
        events.extend(of_user_invitation(Some(&user), &next));
    }

    let (host, guest, ..) = collaboration::tests::two_portals();
    events.extend(host.into_iter().chain(guest));

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events");
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(format!("{name}.schema.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let parts =
        ["envelope", "community-invitation", "user-invitation", "email", "collaboration-invitation", "participant"];
    let options = jsonschema::options().should_validate_formats(true).with_retriever(Folder(dir.clone()));
    let mut raised: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    raised.sort_unstable();
    raised.dedup();
    let mut all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    all.sort_unstable();
    assert_eq!(raised, all, "the flows raise every type");
    for event in &events {
        let validator = options.build(&read(event.kind.as_str())).unwrap();
        let instance = serde_json::to_value(event).unwrap();
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{instance:#} does not match its schema: {errors:?}");
    }
    // A wrong event is refused, so the check above can fail.
    let mut wrong = serde_json::to_value(&events[0]).unwrap();
    wrong["data"]["recipient"] = json!(42);
    assert!(!options.build(&read(events[0].kind.as_str())).unwrap().is_valid(&wrong));

    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().unwrap().strip_suffix(".schema.json").map(String::from))
        .collect();
    files.sort_unstable();
    let mut wanted: Vec<String> = all.iter().chain(&parts).map(|s| (*s).to_owned()).collect();
    wanted.sort_unstable();
    assert_eq!(files, wanted);
}

/// Resolves `urn:rsvp:events:<name>` to `docs/events/<name>.schema.json`, as the schemas refer to one another.
struct Folder(std::path::PathBuf);

impl jsonschema::Retrieve for Folder {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().strip_prefix("urn:rsvp:events:").ok_or_else(|| format!("unknown schema {uri}"))?;
        Ok(serde_json::from_str(&std::fs::read_to_string(self.0.join(format!("{name}.schema.json")))?)?)
    }
}
