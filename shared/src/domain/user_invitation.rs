//! The platform invitation: a signed-in user invites a person by email, with a message, into their tenant.
//!
//! ```text
//! Pending --accept (code holder, with their name)--> Accepted
//!    |----decline (code holder)--> Declined
//!    |----revoke (inviter or TenantAdministrator)--> Revoked
//! Pending (live or expired) --resend (inviter or TenantAdministrator)--> Pending, new code and expiry
//! ```
//! Expired is never stored: a Pending invitation past its expiry reads as expired.
//!
//! ## The invitation code
//!
//! The person invited is not signed in, and presents only the code from their email (`verifyInvitation`,
//! `signupUser/{InvitationCode}`, the landing page). The code is the invitation's id, a dot, and 32 random bytes
//! (base64url): the id locates the invitation with one strongly consistent read, no index of secrets needed, and
//! the random part is the secret. As for every invitation, only the code's SHA-256 hash is stored.

use serde::{Deserialize, Serialize};

use super::lifetime::{attach_link, lifetime_of, push_history, since_issued, valid_days, withdraw_invitation_email};
use super::outbox::{Delivery, Earlier, MailKind, Outbox};
use super::{
    Email, HistoryEntry, InvitationId, InvitationOptions, LockEffect, Principal, Secret, SecretHash, TenantId,
    Timestamp, UserId, UserSettings, bounded_text,
};

/// The most addresses one request may invite.
pub const MAX_RECIPIENTS: usize = 50;
/// The longest personal message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// The longest first or last name given at sign-up.
pub const MAX_NAME_CHARS: usize = 100;

/// The state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserInvitationState {
    Pending,
    Accepted,
    Declined,
    Revoked,
}

/// The state as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserReadState {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl UserReadState {
    pub const NAMES: &'static str = "Pending, Accepted, Declined, Revoked or Expired";

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Accepted => "Accepted",
            Self::Declined => "Declined",
            Self::Revoked => "Revoked",
            Self::Expired => "Expired",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Declined, Self::Revoked, Self::Expired]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
    }
}

/// A platform invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInvitation {
    pub id: InvitationId,
    /// The tenant the person is invited into: the inviter's.
    pub tenant: TenantId,
    pub tenant_name: Option<String>,
    pub inviter: UserId,
    pub inviter_email: Option<Email>,
    pub recipient: Email,
    pub message: Option<String>,
    pub state: UserInvitationState,
    pub issued: Timestamp,
    pub expires: Timestamp,
    pub accepted: Option<Timestamp>,
    /// The names the person gave when accepting.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The hash of the whole invitation code.
    pub code_hash: SecretHash,
    /// When the email was last (re)sent; Resend is paced from here.
    pub last_sent: Timestamp,
    /// Bumped by every change; each write is conditional on the version it read.
    pub version: u64,
    pub history: Vec<HistoryEntry>,
    pub delivery: Option<Delivery>,
    /// Earlier emails still owed when a newer one took `delivery`'s place (see [`Outbox::owe`]). A platform
    /// invitation owes only invitation emails, which a newer one replaces, so this stays empty today; it is kept
    /// so both kinds share one outbox. Absent from items stored before it existed.
    #[serde(default, skip_serializing_if = "Earlier::is_empty")]
    pub earlier_deliveries: Earlier,
    /// How many days its code lives, when the invite request chose it; a Resend gives the same (never past the
    /// tenant's `InvitedUserValidDays` in force then). Absent: the tenant's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<i64>,
    /// What the create request chose beyond the reference API's fields (stored flattened, each under its own name).
    #[serde(flatten)]
    pub options: InvitationOptions,
}

lifetime_of!(UserInvitation, waits while UserInvitationState::Pending);

