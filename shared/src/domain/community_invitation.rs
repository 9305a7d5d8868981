//! The community invitation and its three-way handshake: invite, accept, confirm.
//!
//! ```text
//! Created --Accept (recipient admin)--> Accepted --Confirm (community admin)--> Completed
//!    |                                     |
//!    +--Decline (recipient)--> Declined <--+--Decline (community admin)
//! Created (live or expired) --Resend (community admin)--> Created, new secret and expiry
//! ```
//! Expired is never stored: a Created invitation past its expiry reads as expired.
//!
//! Accept is bound to the recipient: holding the link is not enough, since a link can be forwarded or stolen. The
//! accepting TenantAdministrator's verified address must be the recipient's, or, when the invitation was sent
//! with [`AcceptFrom::RecipientDomain`], one in the recipient's domain. Whoever holds the link may still Decline.

use serde::{Deserialize, Serialize};

use super::lifetime::{HistoryEntry, attach_link, lifetime_of, push_history, valid_days, withdraw_invitation_email};
use super::outbox::{Delivery, Earlier, MailKind, Outbox, recipients};
use super::{
    AcceptFrom, Community, CommunityId, CountChange, Email, InvitationId, InvitationOptions, MemberStatus, Membership,
    Principal, Secret, SecretHash, TenantId, Timestamp,
};

/// The state as stored. `Deleted` keeps the record for audit while every read treats it as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredState {
    Created,
    Accepted,
    Declined,
    Completed,
    Deleted,
}

/// The state as callers see it, in the reference API's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReadState {
    InvitationCreated,
    InvitationAccepted,
    InvitationDeclined,
    InvitationExpired,
    InvitationCompleted,
}

impl ReadState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvitationCreated => "InvitationCreated",
            Self::InvitationAccepted => "InvitationAccepted",
            Self::InvitationDeclined => "InvitationDeclined",
            Self::InvitationExpired => "InvitationExpired",
            Self::InvitationCompleted => "InvitationCompleted",
        }
    }
}

/// What a caller asks `process_invitation` to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Accept,
    Decline,
    Confirm,
    Resend,
}

impl Action {
    pub const NAMES: &'static str = "Accept, Decline, Confirm or Resend";

    /// Whether deciding the action reads the community: only Accept does ([`CommunityInvitation::process`]).
    pub fn needs_community(self) -> bool {
        self == Self::Accept
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Accept" => Some(Self::Accept),
            "Decline" => Some(Self::Decline),
            "Confirm" => Some(Self::Confirm),
            "Resend" => Some(Self::Resend),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "Accept",
            Self::Decline => "Decline",
            Self::Confirm => "Confirm",
            Self::Resend => "Resend",
        }
    }
}

/// A community invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityInvitation {
    pub id: InvitationId,
    pub community_id: CommunityId,
    pub community_name: String,
    pub issuing_tenant: TenantId,
    pub recipient: Email,
    pub state: StoredState,
    pub issued: Timestamp,
    pub expires: Timestamp,
    pub accepted: Option<Timestamp>,
    /// The tenant that accepted: the accepting administrator's own tenant, from the verified token.
    pub invited_tenant: Option<TenantId>,
    /// The accepting administrator's verified address: the recipient's, or one in its domain (see `accept_from`).
    pub accepted_user_email: Option<Email>,
    /// What the accepting token's `tenant_name` claim said. A claim, never verified: any tenant's token may name
    /// itself anything, so the owner is shown it as such, beside the tenant id and address above.
    pub accepted_tenant_name: Option<String>,
    /// The invited tenant's point of contact, given when it accepts.
    pub contact_email: Option<Email>,
    pub secret_hash: SecretHash,
    /// When the email was last (re)sent; Resend is rate-limited from here.
    pub last_sent: Timestamp,
    /// Bumped by every change; each write is conditional on the version it read, so racing changes cannot both win.
    pub version: u64,
    pub history: Vec<HistoryEntry>,
    /// The verified address of the administrator who sent the invitation, told when it is accepted.
    #[serde(default)]
    pub inviter_email: Option<Email>,
    /// The latest email this invitation owes or sent (see [`Delivery`]); written with the change that owes it.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// Whose verified address may accept: the community's setting when the invitation was sent, unless the
    /// invitation chose for itself. It stays as sent, as the community's name does. Items written before the rule
    /// existed read as [`AcceptFrom::Recipient`].
    #[serde(default)]
    pub accept_from: AcceptFrom,
    /// Earlier emails still owed when a newer one took `delivery`'s place (an Accepted notice unsent when Confirm
    /// came), so each still goes out once ([`Outbox::owe`]). Absent from items stored before it existed.
    #[serde(default, skip_serializing_if = "Earlier::is_empty")]
    pub earlier_deliveries: Earlier,
    /// How many days its link lives, when the create request chose it ([`super::Lifetime::live_for`]); a Resend
    /// gives the same. Absent: the deployment's [`InvitationPolicy::validity_days`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<i64>,
    /// What the create request chose beyond the reference API's fields (stored flattened, each under its own name).
    #[serde(flatten)]
    pub options: InvitationOptions,
}

