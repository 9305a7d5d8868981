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
use super::{CommunityInvitation, HistoryEntry, InvitationOptions, TenantId, Timestamp, UserId, UserInvitation};

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
        options_data(&new.options, &mut data);
        // A deleted invitation reads as missing in the API; its event says so rather than its last live state.
        let state = if new.is_deleted() { "InvitationDeleted" } else { new.read_state(entry.at).as_str() };
        events.push(base.state_event(kind, entry, state, data));
    }
    let before = old.map(|o| (&o.delivery, &o.earlier_deliveries));
    let deliveries = new.delivery.iter().chain(new.earlier_deliveries.values());
    email_events(&base, before.map(|(l, e)| l.iter().chain(e.values()).collect()), deliveries, &mut events);
    events
}

/// What an invitation's event carries of its options: the product's metadata and the roles it grants.
fn options_data(options: &InvitationOptions, data: &mut Map<String, Value>) {
    if let Some(metadata) = &options.metadata {
        data.insert("metadata".into(), metadata.to_value());
    }
    if !options.roles.is_empty() {
        data.insert("roles".into(), json!(options.roles));
    }
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
        options_data(&new.options, &mut data);
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
mod tests;
