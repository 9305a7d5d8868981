//! What happened, for the product that hands its invitations to rsvp: the events one change to an invitation
//! raises, decided from the invitation before and after the change (a DynamoDB stream record's old and new image,
//! or an embedded store's change), so every store and every transport raises the same events.
//!
//! - **One per action.** An action is a new entry in the invitation's history (`Create`, `Accept`, `Resend`, ...),
//!   so a write that changes no history (a delivery claim, an outcome) raises no state event, and an action raises
//!   one even when the state does not change (Resend).
//! - **One per email outcome.** A delivery that reaches `sent`, or a new failed attempt, raises `email.sent` /
//!   `email.failed`, for the latest delivery and any earlier one still kept; what the mail service learns later
//!   ([`super::fate`]) raises `email.delivered`, `email.bounced` or `email.complained` (a delay raises nothing).
//! - **Stable ids.** An event's id is a hash of the subject, its version after the change, the type and, for email,
//!   the delivery and attempt: the same change seen twice (a replayed stream record) raises the same ids, so a
//!   receiver drops what it has seen.
//! - **Nothing secret.** No secret, hash, sealed secret or link (a landing link is half a credential); addresses only
//!   where the owner tenant's API shows them (recipient, the accepting administrator, the contact given), and the
//!   mail service's failure reason as stored.
//!
//! The portal dialect's events, from its collaboration invitations and participants, are [`collaboration`]'s.
//!
//! `docs/events/` documents the envelope and each type with a JSON Schema; the tests check every event against it.

pub mod collaboration;

pub use collaboration::{of_collaboration_invitation, of_participant, participant_version};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::fate::Fate;
use super::outbox::{Delivery, DeliveryState, MailKind};
use super::{CommunityInvitation, HistoryEntry, TenantId, Timestamp, UserId, UserInvitation};

/// Every event type, by its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    #[serde(rename = "community.invitation.created")]
    CommunityInvitationCreated,
    #[serde(rename = "community.invitation.resent")]
    CommunityInvitationResent,
    #[serde(rename = "community.invitation.accepted")]
    CommunityInvitationAccepted,
    #[serde(rename = "community.invitation.declined")]
    CommunityInvitationDeclined,
    #[serde(rename = "community.invitation.confirmed")]
    CommunityInvitationConfirmed,
    #[serde(rename = "community.invitation.deleted")]
    CommunityInvitationDeleted,
    /// It ran out of time unanswered (recorded by the sweep shortly after).
    #[serde(rename = "community.invitation.expired")]
    CommunityInvitationExpired,
    #[serde(rename = "user.invitation.created")]
    UserInvitationCreated,
    #[serde(rename = "user.invitation.resent")]
    UserInvitationResent,
    /// The invited person checked the code before signing up (the first check of each code).
    #[serde(rename = "user.invitation.verified")]
    UserInvitationVerified,
    /// The invited person signed up.
    #[serde(rename = "user.invitation.accepted")]
    UserInvitationAccepted,
    #[serde(rename = "user.invitation.declined")]
    UserInvitationDeclined,
    #[serde(rename = "user.invitation.revoked")]
    UserInvitationRevoked,
    /// It ran out of time unanswered (recorded by the sweep shortly after).
    #[serde(rename = "user.invitation.expired")]
    UserInvitationExpired,
    /// A host portal made an invitation file for a guest portal.
    #[serde(rename = "collaboration.invitation.created")]
    CollaborationInvitationCreated,
    /// A host portal made its invitation file anew (a new nonce and expiry; the earlier file is dead).
    #[serde(rename = "collaboration.invitation.refreshed")]
    CollaborationInvitationRefreshed,
    #[serde(rename = "collaboration.invitation.invalidated")]
    CollaborationInvitationInvalidated,
    /// The host imported the guest's response: the guest takes part.
    #[serde(rename = "collaboration.invitation.imported")]
    CollaborationInvitationImported,
    /// This portal, a guest, accepted a host's invitation file.
    #[serde(rename = "collaboration.invitation.accepted")]
    CollaborationInvitationAccepted,
    /// A portal no longer takes part: the host removed a guest, or this guest left (its host leaves its records).
    #[serde(rename = "collaboration.participant.removed")]
    CollaborationParticipantRemoved,
    /// The mail service took the email.
    #[serde(rename = "email.sent")]
    EmailSent,
    /// An attempt to send the email failed (it may be tried again).
    #[serde(rename = "email.failed")]
    EmailFailed,
    /// The recipient's mail server accepted the email.
    #[serde(rename = "email.delivered")]
    EmailDelivered,
    /// The email bounced (or the mail service refused it after taking it).
    #[serde(rename = "email.bounced")]
    EmailBounced,
    /// The recipient marked the email as spam.
    #[serde(rename = "email.complained")]
    EmailComplained,
}