/// A decided change and how the store must guard its write.
#[derive(Debug)]
pub struct UserTransition {
    pub invitation: UserInvitation,
    pub expected_version: u64,
    pub at: Timestamp,
    /// Whether the write also requires the stored invitation to be unexpired at `at`.
    pub require_live: bool,
    /// The (tenant, recipient) lock that keeps one pending invitation per address.
    pub lock: LockEffect,
    /// A fresh code, when the change issued one (Resend); the old one no longer verifies.
    pub new_code: Option<Secret>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserInvitationError {
    #[error("The invitation is {}; it cannot be {action} in that state.", state.as_str())]
    WrongState { state: UserReadState, action: &'static str },
    #[error("Only the person who sent the invitation or a TenantAdministrator of its tenant can do this.")]
    NotPermitted,
    #[error(
        "The invitation was sent less than {cooldown_minutes} minutes ago; it can be resent in {retry_after_seconds} seconds."
    )]
    ResendTooSoon { cooldown_minutes: i64, retry_after_seconds: i64 },
}

/// A fresh invitation code for invitation `id`: `<id>.<32 random bytes, base64url>`.
fn new_code(id: InvitationId) -> Secret {
    Secret::presented(&format!("{id}.{}", Secret::generate().expose()))
}

/// The invitation a presented code names, if it has the code's shape. Whether it is the code is for the hash to say.
pub fn code_invitation(code: &str) -> Option<InvitationId> {
    let (id, secret) = code.split_once('.')?;
    if secret.len() != 43 {
        return None;
    }
    InvitationId::parse("code", id).ok()
}

impl UserInvitation {
    /// A new invitation from `by` to `recipient`, valid for the tenant's `InvitedUserValidDays`, with the code to
    /// send (shown once, never stored) and the invitation email owed.
    pub fn create(
        by: &Principal,
        recipient: Email,
        message: Option<String>,
        now: Timestamp,
        settings: &UserSettings,
    ) -> (Self, Secret) {
        let id = InvitationId::new();
        let code = new_code(id);
        let invitation = Self {
            id,
            tenant: by.tenant.clone(),
            tenant_name: by.tenant_name.clone(),
            inviter: by.user.clone(),
            inviter_email: by.email.clone(),
            recipient: recipient.clone(),
            message,
            state: UserInvitationState::Pending,
            issued: now,
            expires: now.plus_days(settings.invited_user_valid_days),
            accepted: None,
            first_name: None,
            last_name: None,
            code_hash: code.hash(),
            last_sent: now,
            version: 1,
            history: vec![HistoryEntry::new(now, "Create", Some(by))],
            delivery: Some(Delivery::pending(None, MailKind::Invitation, vec![recipient], now)),
            earlier_deliveries: Earlier::new(),
            valid_days: None,
            options: InvitationOptions::default(),
        };
        (invitation, code)
    }

    /// Makes a new invitation link-only: its sender hands the link on, so no email is owed, now or on Resend.
    pub fn send_no_email(&mut self) {
        self.options.link_only = true;
        self.delivery = None;
    }

