//! What the mail service learns of an email after it took it: that it was delivered, delayed, bounced or drew a
//! complaint (SES's Delivery, DeliveryDelay, Bounce / Reject and Complaint events). It is recorded on the sent
//! delivery as its [`Fate`], beside `sent`, so the outbox's claim rules never see it, and the API shows it in place
//! of `sent`.
//!
//! - **Only for the message sent.** A fate is recorded on delivery `seq` only if that delivery was sent with the
//!   message id the mail service names, so a notice about another message (a stale one, a forged one) changes
//!   nothing.
//! - **Never backwards.** Delayed < delivered < bounced < complained: a late "delayed" after "delivered" is
//!   dropped, a complaint after delivery is kept, and the same notice twice records once.

use serde::{Deserialize, Serialize};

use super::outbox::{Delivery, DeliveryState};
use super::{Email, InvitationId, TenantId, Timestamp};

/// The longest diagnostic kept from a bounce.
pub const MAX_DIAGNOSTIC: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "lowercase")]
pub enum Fate {
    /// Still being tried by the mail service (a full mailbox, a slow server).
    Delayed { at: Timestamp, reason: String },
    /// The recipient's mail server accepted it.
    Delivered { at: Timestamp },
    /// Refused: `permanent` for an address that does not exist or a message refused outright (a hard bounce, or
    /// SES's Reject), else transient.
    Bounced { at: Timestamp, permanent: bool, bounce_type: String, diagnostic: Option<String> },
    /// The recipient marked it as spam.
    Complained { at: Timestamp, feedback: Option<String> },
}

impl Fate {
    fn rank(&self) -> u8 {
        match self {
            Self::Delayed { .. } => 0,
            Self::Delivered { .. } => 1,
            Self::Bounced { .. } => 2,
            Self::Complained { .. } => 3,
        }
    }

    /// How the API and events name it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Delayed { .. } => "delayed",
            Self::Delivered { .. } => "delivered",
            Self::Bounced { .. } => "bounced",
            Self::Complained { .. } => "complained",
        }
    }

    /// Whether it stops further mail to the address for the tenant: a permanent bounce (the address takes no
    /// mail) or a complaint (the person does not want it). A transient bounce or a delay does not.
    pub fn suppresses(&self) -> bool {
        matches!(self, Self::Bounced { permanent: true, .. } | Self::Complained { .. })
    }

    pub fn at(&self) -> Timestamp {
        match self {
            Self::Delayed { at, .. }
            | Self::Delivered { at }
            | Self::Bounced { at, .. }
            | Self::Complained { at, .. } => *at,
        }
    }
}

/// An address a tenant's mail no longer goes to, since an email to it bounced for good or drew a complaint. Every
/// send on the tenant's behalf is refused for it (409) until an administrator lifts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub tenant: TenantId,
    pub address: Email,
    /// `bounced` or `complained` ([`Fate::as_str`]).
    pub reason: String,
    /// What the receiving server said of a bounce, as the mail service reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    pub at: Timestamp,
    /// The invitation whose email it was.
    pub invitation: InvitationId,
}

impl Suppression {
    /// The suppression `fate` of an email to `address` for `tenant` makes, if it suppresses ([`Fate::suppresses`]).
    pub fn of(fate: &Fate, tenant: &TenantId, address: &Email, invitation: InvitationId) -> Option<Self> {
        if !fate.suppresses() {
            return None;
        }
        let diagnostic = match fate {
            Fate::Bounced { diagnostic, .. } => diagnostic.clone(),
            _ => None,
        };
        let (tenant, address, reason) = (tenant.clone(), address.clone(), fate.as_str().to_owned());
        Some(Self { tenant, address, reason, diagnostic, at: fate.at(), invitation })
    }
}

impl Delivery {
    /// Records `fate` if this delivery was sent as `message_id` and `fate` is news (see the module docs).
    pub fn learn(&mut self, message_id: &str, fate: Fate) -> bool {
        let sent_as = self.state == DeliveryState::Sent && self.message_id.as_deref() == Some(message_id);
        if !sent_as || self.fate.as_ref().is_some_and(|known| known.rank() >= fate.rank()) {
            return false;
        }
        self.fate = Some(fate);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbox::MailKind;
    use crate::domain::{DeliveryOutcome, Email};

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn sent() -> Delivery {
        let mut d = Delivery::pending(None, MailKind::Invitation, vec![Email::parse("bob@guest.com").unwrap()], T0);
        d.claim(T0);
        d.finish(&DeliveryOutcome::Sent { message_id: "m-1".into() }, T0);
        d
    }

    fn bounced(permanent: bool) -> Fate {
        Fate::Bounced { at: T0, permanent, bounce_type: "Permanent".into(), diagnostic: Some("550 5.1.1".into()) }
    }

    #[test]
    fn a_fate_is_recorded_only_for_the_message_sent_and_never_backwards() {
        let mut d = sent();
        assert!(!d.learn("m-other", Fate::Delivered { at: T0 }), "another message's notice changes nothing");
        assert!(d.learn("m-1", Fate::Delayed { at: T0, reason: "MailboxFull".into() }));
        assert!(d.learn("m-1", Fate::Delivered { at: T0 }));
        assert!(!d.learn("m-1", Fate::Delayed { at: T0, reason: "late".into() }), "no step back");
        assert!(!d.learn("m-1", Fate::Delivered { at: T0 }), "the same notice twice records once");
        assert!(d.learn("m-1", Fate::Complained { at: T0, feedback: Some("abuse".into()) }));
        assert_eq!(d.fate.as_ref().map(Fate::as_str), Some("complained"));

        let mut pending = Delivery::pending(None, MailKind::Invitation, vec![], T0);
        assert!(!pending.learn("m-1", bounced(true)), "nothing was sent yet");
        let mut d = sent();
        assert!(d.learn("m-1", bounced(true)));
        assert_eq!(d.state, DeliveryState::Sent, "the outbox's state stays as it was");
    }
}