impl EventType {
    /// Every type, in the order `docs/events/` lists them.
    pub const ALL: [Self; 25] = [
        Self::CommunityInvitationCreated,
        Self::CommunityInvitationResent,
        Self::CommunityInvitationAccepted,
        Self::CommunityInvitationDeclined,
        Self::CommunityInvitationConfirmed,
        Self::CommunityInvitationDeleted,
        Self::CommunityInvitationExpired,
        Self::UserInvitationCreated,
        Self::UserInvitationResent,
        Self::UserInvitationVerified,
        Self::UserInvitationAccepted,
        Self::UserInvitationDeclined,
        Self::UserInvitationRevoked,
        Self::UserInvitationExpired,
        Self::CollaborationInvitationCreated,
        Self::CollaborationInvitationRefreshed,
        Self::CollaborationInvitationInvalidated,
        Self::CollaborationInvitationImported,
        Self::CollaborationInvitationAccepted,
        Self::CollaborationParticipantRemoved,
        Self::EmailSent,
        Self::EmailFailed,
        Self::EmailDelivered,
        Self::EmailBounced,
        Self::EmailComplained,
    ];

    /// The wire name (`community.invitation.accepted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommunityInvitationCreated => "community.invitation.created",
            Self::CommunityInvitationResent => "community.invitation.resent",
            Self::CommunityInvitationAccepted => "community.invitation.accepted",
            Self::CommunityInvitationDeclined => "community.invitation.declined",
            Self::CommunityInvitationConfirmed => "community.invitation.confirmed",
            Self::CommunityInvitationDeleted => "community.invitation.deleted",
            Self::CommunityInvitationExpired => "community.invitation.expired",
            Self::UserInvitationCreated => "user.invitation.created",
            Self::UserInvitationResent => "user.invitation.resent",
            Self::UserInvitationVerified => "user.invitation.verified",
            Self::UserInvitationAccepted => "user.invitation.accepted",
            Self::UserInvitationDeclined => "user.invitation.declined",
            Self::UserInvitationRevoked => "user.invitation.revoked",
            Self::UserInvitationExpired => "user.invitation.expired",
            Self::CollaborationInvitationCreated => "collaboration.invitation.created",
            Self::CollaborationInvitationRefreshed => "collaboration.invitation.refreshed",
            Self::CollaborationInvitationInvalidated => "collaboration.invitation.invalidated",
            Self::CollaborationInvitationImported => "collaboration.invitation.imported",
            Self::CollaborationInvitationAccepted => "collaboration.invitation.accepted",
            Self::CollaborationParticipantRemoved => "collaboration.participant.removed",
            Self::EmailSent => "email.sent",
            Self::EmailFailed => "email.failed",
            Self::EmailDelivered => "email.delivered",
            Self::EmailBounced => "email.bounced",
            Self::EmailComplained => "email.complained",
        }
    }

    /// The community invitation action a history entry names.
    fn of_community_action(action: &str) -> Option<Self> {
        Some(match action {
            "Create" => Self::CommunityInvitationCreated,
            "Resend" => Self::CommunityInvitationResent,
            "Accept" => Self::CommunityInvitationAccepted,
            "Decline" => Self::CommunityInvitationDeclined,
            "Confirm" => Self::CommunityInvitationConfirmed,
            "Delete" => Self::CommunityInvitationDeleted,
            "Expire" => Self::CommunityInvitationExpired,
            _ => return None,
        })
    }

    /// The platform invitation action a history entry names.
    fn of_user_action(action: &str) -> Option<Self> {
        Some(match action {
            "Create" => Self::UserInvitationCreated,
            "Resend" => Self::UserInvitationResent,
            "Verify" => Self::UserInvitationVerified,
            "Accept" => Self::UserInvitationAccepted,
            "Decline" => Self::UserInvitationDeclined,
            "Revoke" => Self::UserInvitationRevoked,
            "Expire" => Self::UserInvitationExpired,
            _ => return None,
        })
    }
}

/// One event, in the envelope every type shares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Unique per event, the same each time the same change is seen (see the module docs).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub time: String,
    /// The tenant the event is for: the invitation's owner (the inviting tenant; for a collaboration, the host
    /// portal's id, which both portals know).
    pub tenant: String,
    pub subject: Subject,
    /// The subject's state after the change, as the API shows it (`InvitationAccepted`, `Pending`, ...).
    pub state: &'static str,
    /// Who acted; absent for email outcomes and for whoever held the invitation link without signing in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<EventActor>,
    /// The type's own fields (`docs/events/<type>.schema.json`).
    pub data: Map<String, Value>,
}