    pub fn read_state(&self, now: Timestamp) -> UserReadState {
        match self.state {
            UserInvitationState::Pending if now >= self.expires => UserReadState::Expired,
            UserInvitationState::Pending => UserReadState::Pending,
            UserInvitationState::Accepted => UserReadState::Accepted,
            UserInvitationState::Declined => UserReadState::Declined,
            UserInvitationState::Revoked => UserReadState::Revoked,
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires
    }

    /// Whether `code` is this invitation's live code.
    pub fn code_matches(&self, code: &Secret) -> bool {
        self.code_hash.verifies(code)
    }

    /// Whether `caller` may revoke, resend and see this invitation in full: its sender, or an administrator of
    /// its tenant.
    pub fn managed_by(&self, caller: &Principal) -> bool {
        caller.tenant == self.tenant && (caller.user == self.inviter || caller.is_tenant_admin())
    }

    /// The code holder accepts, giving their name. Single use: the invitation is then Accepted for good.
    pub fn accept(
        &self,
        first_name: String,
        last_name: String,
        now: Timestamp,
    ) -> Result<UserTransition, UserInvitationError> {
        let mut t = self.change(now, "Accept", None, "accepted", &[UserReadState::Pending])?;
        t.invitation.state = UserInvitationState::Accepted;
        t.invitation.accepted = Some(now);
        t.invitation.first_name = Some(first_name);
        t.invitation.last_name = Some(last_name);
        t.lock = LockEffect::Release;
        Ok(t)
    }

    /// The code holder checked the code before signing up: a change only the first time a code is checked (so a
    /// product learns it reached the person once, and repeated checks write nothing). `None` when this code was
    /// checked already; an error when the invitation no longer waits.
    pub fn verify(&self, now: Timestamp) -> Result<Option<UserTransition>, UserInvitationError> {
        if since_issued(&self.history).any(|e| e.action == "Verify") {
            return Ok(None);
        }
        self.change(now, "Verify", None, "verified", &[UserReadState::Pending]).map(Some)
    }

    /// The code holder declines.
    pub fn decline(&self, now: Timestamp) -> Result<UserTransition, UserInvitationError> {
        let mut t = self.change(now, "Decline", None, "declined", &[UserReadState::Pending])?;
        t.invitation.state = UserInvitationState::Declined;
        withdraw_invitation_email(&mut t.invitation.delivery);
        t.lock = LockEffect::Release;
        Ok(t)
    }

    /// The sender or an administrator withdraws it; its code stops working.
    pub fn revoke(&self, by: &Principal, now: Timestamp) -> Result<UserTransition, UserInvitationError> {
        self.require_manager(by)?;
        let live = !self.is_expired(now);
        let mut t =
            self.change(now, "Revoke", Some(by), "revoked", &[UserReadState::Pending, UserReadState::Expired])?;
        t.invitation.state = UserInvitationState::Revoked;
        withdraw_invitation_email(&mut t.invitation.delivery);
        // An expired invitation may no longer hold the lock: a newer invitation of the address can have taken it.
        t.lock = if live { LockEffect::Release } else { LockEffect::None };
        t.require_live = live;
        Ok(t)
    }

    /// Sends it again with a new code (the old link dies) and a new expiry, at most once per cooldown.
    pub fn resend(
        &self,
        by: &Principal,
        now: Timestamp,
        settings: &UserSettings,
    ) -> Result<UserTransition, UserInvitationError> {
        self.require_manager(by)?;
        let mut t =
            self.change(now, "Resend", Some(by), "resent", &[UserReadState::Pending, UserReadState::Expired])?;
        t.require_live = false;
        let ready_at = self.last_sent.plus_minutes(settings.resend_cooldown_minutes);
        if now < ready_at {
            let retry_after_seconds = ((ready_at.millis() - now.millis()) + 999) / 1000;
            return Err(UserInvitationError::ResendTooSoon {
                cooldown_minutes: settings.resend_cooldown_minutes,
                retry_after_seconds,
            });
        }
        let code = new_code(self.id);
        let inv = &mut t.invitation;
        inv.code_hash = code.hash();
        inv.expires = now.plus_days(valid_days(inv.valid_days, settings.invited_user_valid_days));
        inv.last_sent = now;
        // A link-only invitation's Resend renews only its link, which the answer carries.
        if !inv.options.link_only {
            let to = vec![inv.recipient.clone()];
            Outbox { latest: &mut inv.delivery, earlier: &mut inv.earlier_deliveries }.owe(
                MailKind::Invitation,
                to,
                now,
            );
        }
        t.lock = LockEffect::Take;
        t.new_code = Some(code);
        Ok(t)
    }

    /// Puts the landing link and the sealed code on the pending invitation email.
    pub fn attach_link(&mut self, link: String, sealed_code: String) {
        attach_link(&mut self.delivery, link, sealed_code);
    }

    fn require_manager(&self, by: &Principal) -> Result<(), UserInvitationError> {
        if self.managed_by(by) { Ok(()) } else { Err(UserInvitationError::NotPermitted) }
    }

    /// The next version with a history line, if the invitation is in one of `allowed` states.
    fn change(
        &self,
        now: Timestamp,
        action: &str,
        by: Option<&Principal>,
        verb: &'static str,
        allowed: &[UserReadState],
    ) -> Result<UserTransition, UserInvitationError> {
        let state = self.read_state(now);
        if !allowed.contains(&state) {
            return Err(UserInvitationError::WrongState { state, action: verb });
        }
        let mut next = self.clone();
        next.version += 1;
        push_history(&mut next.history, now, action, by);
        Ok(UserTransition {
            invitation: next,
            expected_version: self.version,
            at: now,
            require_live: true,
            lock: LockEffect::None,
            new_code: None,
        })
    }
}

/// What an invite_users request asks, once checked: the addresses to invite (each once) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRequest {
    pub recipients: Vec<Email>,
    pub message: Option<String>,
}