/// How the caller relates to the invitation; worked out by the operation (token or verified email, tenant, roles).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The signed-in caller; `None` for someone who holds the invitation link and is not signed in (the landing
    /// page), who is the recipient by the secret alone and may only do what needs no tenant: Decline.
    pub principal: Option<&'a Principal>,
    pub is_recipient: bool,
    pub is_community_admin: bool,
}

impl<'a> Actor<'a> {
    /// Whoever presented the invitation's secret on its landing page, without signing in.
    pub fn link_holder() -> Self {
        Self { principal: None, is_recipient: true, is_community_admin: false }
    }
}

/// What happens to the (community, recipient) uniqueness lock alongside a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockEffect {
    None,
    /// Hold the lock until `expires`: succeeds only if the lock is free, stale, or already this invitation's.
    Take,
    /// Give the lock up; the invitation was holding it.
    Release,
}

/// What happens to the invited tenant's membership alongside a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEffect {
    None,
    /// Add the tenant; fails if it is already in the community.
    Join(Box<Membership>),
    /// AwaitingConfirmation becomes Active.
    Activate {
        tenant: TenantId,
    },
    /// Remove a tenant that is still awaiting confirmation.
    Remove {
        tenant: TenantId,
    },
}

/// A decided change: the new invitation, what must change with it, and how the store must guard the write.
#[derive(Debug)]
pub struct Transition {
    pub invitation: CommunityInvitation,
    /// The version the decision was based on; the write succeeds only if the stored item still has it.
    pub expected_version: u64,
    /// When the change was decided; locks and liveness are judged at this instant.
    pub at: Timestamp,
    /// Whether the write also requires the stored invitation to be unexpired at `at`.
    pub require_live: bool,
    pub lock: LockEffect,
    pub membership: MembershipEffect,
    /// A fresh secret, when the change issued one (Resend); the old one no longer verifies.
    pub new_secret: Option<Secret>,
    /// Whether someone is notified (the answer is then 202 rather than 200).
    pub notifies: bool,
    /// How the community's counters move with this change (written in the same transaction).
    pub counts: CountChange,
}