/// What the event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectType,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SubjectType {
    CommunityInvitation,
    UserInvitation,
    CollaborationInvitation,
}

/// The signed-in user who acted, and their tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventActor {
    pub user: UserId,
    pub tenant: TenantId,
}

/// The events raised by a change of community invitation `new` from `old` (`None`: it was just written).
pub fn of_invitation(old: Option<&CommunityInvitation>, new: &CommunityInvitation) -> Vec<Event> {
    let subject = Subject { kind: SubjectType::CommunityInvitation, id: new.id.to_string() };
    let base = Base { subject: &subject, tenant: new.issuing_tenant.as_str(), version: new.version };
    let mut events = Vec::new();
    if let Some((kind, entry)) = action(old.map(|o| o.history.as_slice()), &new.history, EventType::of_community_action)
    {
        let mut data = Map::new();
        data.insert("communityId".into(), json!(new.community_id));
        data.insert("communityName".into(), json!(new.community_name));
        data.insert("recipient".into(), json!(new.recipient));
        data.insert("expires".into(), json!(new.expires.to_rfc3339()));
        if let Some(tenant) = &new.invited_tenant {
            data.insert("invitedTenant".into(), json!(tenant));
        }
        if let Some(email) = &new.accepted_user_email {
            data.insert("acceptedUserEmail".into(), json!(email));
        }
        if let Some(email) = &new.contact_email {
            data.insert("contactEmail".into(), json!(email));
        }
        if let Some(metadata) = &new.metadata {
            data.insert("metadata".into(), metadata.to_value());
        }
        if !new.roles.is_empty() {
            data.insert("roles".into(), json!(new.roles));
        }
        // A deleted invitation reads as missing in the API; its event says so rather than its last live state.
        let state = if new.is_deleted() { "InvitationDeleted" } else { new.read_state(entry.at).as_str() };
        events.push(base.state_event(kind, entry, state, data));
    }
    let before = old.map(|o| (&o.delivery, &o.earlier_deliveries));
    let deliveries = new.delivery.iter().chain(new.earlier_deliveries.values());
    email_events(&base, before.map(|(l, e)| l.iter().chain(e.values()).collect()), deliveries, &mut events);
    events
}

/// The events raised by a change of platform invitation `new` from `old` (`None`: it was just written).
pub fn of_user_invitation(old: Option<&UserInvitation>, new: &UserInvitation) -> Vec<Event> {
    let subject = Subject { kind: SubjectType::UserInvitation, id: new.id.to_string() };
    let base = Base { subject: &subject, tenant: new.tenant.as_str(), version: new.version };
    let mut events = Vec::new();
    if let Some((kind, entry)) = action(old.map(|o| o.history.as_slice()), &new.history, EventType::of_user_action) {
        let mut data = Map::new();
        data.insert("recipient".into(), json!(new.recipient));
        data.insert("inviter".into(), json!(new.inviter));
        data.insert("expires".into(), json!(new.expires.to_rfc3339()));
        if kind == EventType::UserInvitationAccepted {
            data.insert("firstName".into(), json!(new.first_name));
            data.insert("lastName".into(), json!(new.last_name));
        }
        if let Some(metadata) = &new.metadata {
            data.insert("metadata".into(), metadata.to_value());
        }
        if !new.roles.is_empty() {
            data.insert("roles".into(), json!(new.roles));
        }
        events.push(base.state_event(kind, entry, new.read_state(entry.at).as_str(), data));
    }
    let before = old.map(|o| o.delivery.iter().chain(o.earlier_deliveries.values()).collect());
    let deliveries = new.delivery.iter().chain(new.earlier_deliveries.values());
    email_events(&base, before, deliveries, &mut events);
    events
}

/// The action the change made: the newest history entry, when it is not the newest entry before the change.
fn action<'h>(
    old: Option<&[HistoryEntry]>,
    new: &'h [HistoryEntry],
    kind_of: fn(&str) -> Option<EventType>,
) -> Option<(EventType, &'h HistoryEntry)> {
    let entry = new.last()?;
    if old.and_then(<[HistoryEntry]>::last) == Some(entry) {
        return None;
    }
    Some((kind_of(&entry.action)?, entry))
}

/// What every event of one subject's change shares.
struct Base<'a> {
    subject: &'a Subject,
    tenant: &'a str,
    version: u64,
}