/// Why an invite_users request was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error("EmailAddresses must name at least one address.")]
    NoAddresses,
    #[error("EmailAddresses lists {0} addresses; at most {MAX_RECIPIENTS} can be invited at once.")]
    TooMany(usize),
    #[error("Message is longer than {MAX_MESSAGE_CHARS} characters.")]
    MessageTooLong,
    #[error("Message must not contain control characters.")]
    MessageControl,
    #[error("Nothing was invited: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    BadAddresses(Vec<BadAddress>),
}

/// One address refused, named as it was sent (cut to a readable length) with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address:?} {why}")]
pub struct BadAddress {
    pub address: String,
    pub why: String,
}

/// The longest piece of a refused address echoed back.
const MAX_ECHO: usize = 80;

impl InviteRequest {
    /// Checks a whole request against the tenant's settings: all or nothing. Every bad address is named, so one
    /// answer tells the caller everything to fix. Repeated addresses (compared as mail systems do) count once.
    pub fn parse(addresses: &[String], message: Option<&str>, settings: &UserSettings) -> Result<Self, InviteError> {
        if addresses.is_empty() {
            return Err(InviteError::NoAddresses);
        }
        if addresses.len() > MAX_RECIPIENTS {
            return Err(InviteError::TooMany(addresses.len()));
        }
        let message = match message.map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => Some(bounded_text("Message", m, MAX_MESSAGE_CHARS).map_err(|e| match e {
                super::TextError::TooLong(..) => InviteError::MessageTooLong,
                _ => InviteError::MessageControl,
            })?),
        };
        let mut recipients: Vec<Email> = Vec::new();
        let mut bad = Vec::new();
        for raw in addresses {
            let echo = || raw.trim().chars().take(MAX_ECHO).map(|c| if c.is_control() { '?' } else { c }).collect();
            match Email::parse(raw) {
                Err(e) => {
                    bad.push(BadAddress { address: echo(), why: format!("is not a valid email address: it {e}") })
                }
                Ok(email) if !settings.allows(&email) => bad.push(BadAddress {
                    address: echo(),
                    why: "is in a domain the tenant's AllowedEmailDomains does not allow".into(),
                }),
                Ok(email) => {
                    if !recipients.iter().any(|r| r.matches(&email)) {
                        recipients.push(email);
                    }
                }
            }
        }
        if !bad.is_empty() {
            return Err(InviteError::BadAddresses(bad));
        }
        Ok(Self { recipients, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, SettingsChange};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn user(name: &str, roles: &[Role]) -> Principal {
        Principal {
            user: UserId::parse("sub", name).unwrap(),
            tenant: TenantId::parse("tenant_id", "acme").unwrap(),
            email: Some(Email::parse(&format!("{name}@acme.com")).unwrap()),
            tenant_name: Some("Acme".into()),
            roles: roles.to_vec(),
        }
    }

    fn settings() -> UserSettings {
        let change = SettingsChange { invite_unregistered_users: Some(true), ..SettingsChange::default() };
        UserSettings::default().with(&change).unwrap()
    }

    fn invitation() -> (UserInvitation, Secret) {
        let by = user("mia", &[Role::TenantMember]);
        UserInvitation::create(&by, Email::parse("jane@x.com").unwrap(), Some("Join us".into()), T0, &settings())
    }

    #[test]
    fn the_code_names_its_invitation_and_only_its_hash_is_kept() {
        let (inv, code) = invitation();
        assert_eq!(code_invitation(code.expose()), Some(inv.id));
        assert!(inv.code_matches(&Secret::presented(code.expose())));
        let (other, other_code) = invitation();
        assert!(!inv.code_matches(&other_code) && other.id != inv.id);
        for bad in ["", "abc", &inv.id.to_string(), &format!("{}.short", inv.id), &format!("nope.{}", "a".repeat(43))] {
            assert_eq!(code_invitation(bad), None, "{bad:?}");
        }
        assert_eq!(inv.expires, T0.plus_days(7));
        assert_eq!(inv.read_state(T0.plus_days(7)), UserReadState::Expired);
    }

    #[test]
    fn accepting_is_single_use_and_only_while_live() {
        let (inv, _) = invitation();
        let accepted = inv.accept("Jane".into(), "Mead".into(), T0).unwrap();
        assert_eq!((accepted.lock, accepted.require_live), (LockEffect::Release, true));
        let accepted = accepted.invitation;
        assert_eq!(accepted.read_state(T0.plus_days(30)), UserReadState::Accepted);
        let again = accepted.accept("Jane".into(), "Mead".into(), T0).unwrap_err();
        assert_eq!(again, UserInvitationError::WrongState { state: UserReadState::Accepted, action: "accepted" });
        assert!(matches!(
            inv.accept("J".into(), "M".into(), T0.plus_days(8)),
            Err(UserInvitationError::WrongState { .. })
        ));
        assert!(accepted.decline(T0).is_err());
    }

    #[test]
    fn only_the_sender_or_an_administrator_revokes_or_resends() {
        let (inv, old) = invitation();
        let other_member = user("tom", &[Role::TenantMember]);
        assert_eq!(inv.revoke(&other_member, T0).unwrap_err(), UserInvitationError::NotPermitted);
        let admin = user("ada", &[Role::TenantAdministrator]);
        let revoked = inv.revoke(&admin, T0).unwrap();
        assert_eq!(revoked.lock, LockEffect::Release);
        assert_eq!(revoked.invitation.read_state(T0), UserReadState::Revoked);
        assert!(revoked.invitation.accept("J".into(), "M".into(), T0).is_err());

        let sender = user("mia", &[Role::TenantMember]);
        let s = settings();
        assert!(matches!(inv.resend(&sender, T0.plus_minutes(9), &s), Err(UserInvitationError::ResendTooSoon { .. })));
        let later = T0.plus_days(9);
        let resent = inv.resend(&sender, later, &s).unwrap();
        let code = resent.new_code.expect("a new code");
        assert_eq!(resent.lock, LockEffect::Take);
        assert!(resent.invitation.code_matches(&code) && !resent.invitation.code_matches(&old));
        assert_eq!(resent.invitation.read_state(later), UserReadState::Pending);
        assert_eq!(resent.invitation.delivery.unwrap().seq, 2);
        let expired_revoke = inv.revoke(&sender, later).unwrap();
        assert_eq!((expired_revoke.lock, expired_revoke.require_live), (LockEffect::None, false));
    }

    #[test]
    fn a_request_is_all_or_nothing_and_names_each_bad_address() {
        let mut s = settings();
        s.allowed_email_domains = vec!["acme.com".into()];
        let ok =
            InviteRequest::parse(&["a@acme.com".into(), "A@ACME.com".into(), "b@acme.com".into()], Some(" Hi "), &s)
                .unwrap();
        assert_eq!(ok.recipients.len(), 2, "repeats count once");
        assert_eq!(ok.message.as_deref(), Some("Hi"));
        let err =
            InviteRequest::parse(&["a@acme.com".into(), "bad".into(), "c@evil.com".into()], None, &s).unwrap_err();
        let InviteError::BadAddresses(bad) = &err else { panic!("{err:?}") };
        assert_eq!(bad.iter().map(|b| b.address.as_str()).collect::<Vec<_>>(), ["bad", "c@evil.com"]);
        assert!(err.to_string().contains("AllowedEmailDomains"));
        let many: Vec<String> = (0..51).map(|i| format!("u{i}@acme.com")).collect();
        assert_eq!(InviteRequest::parse(&many, None, &s).unwrap_err(), InviteError::TooMany(51));
        assert!(InviteRequest::parse(&many[..50], None, &s).is_ok());
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(InviteRequest::parse(&many[..1], Some(&long), &s).unwrap_err(), InviteError::MessageTooLong);
        assert_eq!(InviteRequest::parse(&[], None, &s).unwrap_err(), InviteError::NoAddresses);
    }
}