impl Transition {
    /// Sets [`Transition::counts`] from the invitation as it was read (`before`) and as it will be.
    fn count(mut self, before: &CommunityInvitation) -> Self {
        let open = |i: &CommunityInvitation| i64::from(i.is_open());
        let members = match self.membership {
            MembershipEffect::Join(_) => 1,
            MembershipEffect::Remove { .. } => -1,
            MembershipEffect::None | MembershipEffect::Activate { .. } => 0,
        };
        self.counts = CountChange { open_invitations: open(&self.invitation) - open(before), members };
        self
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommunityInvitationError {
    #[error("The invitation is {}; {action} is not possible in that state.", state.as_str())]
    WrongState { state: ReadState, action: &'static str },
    #[error("{0}")]
    NotPermitted(&'static str),
    #[error("ContactEmail is required to accept an invitation.")]
    ContactEmailRequired,
    /// Accept was decided without the community, which it needs (the membership it makes copies the community's
    /// name, and its notice goes to the community's contact): the community is gone.
    #[error("The invitation's community is gone.")]
    CommunityGone,
    #[error(
        "The invitation was sent less than {cooldown_minutes} minutes ago; it can be resent in {retry_after_seconds} seconds."
    )]
    ResendTooSoon { cooldown_minutes: i64, retry_after_seconds: i64 },
}

/// Settings that shape invitations.
#[derive(Debug, Clone, Copy)]
pub struct InvitationPolicy {
    pub validity_days: i64,
    pub resend_cooldown_minutes: i64,
}

impl Default for InvitationPolicy {
    fn default() -> Self {
        Self { validity_days: 14, resend_cooldown_minutes: 10 }
    }
}

impl CommunityInvitation {
    /// A new invitation to `community` for `recipient`, with the secret to send (shown once, never stored).
    pub fn create(
        community: &Community,
        recipient: Email,
        by: &Principal,
        now: Timestamp,
        policy: InvitationPolicy,
    ) -> (Self, Secret) {
        let secret = Secret::generate();
        let recipient_to = recipient.clone();
        let invitation = Self {
            id: InvitationId::new(),
            community_id: community.id,
            community_name: community.name.clone(),
            issuing_tenant: community.owner.clone(),
            recipient,
            state: StoredState::Created,
            issued: now,
            expires: now.plus_days(policy.validity_days),
            accepted: None,
            invited_tenant: None,
            accepted_user_email: None,
            accepted_tenant_name: None,
            contact_email: None,
            secret_hash: secret.hash(),
            last_sent: now,
            version: 1,
            history: vec![HistoryEntry::new(now, "Create", Some(by))],
            inviter_email: by.email.clone(),
            delivery: Some(Delivery::pending(None, MailKind::Invitation, vec![recipient_to], now)),
            accept_from: community.accept_from,
            earlier_deliveries: Earlier::new(),
            valid_days: None,
            options: InvitationOptions::default(),
        };
        (invitation, secret)
    }

    /// Makes a new invitation link-only: its creator hands the link on, so no email is owed, now or on Resend.
    pub fn send_no_email(&mut self) {
        self.options.link_only = true;
        self.delivery = None;
    }

    /// The state a reader sees at `now`: a Created invitation past its expiry is expired.
    pub fn read_state(&self, now: Timestamp) -> ReadState {
        match self.state {
            StoredState::Created if self.is_expired(now) => ReadState::InvitationExpired,
            StoredState::Created | StoredState::Deleted => ReadState::InvitationCreated,
            StoredState::Accepted => ReadState::InvitationAccepted,
            StoredState::Declined => ReadState::InvitationDeclined,
            StoredState::Completed => ReadState::InvitationCompleted,
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }

    /// Not finished: Created (live, or expired, which Resend revives) or Accepted. A community with an open
    /// invitation cannot be deleted.
    pub fn is_open(&self) -> bool {
        matches!(self.state, StoredState::Created | StoredState::Accepted)
    }

    pub fn is_deleted(&self) -> bool {
        self.state == StoredState::Deleted
    }

    /// Whether the live secret is `presented`.
    pub fn secret_matches(&self, presented: &Secret) -> bool {
        self.secret_hash.verifies(presented)
    }

    /// Decides `action` by `actor` at `now`. States are checked before permissions, so a wrong-state request is told
    /// the current state whoever sent it.
    ///
    /// Only Accept looks at the community (see [`Action::needs_community`]), so a caller may read it for Accept
    /// alone and pass `None` otherwise: Confirm, Decline and Resend then cost one read less.
    pub fn process<'c>(
        &self,
        community: impl Into<Option<&'c Community>>,
        action: Action,
        actor: Actor<'_>,
        contact_email: Option<Email>,
        now: Timestamp,
        policy: InvitationPolicy,
    ) -> Result<Transition, CommunityInvitationError> {
        let community = community.into();
        let state = self.read_state(now);
        let wrong_state = || CommunityInvitationError::WrongState { state, action: action.as_str() };
        let mut next = self.clone();
        next.version += 1;
        next.push_history(now, action.as_str(), actor.principal);
        let mut transition = Transition {
            invitation: next,
            expected_version: self.version,
            at: now,
            require_live: false,
            lock: LockEffect::None,
            membership: MembershipEffect::None,
            new_secret: None,
            notifies: false,
            counts: CountChange::default(),
        };
        let t = &mut transition;
        match (action, state) {
            (Action::Accept, ReadState::InvitationCreated) => {
                if !actor.is_recipient {
                    return Err(CommunityInvitationError::NotPermitted(
                        "Only the invitation's recipient can accept it.",
                    ));
                }
                // Accepting joins a tenant, so it needs a signed-in administrator of it; the link alone is not enough.
                let principal =
                    actor.principal.filter(|p| p.is_tenant_admin()).ok_or(CommunityInvitationError::NotPermitted(
                        "Only a TenantAdministrator of the invited tenant can accept an invitation.",
                    ))?;
                self.check_acceptor(principal)?;
                let contact = contact_email.ok_or(CommunityInvitationError::ContactEmailRequired)?;
                let community = community.ok_or(CommunityInvitationError::CommunityGone)?;
                let tenant = principal.tenant.clone();
                t.invitation.state = StoredState::Accepted;
                t.invitation.accepted = Some(now);
                t.invitation.invited_tenant = Some(tenant.clone());
                t.invitation.accepted_user_email = principal.email.clone();
                t.invitation.accepted_tenant_name = principal.tenant_name.clone();
                t.invitation.contact_email = Some(contact.clone());
                t.require_live = true;
                t.lock = LockEffect::Release;
                t.membership = MembershipEffect::Join(Box::new(
                    Membership::new(community, tenant, MemberStatus::AwaitingConfirmation, Some(contact), now)
                        .with_tenant_name(principal.tenant_name.clone()),
                ));
                t.notifies = true;
                let to = recipients([self.inviter_email.clone(), community.contact_email.clone()]);
                t.invitation.owe(MailKind::Accepted, to);
            }
            (Action::Decline, ReadState::InvitationCreated) => {
                if !actor.is_recipient {
                    return Err(CommunityInvitationError::NotPermitted(
                        "Only the invitation's recipient can decline it before it is accepted.",
                    ));
                }
                t.invitation.state = StoredState::Declined;
                t.invitation.withdraw_invitation_email();
                t.require_live = true;
                t.lock = LockEffect::Release;
            }
            (Action::Decline, ReadState::InvitationAccepted) => {
                let tenant = self.invited_tenant.clone().ok_or_else(wrong_state)?;
                if !actor.is_community_admin {
                    return Err(CommunityInvitationError::NotPermitted(
                        "Only the community's administrators can decline an accepted invitation.",
                    ));
                }
                t.invitation.state = StoredState::Declined;
                t.membership = MembershipEffect::Remove { tenant };
            }
            (Action::Confirm, ReadState::InvitationAccepted) => {
                let tenant = self.invited_tenant.clone().ok_or_else(wrong_state)?;
                if !actor.is_community_admin {
                    return Err(CommunityInvitationError::NotPermitted(
                        "Only the community's administrators can confirm an accepted invitation.",
                    ));
                }
                t.invitation.state = StoredState::Completed;
                t.membership = MembershipEffect::Activate { tenant };
                t.notifies = true;
                let to = recipients([self.accepted_user_email.clone(), self.contact_email.clone()]);
                t.invitation.owe(MailKind::Confirmed, to);
            }
            (Action::Resend, ReadState::InvitationCreated | ReadState::InvitationExpired) => {
                if !actor.is_community_admin {
                    return Err(CommunityInvitationError::NotPermitted(
                        "Only the community's administrators can resend an invitation.",
                    ));
                }
                let ready_at = self.last_sent.plus_minutes(policy.resend_cooldown_minutes);
                if now < ready_at {
                    return Err(CommunityInvitationError::ResendTooSoon {
                        cooldown_minutes: policy.resend_cooldown_minutes,
                        retry_after_seconds: (ready_at.millis() - now.millis() + 999) / 1000,
                    });
                }
                let secret = Secret::generate();
                t.invitation.secret_hash = secret.hash();
                t.invitation.expires = now.plus_days(valid_days(self.valid_days, policy.validity_days));
                t.invitation.last_sent = now;
                t.lock = LockEffect::Take;
                t.new_secret = Some(secret);
                // A link-only invitation's Resend renews only its link, which the answer carries.
                if !self.options.link_only {
                    t.notifies = true;
                    t.invitation.owe(MailKind::Invitation, vec![self.recipient.clone()]);
                }
            }
            _ => return Err(wrong_state()),
        }
        Ok(transition.count(self))
    }

    /// Whether `principal`'s verified address may accept (see [`AcceptFrom`]). Holding the link is not enough: it
    /// can be forwarded or stolen, and a stranger's token can name its tenant anything. The refusal never names
    /// the recipient, since the caller may be that stranger.
    fn check_acceptor(&self, principal: &Principal) -> Result<(), CommunityInvitationError> {
        let Some(email) = principal.email.as_ref() else {
            return Err(CommunityInvitationError::NotPermitted(
                "Accepting needs your verified email address: the token carries none, or does not say it is \
                 verified (email_verified). An invitation is accepted by its recipient.",
            ));
        };
        if self.accept_from.admits(email, &self.recipient) {
            return Ok(());
        }
        Err(CommunityInvitationError::NotPermitted(match self.accept_from {
            AcceptFrom::Recipient => {
                "This invitation was sent to another address: only its recipient, signed in with that verified \
                 address, can accept it."
            }
            AcceptFrom::RecipientDomain => {
                "This invitation was sent to another domain: only an administrator whose verified address is in the \
                 recipient's domain can accept it."
            }
        }))
    }

    /// Withdraws the invitation (community admin): its link stops working and reads treat it as missing.
    /// A completed invitation cannot be withdrawn; the tenant is a member and is removed as such instead.
    pub fn delete(&self, by: &Principal, now: Timestamp) -> Result<Transition, CommunityInvitationError> {
        let state = self.read_state(now);
        let (lock, membership) = match state {
            ReadState::InvitationCreated => (LockEffect::Release, MembershipEffect::None),
            // An expired invitation may no longer hold the lock (a newer invitation can have taken it).
            ReadState::InvitationExpired | ReadState::InvitationDeclined => (LockEffect::None, MembershipEffect::None),
            ReadState::InvitationAccepted => match &self.invited_tenant {
                Some(tenant) => (LockEffect::None, MembershipEffect::Remove { tenant: tenant.clone() }),
                None => (LockEffect::None, MembershipEffect::None),
            },
            ReadState::InvitationCompleted => {
                return Err(CommunityInvitationError::WrongState { state, action: "Delete" });
            }
        };
        let mut next = self.clone();
        next.version += 1;
        next.state = StoredState::Deleted;
        next.withdraw_invitation_email();
        next.push_history(now, "Delete", Some(by));
        Ok(Transition {
            invitation: next,
            expected_version: self.version,
            at: now,
            require_live: state == ReadState::InvitationCreated,
            lock,
            membership,
            new_secret: None,
            notifies: false,
            counts: CountChange::default(),
        }
        .count(self))
    }

    /// Records a new pending delivery of `kind` to `to` ([`Outbox::owe`]: an unsent notice it displaces is kept);
    /// with no one to write to, nothing is owed. It is owed since the change's own instant: every change writes
    /// its history line first.
    fn owe(&mut self, kind: MailKind, to: Vec<Email>) {
        if !to.is_empty() {
            let at = self.history.last().map_or(self.issued, |h| h.at);
            Outbox { latest: &mut self.delivery, earlier: &mut self.earlier_deliveries }.owe(kind, to, at);
        }
    }

    /// An invitation email that has not gone out yet is not sent once the invitation is answered or withdrawn: its
    /// link would only lead to the not-found page.
    fn withdraw_invitation_email(&mut self) {
        withdraw_invitation_email(&mut self.delivery);
    }

    /// Puts the landing link and the sealed secret on a pending invitation email, which the domain cannot make
    /// itself: the link's base comes from the request and sealing is I/O. Anything else is left as it is.
    pub fn attach_link(&mut self, link: String, sealed_secret: String) {
        attach_link(&mut self.delivery, link, sealed_secret);
    }

    fn push_history(&mut self, now: Timestamp, action: &str, by: Option<&Principal>) {
        push_history(&mut self.history, now, action, by);
    }
}

lifetime_of!(CommunityInvitation, waits while StoredState::Created);

#[cfg(test)]
mod tests;