impl Base<'_> {
    fn event(
        &self,
        kind: EventType,
        at: Timestamp,
        state: &'static str,
        actor: Option<EventActor>,
        data: Map<String, Value>,
        discriminator: &str,
    ) -> Event {
        let mut hash = Sha256::new();
        for part in [self.subject.id.as_str(), &self.version.to_string(), kind.as_str(), discriminator] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let digest = hash.finalize();
        let id = digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>();
        Event {
            id: format!("evt_{id}"),
            kind,
            time: at.to_rfc3339(),
            tenant: self.tenant.to_owned(),
            subject: self.subject.clone(),
            state,
            actor,
            data,
        }
    }

    fn state_event(
        &self,
        kind: EventType,
        entry: &HistoryEntry,
        state: &'static str,
        data: Map<String, Value>,
    ) -> Event {
        let actor = match (&entry.user, &entry.tenant) {
            (Some(user), Some(tenant)) => Some(EventActor { user: user.clone(), tenant: tenant.clone() }),
            _ => None,
        };
        self.event(kind, entry.at, state, actor, data, "")
    }
}

/// `email.sent` for each delivery that reached `sent` in this change, `email.failed` for each new failed attempt.
fn email_events<'a>(
    base: &Base<'_>,
    before: Option<Vec<&Delivery>>,
    after: impl Iterator<Item = &'a Delivery>,
    events: &mut Vec<Event>,
) {
    let before = before.unwrap_or_default();
    for delivery in after {
        let earlier = before.iter().find(|d| d.seq == delivery.seq);
        let learned = delivery.fate.as_ref().filter(|f| earlier.is_none_or(|d| d.fate.as_ref() != Some(*f)));
        if let Some((kind, fate)) = learned.and_then(|f| fate_event(f).map(|k| (k, f))) {
            let mut data = email_data(delivery);
            match fate {
                Fate::Bounced { permanent, bounce_type, diagnostic, .. } => {
                    data.insert("permanent".into(), json!(permanent));
                    data.insert("bounceType".into(), json!(bounce_type));
                    if let Some(diagnostic) = diagnostic {
                        data.insert("diagnostic".into(), json!(diagnostic));
                    }
                }
                Fate::Complained { feedback: Some(feedback), .. } => {
                    data.insert("feedback".into(), json!(feedback));
                }
                _ => {}
            }
            let discriminator = format!("{}.{}", delivery.seq, fate.as_str());
            events.push(base.event(kind, fate.at(), fate.as_str(), None, data, &discriminator));
        }
        let (kind, at) = match delivery.state {
            DeliveryState::Sent if earlier.is_none_or(|d| d.state != DeliveryState::Sent) => {
                (EventType::EmailSent, delivery.sent.or(delivery.claimed))
            }
            DeliveryState::Failed
                if earlier.is_none_or(|d| d.state != DeliveryState::Failed || d.attempts != delivery.attempts) =>
            {
                (EventType::EmailFailed, delivery.claimed)
            }
            _ => continue,
        };
        let Some(at) = at.or(delivery.owed_since) else { continue };
        let mut data = email_data(delivery);
        if let Some(reason) = delivery.failure.as_ref().filter(|_| kind == EventType::EmailFailed) {
            data.insert("reason".into(), json!(reason));
        }
        let discriminator = format!("{}.{}", delivery.seq, delivery.attempts);
        events.push(base.event(kind, at, delivery.state.as_str(), None, data, &discriminator));
    }
}

/// The event a newly learned fate raises; a delay raises none (the email is still on its way).
fn fate_event(fate: &Fate) -> Option<EventType> {
    match fate {
        Fate::Delayed { .. } => None,
        Fate::Delivered { .. } => Some(EventType::EmailDelivered),
        Fate::Bounced { .. } => Some(EventType::EmailBounced),
        Fate::Complained { .. } => Some(EventType::EmailComplained),
    }
}

/// What every email event says of its delivery.
fn email_data(delivery: &Delivery) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("seq".into(), json!(delivery.seq));
    data.insert("kind".into(), json!(mail_kind(delivery.kind)));
    data.insert("to".into(), json!(delivery.to));
    data.insert("attempts".into(), json!(delivery.attempts));
    if let Some(id) = &delivery.message_id {
        data.insert("messageId".into(), json!(id));
    }
    data
}

fn mail_kind(kind: MailKind) -> &'static str {
    match kind {
        MailKind::Invitation => "Invitation",
        MailKind::Accepted => "Accepted",
        MailKind::Confirmed => "Confirmed",
    }
}

#[cfg(test)]
mod tests {
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
        created.metadata = crate::domain::Metadata::parse(json!({"plan": "pro", "seats": 3})).unwrap();
        created.roles = vec!["Contributor".into()];
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
        user.metadata = crate::domain::Metadata::parse(json!({"team": "ops"})).unwrap();
        user.roles = vec!["TenantMember".into()];
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
            .filter_map(|e| {
                e.unwrap().file_name().into_string().unwrap().strip_suffix(".schema.json").map(String::from)
            })
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
}
